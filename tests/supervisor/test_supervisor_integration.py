"""`answer-ninja up` behaves like a kubelet: SIGKILLed services come back, repeated crashes back off."""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

import pytest

from tests.harness.stack import LocalStack

pytestmark = pytest.mark.integration

BACKOFF = {
    "SUPERVISOR_BACKOFF_INITIAL_SECONDS": "0.5",
    "SUPERVISOR_BACKOFF_MAX_SECONDS": "2",
    "SUPERVISOR_BACKOFF_RESET_SECONDS": "600",
}


def _wait_for(predicate, timeout: float = 20.0, interval: float = 0.05):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError("condition not met")


def test_killed_service_comes_back_then_crash_loops_with_doubling_delays(tmp_path: Path) -> None:
    with LocalStack(tmp_path, services=["phone-gateway", "conversation-engine"], env=BACKOFF) as stack:
        first = stack.service_status("phone-gateway")
        assert first["state"] == "Running"
        os.kill(first["pid"], signal.SIGKILL)

        status = _wait_for(lambda: (s := stack.service_status("phone-gateway"))["state"] == "CrashLoopBackOff" and s)
        assert status["last_exit"]["signal"] == "SIGKILL"
        restarted = _wait_for(
            lambda: (
                (s := stack.service_status("phone-gateway"))["state"] == "Running" and s["pid"] != first["pid"] and s
            )
        )
        assert restarted["restarts"] == 1
        stack.wait_ready(timeout=20)

        # Keep killing it the moment it runs: each wait doubles, capped at the maximum.
        for _ in range(3):
            pid = _wait_for(lambda: (s := stack.service_status("phone-gateway"))["state"] == "Running" and s["pid"])
            os.kill(pid, signal.SIGKILL)
            _wait_for(lambda p=pid: stack.service_status("phone-gateway")["pid"] not in (None, p), timeout=20)

        events = stack.service_status("phone-gateway")["events"]
        delays = [
            float(m) for e in events if e["reason"] == "BackOff" for m in re.findall(r"in ([\d.]+)s", e["message"])
        ]
        assert delays == [0.5, 1.0, 2.0, 2.0]
        assert stack.service_status("phone-gateway")["restarts"] == 4
        # The other service was never touched.
        assert stack.service_status("conversation-engine")["restarts"] == 0


def test_bad_config_value_crash_loops_until_the_config_is_fixed(tmp_path: Path) -> None:
    # The drill "crash loop (bad config value)": every start exits at once; the supervisor backs off, never spins.
    with LocalStack(tmp_path, services=["conversation-engine"], env=BACKOFF) as stack:
        status, config = stack.patch(f"{stack.supervisor_url}/config", {"data": {"LOG_LEVEL": "LOUD"}})
        assert status == 200
        assert config["LOG_LEVEL"] == "LOUD"
        stack.post(f"{stack.supervisor_url}/services/conversation-engine/restart")
        looping = _wait_for(
            lambda: (s := stack.service_status("conversation-engine"))["consecutive_crashes"] >= 3 and s,
            timeout=30,
        )
        assert looping["last_exit"]["code"] == 2  # settings refused the value: exit 2, not a traceback
        assert any("LOG_LEVEL" in line for line in stack.logs("conversation-engine"))

        stack.patch(f"{stack.supervisor_url}/config", {"data": {"LOG_LEVEL": None}})
        stack.post(f"{stack.supervisor_url}/services/conversation-engine/restart")
        stack.wait_ready(timeout=20)
        assert stack.service_status("conversation-engine")["state"] == "Running"


def test_status_command_prints_a_table(tmp_path: Path) -> None:
    import subprocess
    import sys

    with LocalStack(tmp_path, services=["user-management"]) as stack:
        result = subprocess.run(
            [sys.executable, "-m", "answer_ninja", "status"],
            env=stack.env,
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        for column in ("service", "state", "restarts", "/health", "/ready"):
            assert column in result.stdout
        assert "user-management" in result.stdout or "user-manage" in result.stdout
        assert "Running" in result.stdout


def test_ctrl_c_stops_every_process(tmp_path: Path) -> None:
    stack = LocalStack(tmp_path, services=["profile-analytics", "user-management"]).start()
    pids = [stack.service_status(name)["pid"] for name in ("profile-analytics", "user-management")]
    stack.stop()
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
