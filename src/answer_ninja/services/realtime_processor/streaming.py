"""Streaming recognition of one utterance: commit what is settled, so each pass decodes only the tail.

Whisper re-transcribes the growing utterance while the caller speaks. Re-reading the whole utterance on every pass
costs more the longer the caller talks (a 15 s pitch makes every pass, and the one at the end of the turn, read
17 s of audio). Instead the utterance is split into a committed head (text settled, audio never read again) and a
tail that each pass reads, with the committed text given to Whisper as the previous text. Two things commit:

- **a pause**: a pass that started after the caller stopped heard its stretch of audio whole; when the caller then
  goes on, that stretch and its text are settled.
- **agreement** (LocalAgreement-2, the policy of whisper_streaming): in timestamp mode Whisper closes segments
  with their end time; the leading segments that two consecutive passes over the same tail wrote identically, and
  that end well before the audio the pass heard, are settled. This keeps the tail short in a pitch without pauses.

Positions are byte offsets into the utterance's PCM16 16 kHz audio. No I/O here: the session runs the passes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from answer_ninja.speech.base import TimedSegment

_BYTES_PER_SECOND = 32000
_FRAME_BYTES = 640
# A segment is settled only if it ends this long before the end of the audio its pass heard: Whisper's last words
# are the ones the next pass most often rewrites.
STABLE_MARGIN_SECONDS = 1.0
# Passes over a tail longer than this ask Whisper for timestamps, so agreement can cut it.
TIMESTAMPS_AFTER_SECONDS = 3.0


def joiner(language: str) -> str:
    """Mandarin text joins without spaces, English with one."""
    return "" if language.startswith("zh") else " "


@dataclass
class StreamingTranscript:
    language: str
    committed: list[str] = field(default_factory=list)
    tail_start: int = 0  # bytes into the utterance where the undecided tail begins
    # The closed segments of the last timestamped pass over the current tail (for agreement with the next one).
    _previous: tuple[TimedSegment, ...] = ()

    @property
    def committed_text(self) -> str:
        return joiner(self.language).join(self.committed)

    def full_text(self, tail_text: str) -> str:
        return joiner(self.language).join(part for part in (*self.committed, tail_text.strip()) if part)

    def wants_timestamps(self, utterance_bytes: int) -> bool:
        return (utterance_bytes - self.tail_start) / _BYTES_PER_SECOND > TIMESTAMPS_AFTER_SECONDS

    def commit_through(self, position: int, text: str) -> None:
        """The audio up to ``position`` was heard whole (the pass ended in a pause): settle it and its text."""
        if position <= self.tail_start:
            return
        if text.strip():
            self.committed.append(text.strip())
        self.tail_start = position
        self._previous = ()

    def agree(self, tail_start: int, segments: tuple[TimedSegment, ...], heard_seconds: float) -> int:
        """LocalAgreement-2 on a timestamped pass over the tail at ``tail_start``; returns the bytes committed."""
        if tail_start != self.tail_start:
            return 0  # the tail moved since this pass started: nothing to compare it with
        previous, self._previous = self._previous, segments
        agreed: list[TimedSegment] = []
        for before, now in zip(previous, segments, strict=False):
            if before.text != now.text or now.end_seconds > heard_seconds - STABLE_MARGIN_SECONDS:
                break
            agreed.append(now)
        if not agreed:
            return 0
        end = int(agreed[-1].end_seconds * _BYTES_PER_SECOND) // _FRAME_BYTES * _FRAME_BYTES
        if end <= 0:
            return 0
        self.committed.extend(segment.text for segment in agreed if segment.text)
        self.tail_start += end
        # The segments left over were measured from the old start; the next pass reads a new tail.
        self._previous = ()
        return end
