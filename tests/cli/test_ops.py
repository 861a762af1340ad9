"""`answer-ninja ops` against a real stack: the runbook's commands for a person, dry-run changes nothing."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.harness.stack import LocalStack

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    services = ["phone-gateway", "conversation-engine"]
    with LocalStack(tmp_path_factory.mktemp("ops-cli"), services=services) as running:
        yield running


def _ops(stack: LocalStack, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "answer_ninja", "ops", *args],
        env={**stack.env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_and_diagnose_on_a_healthy_stack(stack: LocalStack) -> None:
    checked = _ops(stack, "check")
    assert checked.returncode == 0, checked.stderr
    assert "phone-gateway" in checked.stdout
    assert "Running" in checked.stdout
    diagnosed = _ops(stack, "diagnose")
    assert "every service is healthy" in diagnosed.stdout


def test_dry_run_prints_the_plan_and_changes_nothing(stack: LocalStack) -> None:
    before = stack.service_status("phone-gateway")
    for args in (("restart", "phone-gateway"), ("degrade", "on")):
        result = _ops(stack, *args, "--dry-run")
        assert result.returncode == 0, result.stdout + result.stderr
        assert "dry_run" in result.stdout
    after = stack.service_status("phone-gateway")
    assert after["pid"] == before["pid"]
    assert after["restarts"] == before["restarts"]
    assert stack.get(stack.supervisor_url + "/config")[1] == {}


def test_restart_by_hand_waits_until_ready_and_is_audited(stack: LocalStack) -> None:
    before = stack.service_status("conversation-engine")["pid"]
    result = _ops(stack, "restart", "conversation-engine")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "succeeded" in result.stdout
    assert stack.service_status("conversation-engine")["pid"] != before
    assert stack.get(stack.url("conversation-engine") + "/ready")[0] == 200


def test_verify_runs_the_runbook_script(stack: LocalStack) -> None:
    result = _ops(stack, "verify")
    assert "phone-gateway /health /ready: ok" in result.stdout
    assert "end-to-end synthetic call" in result.stdout
    assert result.returncode == 0, result.stdout


def test_unknown_service_and_state_are_usage_errors(stack: LocalStack) -> None:
    assert _ops(stack, "restart", "nope").returncode == 2
    assert _ops(stack, "degrade", "maybe").returncode == 2
    assert _ops(stack, "incident", "INC-missing").returncode == 1
