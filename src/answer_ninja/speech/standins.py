"""Fixed-delay stand-ins for the speech providers: the benchmark's capacity run, and fast deterministic tests.

They do real work of the right shape (they return text and audio) after a fixed delay, so what remains in a
measurement is the system's own overhead.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
from collections.abc import AsyncIterator

import numpy as np

from answer_ninja.telephony.codec import PCM_RATE

# A stand-in must cost next to nothing: the pitch is read from 0.5 s of audio (2 Hz resolution).
_HEAR_SAMPLES = 8192


class ToneSpeechToText:
    """Hears the tones of :func:`tone`: the dominant pitch of the audio names the registered text it was made from.

    The pitch survives mu-law and resampling, so the stand-in works over the real carrier protocols.
    """

    name = "tone-stt"

    def __init__(self, texts: list[str] | None = None, *, delay_seconds: float = 0.0) -> None:
        self.delay_seconds = delay_seconds
        self._by_pitch: dict[int, str] = {}
        self.calls = 0
        for text in texts or []:
            self.register(text)

    def register(self, text: str) -> None:
        self._by_pitch[pitch_of(text)] = text

    async def transcribe(self, pcm: bytes, language: str) -> str:
        self.calls += 1
        if self.delay_seconds:
            await asyncio.sleep(self.delay_seconds)
        return self.hear(pcm)

    def hear(self, pcm: bytes) -> str:
        samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32)
        if samples.size > _HEAR_SAMPLES:  # the middle half second: cheap, and inside the tone
            start = (samples.size - _HEAR_SAMPLES) // 2
            samples = samples[start : start + _HEAR_SAMPLES]
        if samples.size < PCM_RATE // 10 or not self._by_pitch:
            return ""
        spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size)))
        peak_hz = float(np.argmax(spectrum)) * PCM_RATE / samples.size
        nearest = min(self._by_pitch, key=lambda pitch: abs(pitch - peak_hz))
        return self._by_pitch[nearest] if abs(nearest - peak_hz) <= 3.0 else ""


def pitch_of(text: str) -> int:
    return 200 + int(hashlib.sha256(text.encode()).hexdigest()[:4], 16) % 400


def tone(text: str, seconds: float, *, amplitude: int = 8000) -> bytes:
    """A tone whose pitch depends on ``text``: recognisable audio of a given length without a TTS engine."""
    pitch = pitch_of(text)
    t = np.arange(int(seconds * PCM_RATE)) / PCM_RATE
    # A 4 Hz "syllable" envelope: webrtcvad learns a steady tone as background noise within 100 ms.
    envelope = 0.55 + 0.45 * np.sin(2 * math.pi * 4 * t)
    return (amplitude * envelope * np.sin(2 * math.pi * pitch * t)).astype("<i2").tobytes()


class FixedDelayTextToSpeech:
    """Audio of a length proportional to the text, after a fixed delay."""

    name = "fixed-delay-tts"

    def __init__(self, delay_seconds: float = 0.0, seconds_per_char: float = 0.06) -> None:
        self.delay_seconds = delay_seconds
        self.seconds_per_char = seconds_per_char
        self.calls = 0

    async def synthesize(self, text: str, language: str) -> AsyncIterator[bytes]:
        self.calls += 1
        if self.delay_seconds:
            await asyncio.sleep(self.delay_seconds)
        yield tone(text, max(0.2, len(text) * self.seconds_per_char))
