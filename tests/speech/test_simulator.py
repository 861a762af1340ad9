"""The caller scripts shipped with the package, and the simulator's audio preparation."""

from __future__ import annotations

import numpy as np
import pytest

from answer_ninja.speech.simulator import ScriptError, load_script, script_names, synthesize_script, trim_silence
from answer_ninja.speech.standins import FixedDelayTextToSpeech

KINDS = ("loan", "sales", "investment", "insurance", "telecom", "scam", "persistent", "interrupter", "legitimate")
REQUIRED = {f"{kind}-{language}" for kind in KINDS for language in ("zh", "en")}


def test_every_required_script_ships_and_loads() -> None:
    assert set(script_names()) >= REQUIRED
    for name in script_names():
        script = load_script(name)
        assert script.name == name
        assert script.language == ("zh-CN" if name.endswith("-zh") else "en-US")
        assert len(script.lines) >= 3
        assert all(line.text.strip() for line in script.lines)


def test_special_callers_behave_as_named() -> None:
    assert load_script("persistent-zh").persistent
    interrupter = load_script("interrupter-en")
    assert any(line.barge_in_after is not None for line in interrupter.lines)
    assert not load_script("loan-zh").persistent


def test_unknown_script_names_the_choices() -> None:
    with pytest.raises(ScriptError, match="loan-zh"):
        load_script("nope")


def test_trim_silence_keeps_only_the_voiced_part() -> None:
    voiced = (np.ones(1600) * 5000).astype("<i2").tobytes()
    assert trim_silence(bytes(3200) + voiced + bytes(3200)) == voiced
    assert trim_silence(bytes(100)) == bytes(100)


async def test_script_audio_is_mulaw_8k() -> None:
    script = load_script("loan-en")
    audio = await synthesize_script(script, FixedDelayTextToSpeech())
    assert set(audio) == {line.text for line in script.lines}
    for line in script.lines:
        expected_seconds = max(0.2, len(line.text) * 0.06)
        assert len(audio[line.text]) == pytest.approx(expected_seconds * 8000, rel=0.05)
