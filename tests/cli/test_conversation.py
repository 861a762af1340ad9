"""``answer-ninja converse``: writes the transcripts, classifies one utterance."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from answer_ninja.cli import _register, app

_register()
runner = CliRunner()


def test_demo_writes_the_transcripts(tmp_path: Path) -> None:
    output = tmp_path / "transcripts.md"
    result = runner.invoke(app, ["converse", "demo", "--output", str(output)])
    assert result.exit_code == 0, result.output
    text = output.read_text(encoding="utf-8")
    assert text.count("\n## ") == 6
    assert "call ended: **persistence**" in text


def test_classify_prints_intent_and_evidence() -> None:
    result = runner.invoke(app, ["converse", "classify", "您好，您的车险快到期了，现在续保有优惠"])
    assert result.exit_code == 0, result.output
    assert "insurance" in result.output
    assert "续保" in result.output
