"""Provider chains: a failing provider degrades, the next one answers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from answer_ninja.speech.base import (
    FallbackSpeechToText,
    FallbackTextToSpeech,
    SpeechProviderError,
    synthesize_all,
)
from answer_ninja.speech.standins import FixedDelayTextToSpeech, ToneSpeechToText, tone


class BrokenSpeechToText:
    name = "broken-stt"

    async def transcribe(self, pcm: bytes, language: str) -> str:
        raise SpeechProviderError("model file missing")


class BrokenTextToSpeech:
    name = "broken-tts"

    async def synthesize(self, text: str, language: str) -> AsyncIterator[bytes]:
        raise SpeechProviderError("quota exceeded")
        yield b""  # pragma: no cover - makes this an async generator


async def test_stt_falls_back_and_reports() -> None:
    failures: list[str] = []
    chain = FallbackSpeechToText(
        [BrokenSpeechToText(), ToneSpeechToText(["hello there"])], lambda name, _: failures.append(name)
    )
    assert await chain.transcribe(tone("hello there", 0.5), "en-US") == "hello there"
    assert failures == ["broken-stt"]
    assert chain.name == "broken-stt+tone-stt"


async def test_stt_all_failing_raises() -> None:
    with pytest.raises(SpeechProviderError, match="every speech-to-text provider failed"):
        await FallbackSpeechToText([BrokenSpeechToText()]).transcribe(b"", "en-US")


async def test_tts_falls_back_and_reports() -> None:
    failures: list[str] = []
    chain = FallbackTextToSpeech([BrokenTextToSpeech(), FixedDelayTextToSpeech()], lambda n, _: failures.append(n))
    audio = await synthesize_all(chain, "hello", "en-US")
    assert len(audio) > 0
    assert failures == ["broken-tts"]


async def test_tts_all_failing_raises() -> None:
    with pytest.raises(SpeechProviderError):
        await synthesize_all(FallbackTextToSpeech([BrokenTextToSpeech()]), "hello", "en-US")


def test_empty_chains_are_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        FallbackSpeechToText([])
