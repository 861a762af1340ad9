"""The app-config renderer: every cluster setting, secrets never, in-cluster values where they differ."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from answer_ninja.ops.platforms.kubernetes_config import (
    SECRET_KEYS,
    app_config_data,
    is_cluster_setting,
    write_app_config,
)
from answer_ninja.platform.settings import Settings


def test_every_cluster_setting_with_a_value_is_rendered() -> None:
    data = app_config_data()
    for name, field in Settings.model_fields.items():
        if is_cluster_setting(name) and field.default is not None:
            assert name.upper() in data, name
    assert not SECRET_KEYS & set(data)
    assert not {key for key in data if key.startswith("SUPERVISOR_")}
    assert "KUBECONFIG" not in data


def test_in_cluster_values_and_text_forms() -> None:
    data = app_config_data()
    assert data["HOST"] == "0.0.0.0"
    assert data["CONVERSATION_ENGINE_URL"] == "http://conversation-engine:3003"
    assert data["RESPONDER_PLATFORM"] == "kubernetes"
    assert data["DEGRADED_MODE"] == "false"  # booleans as the environment spells them
    assert all(isinstance(value, str) for value in data.values())


def test_written_file_is_a_configmap_that_loads_as_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "app-config.yaml"
    count = write_app_config(path)
    document = yaml.safe_load(path.read_text())
    assert document["kind"] == "ConfigMap"
    assert document["metadata"]["name"] == "app-config"
    assert len(document["data"]) == count
    for key, value in document["data"].items():
        monkeypatch.setenv(key, value)
    assert Settings().responder_platform == "kubernetes"
