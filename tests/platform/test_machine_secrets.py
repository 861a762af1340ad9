"""The per-machine secrets file: generated once, private to its owner, read by the commands."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from answer_ninja.platform.machine_secrets import (
    ALL_SECRETS,
    ensure_machine_secrets,
    machine_secret,
    read_machine_secrets,
)


def test_secrets_are_generated_once_in_a_private_file(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    first = ensure_machine_secrets(data_dir)
    assert set(first) == set(ALL_SECRETS)
    assert all(len(value) >= 32 for value in first.values())
    assert ensure_machine_secrets(data_dir) == first
    assert stat.S_IMODE((data_dir / "secrets.json").stat().st_mode) == 0o600
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700


def test_a_missing_secret_is_added_without_changing_the_others(tmp_path: Path) -> None:
    first = ensure_machine_secrets(tmp_path, ("JWT_SECRET",))
    both = ensure_machine_secrets(tmp_path, ("JWT_SECRET", "INTERNAL_SECRET"))
    assert both["JWT_SECRET"] == first["JWT_SECRET"]
    assert read_machine_secrets(tmp_path) == both


def test_the_environment_wins_for_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stored = ensure_machine_secrets(tmp_path)
    monkeypatch.delenv("OPERATOR_TOKEN", raising=False)
    assert machine_secret(tmp_path, "OPERATOR_TOKEN") == stored["OPERATOR_TOKEN"]
    monkeypatch.setenv("OPERATOR_TOKEN", "from-env")
    assert machine_secret(tmp_path, "OPERATOR_TOKEN") == "from-env"
    assert read_machine_secrets(tmp_path / "nowhere") == {}
