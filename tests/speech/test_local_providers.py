"""The real offline engines: Piper and espeak-ng speak, faster-whisper (packaged base model) hears them.

Whisper passes take about a second on these 2 cores, so this file keeps to two of them.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from answer_ninja.speech.base import synthesize_all
from answer_ninja.speech.chinese_script import to_simplified
from answer_ninja.speech.local_tts import EspeakTextToSpeech, PiperTextToSpeech, to_pinyin
from answer_ninja.speech.models import prepare_whisper_base
from answer_ninja.speech.whisper_stt import (
    WhisperSpeechToText,
    cut_repeated_opening,
    fitted_window_seconds,
    max_tokens_for,
)
from answer_ninja.telephony.codec import duration_ms


@pytest.fixture(scope="module")
def whisper(tmp_path_factory: pytest.TempPathFactory) -> WhisperSpeechToText:
    return WhisperSpeechToText(prepare_whisper_base(tmp_path_factory.mktemp("models")))


@pytest.fixture(scope="module")
def espeak() -> EspeakTextToSpeech:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (scripts/system-packages.txt)")
    return EspeakTextToSpeech()


def test_pinyin_for_espeak() -> None:
    assert to_pinyin("您好，贷款。") == "nin2 hao3 , dai4 kuan3 ."


def test_token_budget_grows_with_audio() -> None:
    assert max_tokens_for(0.5) == 24
    assert max_tokens_for(5) > max_tokens_for(2)
    assert max_tokens_for(60) == 220


def test_fitted_window_is_the_utterance_plus_padding_in_whole_seconds() -> None:
    assert fitted_window_seconds(0.3) == 3
    assert fitted_window_seconds(3.0) == 5
    assert fitted_window_seconds(3.01) == 6
    assert fitted_window_seconds(45.0) == 30  # Whisper's own window is the most the encoder takes


def test_a_transcript_that_starts_over_is_cut_where_it_does() -> None:
    opening = [11, 12, 13, 14]
    assert cut_repeated_opening([*opening, 15, 16, *opening, 15]) == [*opening, 15, 16]
    assert cut_repeated_opening([*opening, 15, *opening[:3]]) == [*opening, 15, *opening[:3]]  # 3 tokens: kept
    assert cut_repeated_opening([11, 12, 11, 12, 13]) == [11, 12, 11, 12, 13]  # no 4-token opening again
    assert cut_repeated_opening([7, 7, 7]) == [7, 7, 7]  # shorter than the opening: nothing to compare


@pytest.mark.slow
async def test_fitted_window_hears_what_the_full_window_hears(whisper: WhisperSpeechToText) -> None:
    # A short question: the case where the fitted window looped before the repeat guards (measured).
    audio = await synthesize_all(PiperTextToSpeech(), "Who is your current insurance provider?", "en-US")
    heard = {}
    for window in ("fit", "full"):
        whisper.window = window
        heard[window] = (await whisper.transcribe(audio, "en-US")).lower()
    whisper.window = "fit"
    for text in heard.values():
        assert "insurance provider" in text
        assert text.count("insurance") == 1, text


@pytest.mark.slow
async def test_piper_speech_is_understood_by_whisper(whisper: WhisperSpeechToText) -> None:
    audio = await synthesize_all(PiperTextToSpeech(), "Please stop calling me, I am not interested.", "en-US")
    assert 1500 < duration_ms(audio) < 6000
    text = (await whisper.transcribe(audio, "en-US")).lower()
    assert "calling" in text
    assert "interested" in text


@pytest.mark.slow
async def test_espeak_mandarin_is_understood_by_whisper(
    whisper: WhisperSpeechToText, espeak: EspeakTextToSpeech
) -> None:
    audio = await synthesize_all(espeak, "您好，我想问一下贷款的事情。", "zh-CN")
    assert duration_ms(audio) > 1000
    text = await whisper.transcribe(audio, "zh-CN")
    assert any("\u4e00" <= char <= "\u9fff" for char in text)  # Chinese characters, not pinyin digits
    assert to_simplified(text) == text  # simplified script, whatever Whisper chose to write


async def test_piper_has_no_mandarin_voice() -> None:
    with pytest.raises(Exception, match="zh-CN"):
        await synthesize_all(PiperTextToSpeech(), "你好", "zh-CN")


def test_missing_model_dir_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(Exception):  # noqa: B017, PT011 - CTranslate2 raises its own RuntimeError
        WhisperSpeechToText(tmp_path / "nothing-here")
