"""The control API's locks, in process: token, Host, Origin, and what a revision or app-config may contain."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from answer_ninja.platform.settings import load_settings
from answer_ninja.supervisor.control_api import create_control_app
from answer_ninja.supervisor.control_auth import host_is_loopback, token_matches
from answer_ninja.supervisor.revision_rules import RevisionRefusedError, check_argv, check_config, check_revision
from answer_ninja.supervisor.supervisor import Supervisor, service_argv
from tests.harness.credentials import SUPERVISOR_TOKEN, supervisor_headers

BASE = "http://127.0.0.1:3000"


@pytest.fixture
def supervisor(tmp_path: Path) -> Supervisor:
    return Supervisor(load_settings(data_dir=tmp_path), services=["conversation-engine"])


@pytest.fixture
def client(supervisor: Supervisor) -> Iterator[TestClient]:
    with TestClient(create_control_app(supervisor, token=SUPERVISOR_TOKEN), base_url=BASE) as test_client:
        yield test_client


def test_every_route_but_health_needs_the_token(client: TestClient) -> None:
    assert client.get("/health").status_code == 200
    assert client.get("/health").json()["auth"] == "configured"
    for method, path in [
        ("GET", "/services"),
        ("GET", "/config"),
        ("GET", "/services/conversation-engine/logs"),
        ("POST", "/services/conversation-engine/stop"),
        ("GET", "/docs"),
        ("GET", "/openapi.json"),
        ("GET", "/no-such-route"),
    ]:
        anonymous = client.request(method, path)
        assert anonymous.status_code == 401, path
        assert "missing bearer token" in anonymous.json()["detail"]
        wrong = client.request(method, path, headers=supervisor_headers("wrong-token"))
        assert wrong.status_code == 401, path
        assert wrong.json()["detail"] == "invalid supervisor token"
    assert client.get("/services", headers=supervisor_headers()).status_code == 200


def test_foreign_host_and_any_origin_are_refused_even_with_the_token(client: TestClient) -> None:
    rebound = client.get("/config", headers={**supervisor_headers(), "Host": "attacker.example:3000"})
    assert rebound.status_code == 421
    assert "Host" in rebound.json()["detail"]
    cross_site = client.post(
        "/services/conversation-engine/stop", headers={**supervisor_headers(), "Origin": "https://evil.example"}
    )
    assert cross_site.status_code == 403
    assert "Origin" in cross_site.json()["detail"]
    same_looking = client.get("/config", headers={**supervisor_headers(), "Origin": "http://127.0.0.1:3000"})
    assert same_looking.status_code == 403  # no browser page has business here at all
    assert client.get("/config", headers={**supervisor_headers(), "Host": "localhost:3000"}).status_code == 200


def test_no_token_configured_locks_everything_and_says_so(supervisor: Supervisor) -> None:
    with TestClient(create_control_app(supervisor, token=None), base_url=BASE) as locked:
        assert "not configured" in locked.get("/health").json()["auth"]
        refused = locked.get("/services", headers=supervisor_headers())
        assert refused.status_code == 401
        assert "not configured" in refused.json()["detail"]


def test_revisions_run_only_the_services_own_entry_point(client: TestClient, supervisor: Supervisor) -> None:
    url = "/services/conversation-engine/revisions"
    for argv in (["/bin/sh", "-c", "touch /tmp/pwned"], [sys.executable, "-c", "print(1)"]):
        refused = client.post(url, json={"argv": argv, "change_cause": "x"}, headers=supervisor_headers())
        assert refused.status_code == 422
        assert refused.json()["detail"].startswith("argv:")
    for env in ({"LD_PRELOAD": "/tmp/x.so"}, {"PYTHONPATH": "/tmp"}, {"SUPERVISOR_TOKEN": "mine"}):
        refused = client.post(url, json={"env": env, "change_cause": "x"}, headers=supervisor_headers())
        assert refused.status_code == 422
        assert refused.json()["detail"].startswith("env:")
    assert len(supervisor.deployment("conversation-engine").revisions) == 1  # nothing recorded


def test_app_config_takes_settings_names_only(client: TestClient, supervisor: Supervisor) -> None:
    refused = client.patch("/config", json={"data": {"LD_PRELOAD": "/tmp/x.so"}}, headers=supervisor_headers())
    assert refused.status_code == 422
    assert "LD_PRELOAD" in refused.json()["detail"]
    assert supervisor.config == {}
    accepted = client.patch("/config", json={"data": {"LOG_LEVEL": "DEBUG"}}, headers=supervisor_headers())
    assert accepted.json() == {"LOG_LEVEL": "DEBUG"}


def test_revision_rules() -> None:
    check_argv("phone-gateway", None)
    check_argv("phone-gateway", service_argv("phone-gateway", 4000))
    check_revision("phone-gateway", env={"LOG_LEVEL": "DEBUG", "DEGRADED_MODE": "true"}, argv=None)
    check_config({"JWT_SECRET": "rotated", "LOG_LEVEL": None})
    refused = [
        service_argv("user-management", 4000),  # another service's entry point
        [*service_argv("phone-gateway", 4000), "--reload", "1"],
        [*service_argv("phone-gateway", 4000)[:-1], "not-a-port"],
        [*service_argv("phone-gateway", 4000), "--port"],
        ["python3", "-m", "answer_ninja.platform.server", "phone-gateway"],  # another interpreter
    ]
    for argv in refused:
        with pytest.raises(RevisionRefusedError, match="argv"):
            check_argv("phone-gateway", argv)
    with pytest.raises(RevisionRefusedError, match="PATH"):
        check_config({"PATH": "/tmp"})


def test_host_and_token_checks() -> None:
    for host in ("127.0.0.1", "127.0.0.1:3000", "localhost:1", "LOCALHOST", "[::1]:3000"):
        assert host_is_loopback(host), host
    for host in ("", "evil.example", "127.0.0.1.evil.example", "localhost:x", "10.0.0.1:3000", "[::2]"):
        assert not host_is_loopback(host), host
    assert not host_is_loopback(None)
    assert token_matches("a", "a")
    assert not token_matches("a", None)
    assert not token_matches("", "")
    assert not token_matches("ab", "a")


def test_only_the_responder_inherits_the_supervisors_secrets(tmp_path: Path) -> None:
    supervisor = Supervisor(
        load_settings(data_dir=tmp_path),
        services=["conversation-engine", "responder"],
        env={"INTERNAL_SECRET": "shared"},
        private_env={"responder": {"SUPERVISOR_TOKEN": SUPERVISOR_TOKEN}},
    )
    engine = supervisor.get("conversation-engine").spec
    responder = supervisor.get("responder").spec
    assert "SUPERVISOR_TOKEN" in engine.withheld_env  # not inherited from the supervisor's own environment
    assert "SUPERVISOR_TOKEN" not in engine.env
    assert engine.env["INTERNAL_SECRET"] == "shared"
    assert responder.env["SUPERVISOR_TOKEN"] == SUPERVISOR_TOKEN
