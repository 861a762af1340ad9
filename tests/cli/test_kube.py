"""``answer-ninja kube app-config``: prints or writes the ConfigMap the manifests use."""

from __future__ import annotations

from pathlib import Path

import yaml
from typer.testing import CliRunner

from answer_ninja.cli import _register, app
from answer_ninja.ops.platforms.kubernetes_config import app_config_data

_register()
runner = CliRunner()
REPO = Path(__file__).resolve().parents[2]


def test_app_config_prints_the_configmap() -> None:
    result = runner.invoke(app, ["kube", "app-config"])
    assert result.exit_code == 0, result.output
    document = yaml.safe_load(result.output)
    assert document["metadata"]["name"] == "app-config"
    assert document["data"] == app_config_data()


def test_app_config_write_matches_the_committed_keys(tmp_path: Path) -> None:
    target = tmp_path / "app-config.yaml"
    result = runner.invoke(app, ["kube", "app-config", "--write", str(target)])
    assert result.exit_code == 0, result.output
    assert "wrote" in result.output
    written = yaml.safe_load(target.read_text())["data"]
    committed = yaml.safe_load((REPO / "deploy" / "k8s" / "base" / "app-config.yaml").read_text())["data"]
    assert set(written) <= set(committed), "refresh deploy/k8s/base/app-config.yaml with this command"
