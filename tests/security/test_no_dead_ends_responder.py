"""No dead end while the responder heals realtime-processor (issue 10): realtime-processor hangs (SIGSTOP: alive,
not answering), the responder notices and restarts it; calls placed before phone-gateway notices, while it is
down and while it starts all reach the person's fallback, and the first call after is the AI's again.

Its own stack (the responder watches every service, so it would also restart what test_no_dead_ends.py stops).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.harness.servers import PostgresServer, RedisServer
from tests.ops.drill_support import FAST_RESPONDER
from tests.security.test_no_dead_ends import (
    RING_HOSTED,
    RING_REAL,
    SERVICES,
    Journey,
    Stack,
    assert_fallback,
    dead_stream,
    running_stack,
    silent_caller,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory, postgres_server: PostgresServer, redis_server: RedisServer
) -> Iterator[Stack]:
    yield from running_stack(
        tmp_path_factory, postgres_server, redis_server, services=(*SERVICES, "responder"), env=FAST_RESPONDER
    )


def test_calls_before_during_and_after_the_responder_restarts_a_hung_realtime_processor(stack: Stack) -> None:
    restarts_before = stack.local.service_status("realtime-processor")["restarts"]
    stack.supervisor("/services/realtime-processor/signal", {"signal": "SIGSTOP"})
    journeys: list[Journey] = [stack.call(RING_HOSTED, dead_stream)]  # before phone-gateway's probe times out
    deadline = time.monotonic() + 240
    while stack.local.service_status("realtime-processor")["restarts"] == restarts_before or not stack.media_ready():
        assert time.monotonic() < deadline, "the responder never restarted realtime-processor\n" + (
            stack.local.log_tail()
        )
        journeys.append(stack.call(RING_HOSTED, dead_stream))  # down, then starting again
        time.sleep(0.5)
    assert len(journeys) >= 2
    reasons = set()
    for journey in journeys:
        record = assert_fallback(
            stack, journey, route="fallback_voicemail", reasons={"media_unavailable", "stream_failed"}
        )
        assert journey.rang == [RING_REAL]
        reasons.add(record["details"]["fallback"]["reason"])
    print("FIGURES responder restart:", len(journeys), "calls while realtime-processor was hung or restarting;",
          sorted(reasons), sorted({tuple(j.decisions) for j in journeys}))  # fmt: skip

    time.sleep(1.5)  # phone-gateway's probe sees it up again
    after = stack.call(RING_HOSTED, silent_caller)
    assert after.decisions == ["ai", "hangup"], after.decisions
    assert stack.records(after.sid)["outcome"] == "caller_silent"
