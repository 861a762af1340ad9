"""Revisions as `kubectl rollout history`/`undo` see them, persisted across supervisor restarts."""

from __future__ import annotations

from pathlib import Path

import pytest

from answer_ninja.supervisor.deployments import DeploymentBook


def test_new_revisions_rollback_to_previous_or_given_and_persist(tmp_path: Path) -> None:
    book = DeploymentBook(tmp_path / "deployments.json", ["phone-gateway"])
    deployment = book.get("phone-gateway")
    assert deployment.current == 1
    deployment.add_revision(env={"A": "1"}, argv=None, change_cause="second")
    deployment.add_revision(env={}, argv=["sleep", "1"], change_cause="third")
    assert deployment.current == 3
    assert deployment.rollback().number == 2
    assert deployment.rollback(to=3).number == 3
    book.routes["phone-gateway"] = "phone-gateway-backup"
    deployment.replicas = 2
    book.save()

    again = DeploymentBook(tmp_path / "deployments.json", ["phone-gateway", "profile-analytics"])
    restored = again.get("phone-gateway")
    assert restored.current == 3
    assert restored.current_revision.argv == ["sleep", "1"]
    assert restored.replicas == 2
    assert again.route("phone-gateway") == "phone-gateway-backup"
    assert again.get("profile-analytics").current == 1


def test_rollback_without_an_older_revision_or_to_a_missing_one_is_refused(tmp_path: Path) -> None:
    deployment = DeploymentBook(tmp_path / "d.json", ["x"]).get("x")
    with pytest.raises(KeyError, match="no previous revision"):
        deployment.rollback()
    with pytest.raises(KeyError, match="no revision 7"):
        deployment.rollback(to=7)
