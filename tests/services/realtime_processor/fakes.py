"""Test doubles for the carrier side of a call: a recording audio output, a frame clock, a scripted caller."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import numpy as np

from answer_ninja.services.realtime_processor.audio_cache import PreparedAudio
from answer_ninja.services.realtime_processor.replies import CallContext, KeywordReplyStandIn
from answer_ninja.services.realtime_processor.session import CallSession, SessionConfig
from answer_ninja.speech.base import TailTranscript
from answer_ninja.speech.standins import FixedDelayTextToSpeech, ToneSpeechToText, tone
from answer_ninja.speech.vad import EnergyVad
from answer_ninja.telephony.codec import PCM_FRAME_BYTES, frames

SILENCE = bytes(PCM_FRAME_BYTES)


@dataclass
class RecordingOutput:
    """Plays Twilio's part: keeps what the loop sends, echoes marks when told the audio has played."""

    supports_marks: bool = True
    audio: list[bytes] = field(default_factory=list)
    marks: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    clears: int = 0
    hung_up: bool = False

    async def send_audio(self, pcm16k: bytes) -> None:
        self.audio.append(pcm16k)
        self.events.append("audio")

    async def send_mark(self, name: str) -> None:
        self.marks.append(name)
        self.events.append(f"mark:{name}")

    async def clear(self) -> None:
        self.clears += 1
        self.events.append("clear")

    async def hangup(self) -> None:
        self.hung_up = True
        self.events.append("hangup")


class FrameClock:
    """Wall clock of the test = audio time fed so far (a virtual clock: no real waiting)."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def __call__(self) -> float:
        return self.seconds


class Caller:
    """Feeds a session 20 ms frames: tones standing for lines, and silence; lets background tasks run."""

    def __init__(self, session: CallSession, clock: FrameClock, output: RecordingOutput) -> None:
        self.session = session
        self.clock = clock
        self.output = output

    async def frame(self, pcm: bytes) -> None:
        self.clock.seconds += 0.02
        await self.session.on_audio(pcm)
        for _ in range(3):
            await asyncio.sleep(0)

    async def say(self, text: str, seconds: float = 1.0) -> None:
        for pcm in frames(tone(text, seconds), PCM_FRAME_BYTES):
            await self.frame(pcm)

    async def silence(self, seconds: float) -> None:
        for _ in range(round(seconds / 0.02)):
            await self.frame(SILENCE)

    def play_out(self) -> None:
        """The carrier has played everything sent so far: echo its marks."""
        for name in list(self.output.marks):
            self.session.on_mark(name)
        self.output.marks.clear()


def make_session(
    lines: list[str],
    *,
    language: str = "en-US",
    max_turns: int = 3,
    stt_delay: float = 0.0,
    config: SessionConfig | None = None,
    supports_marks: bool = True,
) -> tuple[CallSession, Caller, KeywordReplyStandIn, RecordingOutput]:
    output = RecordingOutput(supports_marks=supports_marks)
    clock = FrameClock()
    tts = FixedDelayTextToSpeech()
    replies = KeywordReplyStandIn(max_turns=max_turns)
    session = CallSession(
        CallContext("call-1", language),
        output=output,
        vad=EnergyVad(),
        stt=ToneSpeechToText(lines, delay_seconds=stt_delay),
        tts=tts,
        replies=replies,
        prepared=PreparedAudio(tts),
        config=config or SessionConfig(),
        clock=clock,
    )
    return session, Caller(session, clock, output), replies, output


class ClauseSpeechToText:
    """A streaming recogniser stand-in: each voiced run of the audio is a clause tone (see :func:`tone`), heard as the
    clause registered for its pitch, the way Whisper would write it (punctuation included). Records what it read."""

    name = "clause-stt"
    supports_tail = True

    def __init__(self, clauses: list[str], *, joiner: str = "") -> None:
        self._tones = ToneSpeechToText(clauses)
        self.joiner = joiner
        self.reads: list[int] = []  # bytes of audio each pass read
        self.prompts: list[str] = []

    def hear(self, pcm: bytes) -> str:
        samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32)
        frame = PCM_FRAME_BYTES // 2
        starts = range(0, samples.size - frame + 1, frame)
        loud = [float(np.sqrt(np.mean(samples[i : i + frame] ** 2))) >= 500 for i in starts]
        runs: list[tuple[int, int]] = []
        start = None
        for index, voiced in enumerate([*loud, False]):
            if voiced and start is None:
                start = index
            elif not voiced and start is not None:
                if index - start >= 5:  # 100 ms or more: a clause, not a click
                    runs.append((start, index))
                start = None
        heard = [self._tones.hear(samples[a * frame : b * frame].astype("<i2").tobytes()) for a, b in runs]
        return self.joiner.join(text for text in heard if text)

    async def transcribe(self, pcm: bytes, language: str) -> str:
        self.reads.append(len(pcm))
        return self.hear(pcm)

    async def transcribe_tail(
        self, pcm: bytes, language: str, *, prompt: str = "", timestamps: bool = False
    ) -> TailTranscript:
        self.reads.append(len(pcm))
        self.prompts.append(prompt)
        return TailTranscript(self.hear(pcm))
