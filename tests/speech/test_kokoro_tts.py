"""The AI's Mandarin voice, Kokoro-82M from its PyPI packages: it speaks, Whisper understands it, it is cached."""

from __future__ import annotations

from pathlib import Path

import pytest

from answer_ninja.speech.kokoro_tts import KokoroTextToSpeech, lines_to_prepare
from answer_ninja.speech.models import prepare_whisper_base
from answer_ninja.speech.scoring import error_rate
from answer_ninja.speech.whisper_stt import WhisperSpeechToText
from answer_ninja.telephony.codec import mulaw_decode, pcm16k_to_mulaw8k, resample

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_kokoro_speaks_mandarin_whisper_can_read_and_keeps_it_on_disk(tmp_path: Path) -> None:
    voice = KokoroTextToSpeech(cache_dir=tmp_path / "kokoro")
    text = "不好意思，我不需要，谢谢。"
    assert voice.cached(text) is None
    pcm = voice.render_sync(text)
    assert 0.8 < len(pcm) / 32000 < 6
    assert voice.cached(text) == pcm  # the next start finds it
    whisper = WhisperSpeechToText(prepare_whisper_base(tmp_path / "models"))
    heard = whisper.transcribe_sync(resample(mulaw_decode(pcm16k_to_mulaw8k(pcm)), 8000, 16000), "zh-CN")
    assert error_rate(text, heard, "zh-CN") < 0.4, heard


def test_the_lines_prepared_in_the_natural_voice_are_the_ais_own_and_the_templates() -> None:
    lines = lines_to_prepare()
    assert "喂，您好，请问哪位？" in lines
    assert len(lines) > 40
    assert all(any("\u4e00" <= char <= "\u9fff" for char in line) for line in lines)
