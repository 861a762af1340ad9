"""Local text-to-speech: Piper with the bundled en-US voice, espeak-ng for Mandarin (and as a fallback)."""

from __future__ import annotations

import asyncio
import io
import shutil
import wave
from collections.abc import AsyncIterator, Sequence
from typing import Any, Protocol

import numpy as np

from answer_ninja.speech.base import SpeechProviderError
from answer_ninja.speech.models import piper_voice_files
from answer_ninja.telephony.codec import PCM_RATE, resample

_ESPEAK_VOICE = {"zh-CN": "cmn", "en-US": "en-us"}


class PiperTextToSpeech:
    """Neural en-US voice; yields one chunk per sentence (Piper synthesises sentence by sentence)."""

    name = "piper"
    languages = ("en-US",)

    def __init__(self) -> None:
        try:
            from piper import PiperVoice
        except ImportError as error:
            raise SpeechProviderError(f"piper-tts is not installed: {error}") from None
        model, config = piper_voice_files()
        self._voice: Any = PiperVoice.load(str(model), config_path=str(config))
        self._rate: int = int(self._voice.config.sample_rate)

    async def synthesize(self, text: str, language: str) -> AsyncIterator[bytes]:
        if language not in self.languages:
            raise SpeechProviderError(f"piper has no {language} voice")
        queue: asyncio.Queue[bytes | BaseException | None] = asyncio.Queue()
        loop = asyncio.get_running_loop()

        def produce() -> None:
            try:
                for chunk in self._voice.synthesize(text):
                    pcm = resample(chunk.audio_int16_array.astype("<i2").tobytes(), self._rate, PCM_RATE)
                    loop.call_soon_threadsafe(queue.put_nowait, pcm)
                loop.call_soon_threadsafe(queue.put_nowait, None)
            except Exception as error:  # handed to the consumer, which raises it in the loop
                loop.call_soon_threadsafe(queue.put_nowait, error)

        producer = loop.run_in_executor(None, produce)
        try:
            while (item := await queue.get()) is not None:
                if isinstance(item, BaseException):
                    raise SpeechProviderError(f"piper failed: {item}") from item
                yield item
        finally:
            await producer


class EspeakTextToSpeech:
    """espeak-ng (Debian package): robotic but instant, and the only offline Mandarin voice here.

    Debian's espeak-ng has only a small Mandarin dictionary: characters it lacks are read out as pinyin with English
    digits ("nin two"). So Mandarin goes in as pinyin with tone numbers (pypinyin's dictionary) and is read by the
    ``cmn-latn-pinyin`` voice, which Whisper then mostly understands.
    """

    name = "espeak-ng"
    languages = ("zh-CN", "en-US")

    def __init__(self, binary: str = "espeak-ng") -> None:
        found = shutil.which(binary)
        if found is None:
            raise SpeechProviderError("espeak-ng is not installed (scripts/system-packages.txt)")
        self._binary = found

    async def synthesize(self, text: str, language: str) -> AsyncIterator[bytes]:
        if language == "zh-CN":
            # Rate and pitch chosen by how much of it Whisper base recovers after a mu-law round trip (measured).
            voice, spoken, speed, pitch = "cmn-latn-pinyin", to_pinyin(text), "200", "70"
        elif language == "en-US":
            voice, spoken, speed, pitch = "en-us", text, "170", "50"
        else:
            raise SpeechProviderError(f"espeak-ng: no voice for {language}")
        process = await asyncio.create_subprocess_exec(
            self._binary, "-v", voice, "-s", speed, "-p", pitch, "--stdout", spoken,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        wav, errors = await process.communicate()
        if process.returncode != 0 or not wav:
            raise SpeechProviderError(f"espeak-ng failed: {errors.decode(errors='replace')[:200]}")
        yield _wav_to_pcm16k(wav)


# Full-width punctuation -> ASCII, so espeak-ng pauses at it instead of skipping it.
_PUNCTUATION = str.maketrans("，。！？；：、“”（）", ',.!?;:,""()')


def to_pinyin(text: str) -> str:
    """Mandarin text -> pinyin with tone numbers ("您好" -> "nin2 hao3"); other characters are kept."""
    from pypinyin import Style, lazy_pinyin

    syllables = lazy_pinyin(text.translate(_PUNCTUATION), style=Style.TONE3, neutral_tone_with_five=True)
    return " ".join(syllables)


def _wav_to_pcm16k(wav: bytes) -> bytes:
    with wave.open(io.BytesIO(wav)) as reader:
        rate = reader.getframerate()
        frames = reader.readframes(reader.getnframes())
    samples = np.frombuffer(frames, dtype="<i2")
    return resample(samples.tobytes(), rate, PCM_RATE)


class LocalVoice(Protocol):
    """An engine that speaks some languages."""

    @property
    def name(self) -> str: ...

    @property
    def languages(self) -> tuple[str, ...]: ...

    def synthesize(self, text: str, language: str) -> AsyncIterator[bytes]: ...


class LanguageRoutedTextToSpeech:
    """Picks the first engine that speaks the language (Piper for en-US, espeak-ng for zh-CN)."""

    def __init__(self, engines: Sequence[LocalVoice]) -> None:
        if not engines:
            raise SpeechProviderError("no local text-to-speech engine is available")
        self.engines = list(engines)
        self.name = "local(" + ",".join(engine.name for engine in engines) + ")"

    async def synthesize(self, text: str, language: str) -> AsyncIterator[bytes]:
        for engine in self.engines:
            if language in engine.languages:
                async for chunk in engine.synthesize(text, language):
                    yield chunk
                return
        raise SpeechProviderError(f"no local voice for {language}")
