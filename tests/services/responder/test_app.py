"""The responder service's HTTP API: Alertmanager webhook, incidents, postmortems, approvals."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from answer_ninja.ops.models import IncidentStatus
from answer_ninja.ops.store import IncidentStore
from answer_ninja.platform.settings import load_settings
from answer_ninja.services.responder.app import create_app
from tests.harness.credentials import SECRETS, alertmanager_headers, operator_headers
from tests.harness.servers import free_port
from tests.ops.factories import incident
from tests.ops.test_alerts import PAYLOAD


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    # No supervisor on that port: the responder keeps answering its API while its probes fail.
    settings = load_settings(
        data_dir=tmp_path, supervisor_port=free_port(), responder_probe_interval_seconds=0.1, **SECRETS
    )
    with TestClient(create_app(settings), headers=operator_headers()) as test_client:
        yield test_client


def test_platform_endpoints(client: TestClient) -> None:
    assert client.get("/health").json()["service"] == "responder"
    assert client.get("/ready").status_code == 200
    assert "ai_ninja_responder_actions_total" in client.get("/metrics").text


def test_alertmanager_webhook_accepts_v4_and_names_bad_fields(client: TestClient) -> None:
    accepted = client.post("/alerts", json=PAYLOAD, headers=alertmanager_headers())
    assert accepted.status_code == 202
    assert accepted.json() == {"accepted": 2, "services": ["phone-gateway", "user-management"]}
    refused = client.post("/alerts", json={**PAYLOAD, "alerts": []}, headers=alertmanager_headers())
    assert refused.status_code == 422
    assert refused.json()["fields"][0]["field"] == "alerts"


def test_alerts_take_only_alertmanagers_token(client: TestClient) -> None:
    assert client.post("/alerts", json=PAYLOAD, headers={"Authorization": ""}).status_code == 401
    wrong = client.post("/alerts", json=PAYLOAD, headers=alertmanager_headers("forged"))
    assert wrong.status_code == 401
    # The operator's token is not Alertmanager's: one credential per door.
    assert client.post("/alerts", json=PAYLOAD, headers=operator_headers()).status_code == 401


def test_alerts_refused_and_reported_when_the_token_is_not_configured(tmp_path: Path) -> None:
    secrets = {**SECRETS, "alertmanager_token": None}
    settings = load_settings(data_dir=tmp_path, supervisor_port=free_port(), **secrets)
    with TestClient(create_app(settings)) as unconfigured:
        refused = unconfigured.post("/alerts", json=PAYLOAD, headers=alertmanager_headers())
        assert refused.status_code == 401
        assert "not configured" in refused.json()["detail"]
        ready = unconfigured.get("/ready").json()
        assert ready["ready"] is True  # the responder still probes by itself
        assert "alertmanager-token" in ready["warnings"]
        assert "not configured" in ready["checks"]["alertmanager-token"]["error"]
        assert any("ALERTMANAGER_TOKEN" in r for r in unconfigured.get("/health").json()["degraded_reasons"])


def test_incidents_and_postmortem(client: TestClient, tmp_path: Path) -> None:
    stored = incident("phone-gateway")
    stored.status = IncidentStatus.RESOLVED
    IncidentStore(tmp_path / "responder").save(stored)
    assert [i["id"] for i in client.get("/incidents").json()] == ["INC-test"]
    assert client.get("/incidents/INC-test").json()["services"] == ["phone-gateway"]
    assert "5 Why" in client.get("/incidents/INC-test/postmortem").text
    assert client.get("/incidents/nope").status_code == 404
    notice = client.get("/incidents/INC-test/customer-notice").text
    assert notice.startswith("尊敬的客户")
    assert "AI Answer Ninja技术团队" in notice


def test_approvals_are_decided_once_and_audited(client: TestClient, tmp_path: Path) -> None:
    approval = IncidentStore(tmp_path / "responder").request_approval(
        incident_id=None, action="failover", target="phone-gateway"
    )
    assert client.get("/approvals", params={"status": "pending"}).json()[0]["id"] == approval
    decided = client.post(f"/approvals/{approval}", json={"approved": True, "by": "alice"})
    assert decided.status_code == 200
    # The approver is who the token says, never the name in the body.
    assert decided.json()["by"] == "operator-token"
    assert client.post(f"/approvals/{approval}", json={"approved": True}).status_code == 404
    assert client.post(f"/approvals/{approval}", json={"by": "x"}).json()["fields"][0]["field"] == "approved"
    audit = client.get("/audit").json()[0]
    assert audit["actor"] == "operator-token"
    assert "alice" in audit["reason"]  # kept as what the caller said, not as who decided
    assert client.get("/approvals").json()[0]["decided_by"] == "operator-token"


def test_operator_routes_refuse_anyone_else(client: TestClient) -> None:
    for path in ("/incidents", "/audit", "/approvals"):
        assert client.get(path, headers={"Authorization": ""}).status_code == 401, path
        assert client.get(path, headers={"Authorization": "Bearer wrong"}).status_code == 401, path
    refused = client.post("/approvals/x", json={"approved": True, "by": "mallory"}, headers={"Authorization": ""})
    assert refused.status_code == 401
