"""Turn detection from per-frame VAD decisions, counted in audio time (20 ms frames), so it is deterministic.

Carriers send frames continuously (silence included), so audio time is the call's clock: tests feed frames as
fast as they like and a 30 s conversation runs in milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

FRAME_MS = 20


class Event(Enum):
    SPEECH_STARTED = "speech_started"
    SPEECH_PAUSED = "speech_paused"  # first silence after speech: a good moment for a final transcription pass
    TURN_ENDED = "turn_ended"


@dataclass
class TurnDetector:
    end_of_turn_silence_ms: int = 300
    # Voiced frames in a row that start speech (one voiced frame is often a click or line noise).
    start_frames: int = 3
    pause_ms: int = 100

    in_speech: bool = False
    voiced_ms: int = 0  # voiced audio in the current utterance
    silence_ms: int = 0  # silence since the last voiced frame
    _run: int = 0

    def feed(self, voiced: bool) -> Event | None:
        if voiced:
            self._run += 1
            self.silence_ms = 0
            if self.in_speech:
                self.voiced_ms += FRAME_MS
                return None
            if self._run >= self.start_frames:
                self.in_speech = True
                self.voiced_ms = self._run * FRAME_MS
                return Event.SPEECH_STARTED
            return None
        self._run = 0
        if not self.in_speech:
            return None
        self.silence_ms += FRAME_MS
        if self.silence_ms >= self.end_of_turn_silence_ms:
            self.in_speech = False
            return Event.TURN_ENDED
        if self.silence_ms == self.pause_ms:
            return Event.SPEECH_PAUSED
        return None

    def end_turn(self) -> Event:
        """End the turn now (the end-of-turn policy heard enough from the transcript)."""
        self.in_speech = False
        return Event.TURN_ENDED

    def reset(self) -> None:
        self.in_speech = False
        self.voiced_ms = 0
        self.silence_ms = 0
        self._run = 0
