"""The whole path on the real stack: `answer-ninja up`, then `answer-ninja call --script ...` through phone-gateway.

Real Whisper, Piper/espeak-ng, conversation-engine and phone-gateway on free ports; one call, about a minute.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.harness.stack import LocalStack

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_scripted_call_through_phone_gateway_gets_answered_and_recorded(tmp_path: Path) -> None:
    services = ["phone-gateway", "realtime-processor", "conversation-engine"]
    with LocalStack(tmp_path / "stack", services=services) as stack:
        result = subprocess.run(
            [sys.executable, "-m", "answer_ninja", "call", "--script", "legitimate-en"],
            env=stack.env,
            capture_output=True,
            text=True,
            timeout=240,
        )
        assert result.returncode == 0, result.stdout + result.stderr + stack.log_tail()
        output = result.stdout
        assert "legitimate-en" in output
        assert "outcome:" in output
        assert "dental" in output.lower() or "dentist" in output.lower()  # Whisper heard the caller
        status, body = LocalStack.get(stack.url("realtime-processor") + "/api/v1/voice/status")
        assert status == 200
        assert body["active_calls"] == 0
