"""Every drill the issue names, against a real `answer-ninja up`: mode, actions, recovery or escalation, safety."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from answer_ninja.ops.drills import DrillResult
from tests.harness.monitoring import WebhookRecorder
from tests.harness.servers import PostgresServer, RedisServer
from tests.harness.stack import LocalStack
from tests.ops.drill_support import (
    ProviderStandIn,
    audit,
    drill,
    drill_stack,
    hook,
    pg_ctl_command,
)

pytestmark = pytest.mark.integration


def _untouched(stack: LocalStack, service: str) -> None:
    status = stack.service_status(service)
    assert status["restarts"] == 0, f"{service} was restarted: {status['events']}"


def _assert_fixed(result: DrillResult, service: str, cause: str, action: str) -> None:
    """A single-service drill: mode A, the right cause, one remedy that worked, verified recovery."""
    assert result.mode == "A"
    assert result.incident is not None
    assert result.incident["diagnosis"]["causes"] == {service: cause}
    assert result.actions == [action]
    assert result.passed


def test_kill_drill_from_the_cli_recovers_and_notifies(tmp_path: Path) -> None:
    with WebhookRecorder() as slack, drill_stack(tmp_path, {"SLACK_WEBHOOK_URL": slack.url}) as stack:
        stack.wait_ready()
        result = subprocess.run(
            [sys.executable, "-m", "answer_ninja", "drill", "kill", "--service", "phone-gateway", "--json"],
            env={**stack.env, "RESPONDER_URL": stack.url("responder")},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        summary = json.loads(result.stdout)
        assert summary["mode"] == "A"
        assert summary["actions"] == ["restart"]
        assert summary["status"] == "resolved"
        assert summary["mttd_seconds"] < 10
        assert summary["mttr_seconds"] < 30
        _untouched(stack, "conversation-engine")

        shown = subprocess.run(
            [sys.executable, "-m", "answer_ninja", "ops", "incident", summary["incident"]],
            env=stack.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout
        assert "5 Why" in shown
        assert "| detected |" in shown
        assert "restart phone-gateway" in shown
        texts = [body["text"] for _, body, _ in slack.received]
        assert any("服务: phone-gateway" in text and "[CRITICAL]" in text for text in texts)
        assert "✅ [RESOLVED]" in texts[-1]
        assert "- [X] 服务重启" in texts[-1]
        assert summary["incident"] in texts[-1]  # the incident link


def test_crash_loop_drill_restores_the_known_good_config(tmp_path: Path) -> None:
    with drill_stack(tmp_path) as stack:
        result = drill(stack, "crash-loop")
        _assert_fixed(result, "phone-gateway", "bad_config", "restore_config")
        assert result.incident is not None
        assert any("LOG_LEVEL" in line for line in result.incident["diagnosis"]["evidence"])
        _status, config = stack.get(stack.supervisor_url + "/config")
        assert "LOG_LEVEL" not in config
        _untouched(stack, "conversation-engine")


def test_hang_drill_restarts_the_stopped_process(tmp_path: Path) -> None:
    with drill_stack(tmp_path) as stack:
        result = drill(stack, "hang", services=["conversation-engine"])
        _assert_fixed(result, "conversation-engine", "hang", "restart")
        assert result.mttr_seconds is not None
        assert result.mttr_seconds < 30
        _untouched(stack, "phone-gateway")


def test_bad_release_drill_rolls_back(tmp_path: Path) -> None:
    with drill_stack(tmp_path) as stack:
        result = drill(stack, "bad-release")
        _assert_fixed(result, "phone-gateway", "bad_release", "rollback")
        _status, revisions = stack.get(stack.supervisor_url + "/services/phone-gateway/revisions")
        assert revisions["current"] == 1
        assert len(revisions["revisions"]) == 2


def test_oom_drill_raises_the_memory_limit(tmp_path: Path) -> None:
    with drill_stack(tmp_path) as stack:
        result = drill(stack, "oom", services=["conversation-engine"])
        _assert_fixed(result, "conversation-engine", "oom", "raise_limits")
        _status, deployment = stack.get(stack.supervisor_url + "/services/conversation-engine/revisions")
        assert deployment["memory_limit_mb"] == 1024
        _untouched(stack, "phone-gateway")


def test_two_services_down_is_mode_b_restarted_in_runbook_order(tmp_path: Path) -> None:
    with drill_stack(
        tmp_path, services=[*["phone-gateway", "conversation-engine", "user-management"], "responder"]
    ) as stack:
        result = drill(stack, "two-down")
        assert result.mode == "B"
        assert result.actions == ["restart_all"]
        assert result.passed
        restarts = [row for row in audit(stack) if row["action"] == "restart_all"]
        assert [row["target"] for row in reversed(restarts)] == ["phone-gateway", "conversation-engine"]
        _untouched(stack, "user-management")


def test_postgres_down_is_mode_c_degrades_escalates_then_resolves(
    tmp_path: Path, postgres_server: PostgresServer, postgres_url: str
) -> None:
    with drill_stack(tmp_path, {"DATABASE_URL": postgres_url}) as stack:
        try:
            result = drill(stack, "postgres-down", stop=hook(postgres_server.stop), start=hook(postgres_server.start))
        finally:
            # Other tests share this PostgreSQL: never leave it stopped.
            if subprocess.run(pg_ctl_command(postgres_server, "status"), shell=True, check=False).returncode != 0:
                postgres_server.start()
        assert result.mode == "C"
        assert result.incident is not None
        assert "postgres" in result.incident["diagnosis"]["dependencies_down"]
        assert result.incident["escalation_reason"].startswith("data-loss risk")
        # No restarts beyond the runbook's degrade (which restarts phone-gateway + realtime-processor) and its undo.
        assert set(result.actions) == {"degrade"}
        assert result.passed
        _untouched(stack, "conversation-engine")
        _status, config = stack.get(stack.supervisor_url + "/config")
        assert "DEGRADED_MODE" not in config  # left degraded mode once PostgreSQL was back


@pytest.fixture(params=["redis-down", "llm-down"])
def switchable_dependency(request: pytest.FixtureRequest) -> Iterator[tuple[str, str, dict[str, str], Any]]:
    """(fault, dependency name, stack env, the server) for a dependency this test alone may stop and start."""
    server: Any
    if request.param == "redis-down":
        # Its own Redis: stopping the session one would hurt other tests.
        server = RedisServer()
        server.start()
        yield request.param, "redis", {"REDIS_URL": server.url}, server
    else:
        server = ProviderStandIn()
        server.start()
        yield request.param, "llm", {"LLM_BASE_URL": server.base_url}, server
    server.stop()


def test_redis_or_llm_down_is_mode_c_and_restarts_no_healthy_service(
    tmp_path: Path, switchable_dependency: tuple[str, str, dict[str, str], Any]
) -> None:
    fault, name, env, server = switchable_dependency
    with drill_stack(tmp_path, env) as stack:
        result = drill(stack, fault, stop=hook(server.stop), start=hook(server.start))
        assert result.mode == "C"
        assert result.incident is not None
        assert result.incident["diagnosis"]["dependencies_down"] == [name]
        assert result.escalated
        assert result.passed
        _untouched(stack, "conversation-engine")


def test_rollback_waits_for_approval_then_runs(tmp_path: Path) -> None:
    env = {"RESPONDER_APPROVAL_REQUIRED": "rollback", "RESPONDER_READY_TIMEOUT_SECONDS": "5"}
    with drill_stack(tmp_path, env) as stack:
        result = drill(stack, "bad-release", services=["conversation-engine"])
        assert result.incident is not None
        assert result.incident["status"] == "escalated"
        assert result.actions[0] == "rollback"
        assert result.incident["actions"][0]["outcome"] == "skipped"
        _status, pending = stack.get(stack.url("responder") + "/approvals?status=pending")
        [approval] = pending
        assert (approval["action"], approval["target"]) == ("rollback", "conversation-engine")

        decided, _ = stack.post(
            stack.url("responder") + f"/approvals/{approval['id']}", {"approved": True, "by": "alice"}
        )
        assert decided == 200
        incident_url = stack.url("responder") + f"/incidents/{result.incident['id']}"
        for _ in range(150):
            incident = stack.get(incident_url)[1]
            if incident["status"] == "resolved":
                break
            time.sleep(0.2)
        assert incident["status"] == "resolved"
        assert [a["kind"] for a in incident["actions"]][-1] == "rollback"
        assert incident["actions"][-1]["outcome"] == "succeeded"
        # Recorded under the credential that decided (the operator's machine here), not the name in the body.
        assert any(row["actor"] == "operator-token" and row["action"] == "approval" for row in audit(stack))
