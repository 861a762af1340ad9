"""Attacks on the ops plane against a real `answer-ninja up` (real PostgreSQL and Redis): the supervisor's control
API, the responder's Alertmanager webhook and approvals. Each attack must be refused and change nothing."""

from __future__ import annotations

import http.client
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from answer_ninja.ops.store import IncidentStore
from tests.harness.credentials import (
    SUPERVISOR_TOKEN,
    alertmanager_headers,
    operator_headers,
    supervisor_headers,
)
from tests.harness.servers import PostgresServer, RedisServer
from tests.harness.stack import LocalStack
from tests.ops.test_alerts import PAYLOAD

pytestmark = pytest.mark.integration

SERVICES = ["user-management", "conversation-engine", "responder"]
TARGET = "conversation-engine"


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory, postgres_server: PostgresServer, redis_server: RedisServer
) -> Iterator[LocalStack]:
    database_url = postgres_server.create_database("ops_" + uuid.uuid4().hex[:12])
    client = redis.Redis.from_url(redis_server.url)
    for key in client.scan_iter("throttle:*"):
        client.delete(key)
    client.close()
    env = {"DATABASE_URL": database_url, "REDIS_URL": redis_server.url, "RESPONDER_SYNTHETIC_CALL": "false"}
    with LocalStack(tmp_path_factory.mktemp("ops-plane"), services=SERVICES, env=env) as running:
        yield running


def raw(stack: LocalStack, method: str, path: str, headers: dict[str, str], body: Any = None) -> tuple[int, Any]:
    """A request with exactly these headers (Host included), as a rebinding page or a local process sends it."""
    connection = http.client.HTTPConnection("127.0.0.1", stack.supervisor_port, timeout=10)
    payload = json.dumps(body).encode() if body is not None else None
    sent = {**headers, **({"Content-Type": "application/json"} if payload else {})}
    connection.putrequest(method, path, skip_host="Host" in headers)
    for name, value in sent.items():
        connection.putheader(name, value)
    if payload:
        connection.putheader("Content-Length", str(len(payload)))
    connection.endheaders(payload)
    response = connection.getresponse()
    data = response.read()
    connection.close()
    return response.status, json.loads(data or b"null")


def snapshot(stack: LocalStack) -> dict[str, Any]:
    status = stack.service_status(TARGET)
    _code, config = stack.get(stack.supervisor_url + "/config")
    _code, revisions = stack.get(stack.supervisor_url + f"/services/{TARGET}/revisions")
    return {
        "pid": status["pid"],
        "state": status["state"],
        "restarts": status["restarts"],
        "config": config,
        "revisions": len(revisions["revisions"]),
    }


ATTACKS: list[tuple[str, str, Any]] = [
    ("POST", f"/services/{TARGET}/stop", None),
    ("POST", f"/services/{TARGET}/restart", None),
    ("PATCH", "/config", {"data": {"JWT_SECRET": "attacker-chosen"}}),
    ("POST", f"/services/{TARGET}/revisions", {"env": {"LOG_LEVEL": "DEBUG"}, "change_cause": "attacker"}),
    ("POST", f"/services/{TARGET}/signal", {"signal": "SIGKILL"}),
    ("GET", f"/services/{TARGET}/logs", None),
    ("GET", "/config", None),
]


@pytest.mark.parametrize(
    ("who", "headers", "expected"),
    [
        ("no token", {"Host": "127.0.0.1"}, 401),
        ("wrong token", {"Host": "127.0.0.1", **supervisor_headers("guessed-token")}, 401),
        ("the operator's token", {"Host": "127.0.0.1", **operator_headers()}, 401),
        ("DNS rebinding", {"Host": "rebind.attacker.example", **supervisor_headers()}, 421),
        ("cross-site page", {"Host": "127.0.0.1", "Origin": "https://evil.example", **supervisor_headers()}, 403),
    ],
)
def test_control_api_refuses_and_nothing_changes(
    stack: LocalStack, who: str, headers: dict[str, str], expected: int
) -> None:
    before = snapshot(stack)
    for method, path, body in ATTACKS:
        status, answer = raw(stack, method, path, headers, body)
        assert status == expected, f"{who}: {method} {path} -> {status} {answer}"
        assert "lines" not in (answer or {})  # no log lines leak in a refusal
    assert snapshot(stack) == before  # still running, same process, config and revisions unchanged


def test_the_right_token_from_a_loopback_client_works(stack: LocalStack) -> None:
    status, services = raw(
        stack, "GET", "/services", {"Host": f"127.0.0.1:{stack.supervisor_port}", **supervisor_headers()}
    )
    assert status == 200
    assert {row["name"] for row in services} == set(SERVICES)
    status, health = raw(stack, "GET", "/health", {"Host": "localhost"})
    assert (status, health["auth"]) == (200, "configured")


def test_a_revision_cannot_run_a_command(stack: LocalStack, tmp_path: Path) -> None:
    marker = Path("/tmp") / f"pwned-{uuid.uuid4().hex}"
    before = snapshot(stack)
    attacks = [
        {"argv": ["/bin/sh", "-c", f"touch {marker}"], "change_cause": "pwn"},
        {"env": {"LD_PRELOAD": str(tmp_path / "evil.so")}, "change_cause": "pwn"},
        {"env": {"PYTHONPATH": str(tmp_path)}, "change_cause": "pwn"},
    ]
    for body in attacks:
        status, answer = stack.post(stack.supervisor_url + f"/services/{TARGET}/revisions", body)
        assert status == 422, answer
        assert answer["detail"].split(":")[0] in ("argv", "env")
    status, answer = stack.post(stack.supervisor_url + "/config", None)  # not a route: nothing to smuggle
    assert status == 405
    assert not marker.exists()
    assert snapshot(stack) == before


def test_only_the_responder_holds_the_supervisor_token(stack: LocalStack) -> None:
    def environment(name: str) -> dict[str, str]:
        pid = stack.service_status(name)["pid"]
        pairs = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        return dict(pair.decode(errors="replace").split("=", 1) for pair in pairs if b"=" in pair)

    assert environment("responder")["SUPERVISOR_TOKEN"] == SUPERVISOR_TOKEN
    for name in ("user-management", "conversation-engine"):
        env = environment(name)
        assert "SUPERVISOR_TOKEN" not in env, name
        assert "ALERTMANAGER_TOKEN" not in env, name


def _incident_ids(stack: LocalStack) -> list[str]:
    status, incidents = stack.get(stack.url("responder") + "/incidents")
    assert status == 200
    return [incident["id"] for incident in incidents]


def test_a_forged_alert_is_refused_and_opens_no_incident(stack: LocalStack) -> None:
    before = _incident_ids(stack)
    # Carries UnauthorizedAccess: a security alert, which would open an incident that stops automatic fixes.
    forged = PAYLOAD
    url = stack.url("responder") + "/alerts"
    for headers in ({}, alertmanager_headers("forged"), operator_headers()):
        status, answer = stack.post(url, forged, headers=headers)
        assert status == 401, answer
    time.sleep(2)  # several probe rounds: a forged alert that got in would have opened its incident by now
    assert _incident_ids(stack) == before
    # Alertmanager itself still gets through (a ServiceDown hint for a service that is not down: no incident).
    alerts: list[Any] = list(PAYLOAD["alerts"])  # type: ignore[call-overload]
    benign = {**PAYLOAD, "alerts": alerts[:1]}
    accepted, answer = stack.post(url, benign, headers=alertmanager_headers())
    assert (accepted, answer["accepted"]) == (202, 1)


def test_an_approval_records_who_the_token_says(stack: LocalStack) -> None:
    store = IncidentStore(stack.data_dir / "responder")
    approval = store.request_approval(incident_id=None, action="failover", target="phone-gateway")
    url = stack.url("responder") + f"/approvals/{approval}"
    status, _ = stack.post(url, {"approved": True, "by": "mallory"}, headers={})
    assert status == 401
    assert store.approvals(status="pending")[0]["id"] == approval
    status, answer = stack.post(url, {"approved": True, "by": "the-ceo"})
    assert status == 200, answer
    decided = next(row for row in store.approvals() if row["id"] == approval)
    assert decided["decided_by"] == "operator-token"
    assert decided["status"] == "approved"
