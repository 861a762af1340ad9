"""Providers chosen by settings: a missing one degrades the service and the next one answers."""

from __future__ import annotations

from pathlib import Path

import pytest

from answer_ninja.platform.health import HealthState
from answer_ninja.platform.settings import load_settings
from answer_ninja.services.realtime_processor.providers import build_providers
from answer_ninja.speech.base import synthesize_all


@pytest.fixture
def not_a_directory(tmp_path: Path) -> Path:
    blocker = tmp_path / "models"
    blocker.write_text("a file where the model directory should be")
    return blocker


@pytest.mark.slow
async def test_missing_whisper_model_degrades_and_calls_still_get_answers(not_a_directory: Path) -> None:
    health = HealthState()
    settings = load_settings(speech_model_dir=not_a_directory)
    providers = build_providers(settings, health)
    assert health.degraded
    assert any("whisper" in reason for reason in health.degraded_reasons.values())
    assert providers.stt.name == "none"  # hears nothing, so the loop prompts and says goodbye
    assert await providers.stt.transcribe(bytes(32000), "en-US") == ""
    assert len(await synthesize_all(providers.tts, "Hello", "en-US")) > 8000  # the voice still works
    assert providers.new_vad().name == "webrtcvad+gate"


@pytest.mark.slow
async def test_azure_chosen_without_key_falls_back_to_local(not_a_directory: Path) -> None:
    health = HealthState()
    settings = load_settings(stt_provider="azure", tts_provider="azure", speech_model_dir=not_a_directory)
    providers = build_providers(settings, health)
    assert "speech:azure" in health.degraded_reasons
    assert providers.tts.name.startswith("local(")


@pytest.mark.slow
async def test_azure_with_key_comes_first_then_local(not_a_directory: Path) -> None:
    settings = load_settings(
        tts_provider="azure",
        azure_speech_key="not-a-real-key",
        azure_speech_region="westeurope",
        speech_model_dir=not_a_directory,
    )
    providers = build_providers(settings, HealthState())
    assert providers.tts.name == "azure-tts+local(piper,espeak-ng)"


@pytest.mark.slow
async def test_prepared_mandarin_lines_use_the_natural_voice_and_health_can_say_so(not_a_directory: Path) -> None:
    providers = build_providers(load_settings(speech_model_dir=not_a_directory), HealthState())
    assert providers.prepared_tts is not None
    assert providers.prepared_tts.name == "local(piper,kokoro-82m(jf_gongitsune),espeak-ng)"
    assert providers.tts.name == "local(piper,espeak-ng)"  # live replies stay on the fast voices
    assert providers.voices == {
        "zh-CN": "kokoro-82m(jf_gongitsune) (prepared lines), espeak-ng (live)",
        "en-US": "piper",
    }
    plain = build_providers(load_settings(speech_model_dir=not_a_directory, tts_natural_voice=False), HealthState())
    assert plain.voices == {"zh-CN": "espeak-ng", "en-US": "piper"}


@pytest.mark.slow
async def test_azure_voice_is_named_for_both_languages(not_a_directory: Path) -> None:
    settings = load_settings(
        tts_provider="azure",
        azure_speech_key="not-a-real-key",
        azure_speech_region="westeurope",
        speech_model_dir=not_a_directory,
    )
    providers = build_providers(settings, HealthState())
    assert providers.voices["zh-CN"] == "azure-tts"
    assert providers.voices["en-US"] == "azure-tts"
