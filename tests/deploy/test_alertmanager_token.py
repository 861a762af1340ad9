"""A real Alertmanager with deploy/alertmanager's receiver config reaches a real responder only with the token
(``http_config.authorization.credentials_file``); with another token the responder refuses its alerts."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness.credentials import ALERTMANAGER_TOKEN, OPERATOR_TOKEN
from tests.harness.monitoring import AlertmanagerServer, WebhookRecorder, wait_for
from tests.harness.servers import free_port, wait_for_port

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def responder_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    directory = tmp_path_factory.mktemp("am-token")
    port = free_port()
    env = {
        **os.environ,
        "DATA_DIR": str(directory / "data"),
        "DATABASE_URL": f"sqlite+aiosqlite:///{directory / 'responder.db'}",
        "SUPERVISOR_PORT": str(free_port()),  # nobody there: the responder only takes alerts here
        "RESPONDER_SYNTHETIC_CALL": "false",
        "OPERATOR_TOKEN": OPERATOR_TOKEN,
        "ALERTMANAGER_TOKEN": ALERTMANAGER_TOKEN,
    }
    log = (directory / "responder.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "answer_ninja.platform.server", "responder", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_for_port(port, timeout=60)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=20)


ALERT = [{"labels": {"alertname": "ServiceDown", "job": "phone-gateway", "severity": "critical"}}]


@pytest.mark.parametrize(("token", "status"), [(ALERTMANAGER_TOKEN, 202), ("not-the-token", 401)])
def test_alertmanager_sends_its_token_and_only_that_one_gets_in(
    responder_url: str, tmp_path: Path, token: str, status: int
) -> None:
    with WebhookRecorder(forward_to=responder_url + "/alerts") as tap, WebhookRecorder() as slack:
        alertmanager = AlertmanagerServer(
            tmp_path, responder_url=tap.url, slack_url=slack.url, alertmanager_token=token
        ).start()
        try:
            alertmanager.post_alerts(ALERT)
            wait_for(lambda: tap.received, 60, "Alertmanager's webhook")
        finally:
            alertmanager.stop()
    assert tap.authorizations[0] == f"Bearer {token}"
    assert tap.received[0][2] == status
