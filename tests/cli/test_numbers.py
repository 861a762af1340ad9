"""`answer-ninja numbers verify` against real services: the operator's credential is picked up by itself."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.harness.credentials import OPERATOR_TOKEN
from tests.services.phone_gateway.live import LiveServices, live

__all__ = ["live"]
pytestmark = pytest.mark.integration


def _numbers(live: LiveServices, *args: str, token: str = OPERATOR_TOKEN) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "USER_MANAGEMENT_URL": live.url("user-management"),
        "OPERATOR_TOKEN": token,
        "COLUMNS": "200",
    }
    return subprocess.run(
        [sys.executable, "-m", "answer_ninja", "numbers", "verify", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_an_operator_vouches_for_a_pending_number(live: LiveServices) -> None:
    _, token = live.register("pending@example.com", "+8613740000001", real_number=None, verify=False)
    refused = _numbers(live, "pending@example.com", "+8613740000001", token="not-the-operator-token")
    assert refused.returncode == 1
    assert "401" in refused.stderr
    assert "not-the-operator-token" not in refused.stderr + refused.stdout
    done = _numbers(live, "pending@example.com", "+8613740000001")
    assert done.returncode == 0, done.stderr
    assert "+8613740000001 proven for pending@example.com" in done.stdout
    with live.client("user-management", token) as users:
        assert users.get("/api/v1/me").json()["hosted_numbers"] == ["+8613740000001"]
    unknown = _numbers(live, "pending@example.com", "+8613740000002")
    assert (unknown.returncode, "404" in unknown.stderr) == (1, True)
