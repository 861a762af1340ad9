"""The login flood of issue 10 replayed with `answer-ninja drill login-flood` against `answer-ninja up` on its
embedded defaults (as `make up` runs it) with the responder on: it must end in throttling, with no restart and
degraded mode off. Then the files that stack wrote: DATA_DIR 0700, databases, logs and secrets 0600."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness.stack import LocalStack

pytestmark = pytest.mark.integration

SERVICES = ["user-management", "conversation-engine", "responder"]
# The responder as quick to act as in the fire drills: it would restart user-management within seconds if it
# mistook load for an outage.
FAST_RESPONDER = {
    "RESPONDER_PROBE_INTERVAL_SECONDS": "0.5",
    "RESPONDER_PROBE_TIMEOUT_SECONDS": "1",
    "RESPONDER_FAILURES_TO_CONFIRM": "3",
    "RESPONDER_SYNTHETIC_CALL": "false",
}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    with LocalStack(tmp_path_factory.mktemp("login-flood"), services=SERVICES, env=FAST_RESPONDER) as running:
        yield running


def test_login_flood_ends_in_throttling_not_restarts(stack: LocalStack) -> None:
    drill = subprocess.run(
        [
            sys.executable,
            "-m",
            "answer_ninja",
            "drill",
            "login-flood",
            "--seconds",
            "12",
            "--concurrency",
            "24",
            "--json",
        ],
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    report = json.loads(drill.stdout.strip().splitlines()[-1])
    print(json.dumps(report, indent=1))  # the figures, in the test's output
    assert report["attempts"] > 100
    assert report["throttled_429_503"] > 0, report["statuses"]
    assert report["responder_restarts"] == 0, report["responder_actions"]
    assert report["process_restarts"] == 0
    assert report["degraded_mode_at_end"] is False
    assert report["user_management_unready_polls"] == 0
    assert report["user_management_ready_polls"] > 10
    assert report["incidents"] == []
    assert report["passed"] is True
    assert drill.returncode == 0, drill.stderr


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_stacks_files_are_the_owners_alone(stack: LocalStack) -> None:
    data = stack.data_dir
    assert _mode(data) == 0o700
    expected_files = [
        data / "answer_ninja.db",  # the embedded database: password hashes
        data / "secrets.json",
        data / "responder" / "responder.sqlite3",
        data / "supervisor" / "state.json",
        *(data / "logs" / f"{name}.log" for name in SERVICES),
    ]
    for path in expected_files:
        assert path.exists(), path
    for path in data.rglob("*"):
        if path.is_symlink() or path.name == "up.log":  # up.log is the test harness's own capture
            continue
        mode = _mode(path)
        assert mode & 0o077 == 0, f"{path} is {oct(mode)}"
    for path in expected_files:
        assert _mode(path) == 0o600, f"{path} is {oct(_mode(path))}"
