"""The three small interfaces the voice loop needs, and the fallback chains that keep a call going.

Audio is always PCM16 little-endian mono at 16 kHz, in bytes. Languages are BCP-47 (``zh-CN``, ``en-US``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from answer_ninja.platform.logging import get_logger

log = get_logger(__name__)

SUPPORTED_LANGUAGES = ("zh-CN", "en-US")


class SpeechProviderError(RuntimeError):
    """A provider could not do its job (missing model, SDK error): the chain tries the next one."""


@runtime_checkable
class VoiceActivityDetector(Protocol):
    name: str

    def is_speech(self, frame: bytes) -> bool:
        """One 20 ms frame (640 bytes) -> voiced or not."""
        ...


@runtime_checkable
class SpeechToText(Protocol):
    name: str

    async def transcribe(self, pcm: bytes, language: str) -> str:
        """The text of a whole (possibly still growing) utterance."""
        ...


@dataclass(frozen=True)
class TimedSegment:
    """A stretch of audio the recogniser closed with a timestamp: its text and where it ends (seconds in)."""

    text: str
    end_seconds: float


@dataclass(frozen=True)
class TailTranscript:
    """The text of the tail of an utterance, and (when asked for) the segments the recogniser closed in it."""

    text: str
    segments: tuple[TimedSegment, ...] = ()


class TailSpeechToText(Protocol):
    """A recogniser that continues a transcript: it reads only the tail's audio, told the text before it."""

    name: str
    supports_tail: bool

    async def transcribe(self, pcm: bytes, language: str) -> str: ...

    async def transcribe_tail(
        self, pcm: bytes, language: str, *, prompt: str = "", timestamps: bool = False
    ) -> TailTranscript: ...


@runtime_checkable
class TextToSpeech(Protocol):
    name: str

    def synthesize(self, text: str, language: str) -> AsyncIterator[bytes]:
        """PCM chunks, the first as early as the engine can give it (one per sentence for local engines)."""
        ...


FailureHook = Callable[[str, BaseException], None]


def _noop(_: str, __: BaseException) -> None:
    return None


class FallbackSpeechToText:
    """Tries each provider in order; a failing one is reported (degraded) and the next one answers."""

    def __init__(self, providers: Sequence[SpeechToText], on_failure: FailureHook = _noop) -> None:
        if not providers:
            raise ValueError("at least one speech-to-text provider is needed")
        self.providers = list(providers)
        self.on_failure = on_failure
        self.name = "+".join(provider.name for provider in self.providers)

    async def transcribe(self, pcm: bytes, language: str) -> str:
        last: BaseException | None = None
        for provider in self.providers:
            try:
                return await provider.transcribe(pcm, language)
            except Exception as error:  # any provider failure means: try the next one
                last = error
                log.warning("stt_provider_failed", provider=provider.name, error=str(error)[:200])
                self.on_failure(provider.name, error)
        raise SpeechProviderError(f"every speech-to-text provider failed: {last}")

    @property
    def supports_tail(self) -> bool:
        """Streaming passes need the first provider to continue a transcript (the local Whisper does)."""
        return bool(getattr(self.providers[0], "supports_tail", False))

    async def transcribe_tail(
        self, pcm: bytes, language: str, *, prompt: str = "", timestamps: bool = False
    ) -> TailTranscript:
        first = self.providers[0]
        if getattr(first, "supports_tail", False):
            tail_capable: TailSpeechToText = first  # type: ignore[assignment]  # checked just above
            try:
                return await tail_capable.transcribe_tail(pcm, language, prompt=prompt, timestamps=timestamps)
            except Exception as error:  # the next provider hears the tail as a whole utterance
                log.warning("stt_provider_failed", provider=first.name, error=str(error)[:200])
                self.on_failure(first.name, error)
        return TailTranscript(await self.transcribe(pcm, language))


class FallbackTextToSpeech:
    """Tries each provider in order until one yields audio (a failure after the first chunk is not retried)."""

    def __init__(self, providers: Sequence[TextToSpeech], on_failure: FailureHook = _noop) -> None:
        if not providers:
            raise ValueError("at least one text-to-speech provider is needed")
        self.providers = list(providers)
        self.on_failure = on_failure
        self.name = "+".join(provider.name for provider in self.providers)

    async def synthesize(self, text: str, language: str) -> AsyncIterator[bytes]:
        last: BaseException | None = None
        for provider in self.providers:
            produced = False
            try:
                async for chunk in provider.synthesize(text, language):
                    produced = True
                    yield chunk
                return
            except Exception as error:  # any provider failure means: try the next one
                if produced:
                    raise
                last = error
                log.warning("tts_provider_failed", provider=provider.name, error=str(error)[:200])
                self.on_failure(provider.name, error)
        raise SpeechProviderError(f"every text-to-speech provider failed: {last}")


async def synthesize_all(tts: TextToSpeech, text: str, language: str) -> bytes:
    return b"".join([chunk async for chunk in tts.synthesize(text, language)])
