"""Issue 10's bounded-work attack, replayed against a real stack: a 30,000-row whitelist import used to block
user-management for 2.9 s and make every decision for that user take 1.2-1.4 s."""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.harness.servers import PostgresServer, RedisServer
from tests.security.accounts_stack import AccountsStack, accounts_stack

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ROWS = 30_000
LIMIT = 35_000
HOSTED = "+8613730000001"


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory, postgres_server: PostgresServer, redis_server: RedisServer
) -> Iterator[AccountsStack]:
    yield from accounts_stack(
        tmp_path_factory.mktemp("bounded"), postgres_server, redis_server, WHITELIST_MAX_ENTRIES=str(LIMIT)
    )


def contacts(count: int, offset: int = 0) -> bytes:
    return ("name,phone\n" + "".join(f"c{n},+86139{offset + n:08d}\n" for n in range(count))).encode()


def test_a_30000_row_import_neither_blocks_the_service_nor_slows_that_users_calls(stack: AccountsStack) -> None:
    _, token = stack.user("big@example.com", hosted=HOSTED, real_number="+8613930000001")
    _, other = stack.user("other@example.com", hosted="+8613730000002")
    latencies: list[float] = []
    done = threading.Event()
    with stack.client("user-management", other) as client:
        quiet = []
        for _ in range(20):
            started = time.perf_counter()
            assert client.get("/api/v1/me").status_code == 200
            quiet.append(time.perf_counter() - started)

    def probe() -> None:
        with stack.client("user-management", other) as client:
            while not done.is_set():
                started = time.perf_counter()
                assert client.get("/api/v1/me").status_code == 200
                latencies.append(time.perf_counter() - started)
                time.sleep(0.02)

    prober = threading.Thread(target=probe)
    prober.start()
    try:
        with stack.client("user-management", token) as person:
            started = time.perf_counter()
            imported = person.post(
                "/api/v1/whitelist/import/csv", content=contacts(ROWS), headers={"content-type": "text/csv"}
            )
            import_seconds = time.perf_counter() - started
    finally:
        done.set()
        prober.join()
    assert imported.status_code == 200, imported.text
    assert imported.json()["imported"] == ROWS
    # Another user's requests kept being answered during the import (before: blocked for 2.9 s).
    # Compared with the same requests just before, in the same test (the machine is shared, so absolute times say
    # little): the median stays within a few times the quiet one, and no request waits for the import.
    assert latencies
    during, before = statistics.median(latencies), statistics.median(quiet)
    assert during < 3 * before + 0.2, (during, before, import_seconds)
    assert max(latencies) < 3.0, (max(latencies), import_seconds)
    # Decisions for that user: whitelisted and unknown callers, each answered from one indexed row.
    decision_ms = []
    for n in range(20):
        caller = f"+86139{n * 1000:08d}" if n % 2 else f"+86150{n:08d}"
        started = time.perf_counter()
        answer, record = stack.call(caller, HOSTED)
        decision_ms.append(record["decision_latency_ms"])
        assert record["decision"] == ("transfer" if n % 2 else "ai")
    assert statistics.median(decision_ms) < 100, decision_ms  # before: 1,200-1,400 ms each
    # What phone-gateway fetches is one caller's answer, never the list (before: 660 KB).
    with httpx.Client(base_url=stack.url("user-management"), timeout=10) as client:
        from tests.harness.credentials import service_headers

        answer = client.get(
            f"/internal/v1/routing/{HOSTED}",
            params={"caller": "+8613900000001"},
            headers=service_headers("phone-gateway", "user-management"),
        )
    assert answer.status_code == 200
    assert answer.json()["whitelist_complete"] is False
    assert len(answer.content) < 2000


def test_an_import_past_the_limit_changes_nothing(stack: AccountsStack) -> None:
    _, token = stack.user("full@example.com")
    with stack.client("user-management", token) as person:
        first = person.post("/api/v1/whitelist/import/csv", content=contacts(LIMIT - 10, offset=50_000_000))
        assert first.json()["imported"] == LIMIT - 10
        refused = person.post("/api/v1/whitelist/import/csv", content=contacts(100, offset=60_000_000))
        assert refused.status_code == 422
        assert refused.json()["fields"][0]["field"] == "content"
        assert str(LIMIT) in refused.json()["fields"][0]["message"]
        count = stack.query(
            "select count(*) as n from whitelist_entries w join users u on u.id = w.user_id where u.email = $1",
            "full@example.com",
        )
        assert count == [{"n": LIMIT - 10}]
        # The same limit for one entry at a time, with the field named.
        for n in range(10):
            assert person.post("/api/v1/whitelist", json={"number": f"+86137{n:08d}"}).status_code == 201
        full = person.post("/api/v1/whitelist", json={"number": "+8613799999999"})
        assert (full.status_code, full.json()["fields"][0]["field"]) == (422, "number")


def test_an_oversized_body_is_refused_before_it_is_read(stack: AccountsStack) -> None:
    _, token = stack.user("huge@example.com")

    def endless() -> Iterator[bytes]:
        for n in range(2_000):  # 2,000 x 4 KB = 8 MB, past the 4 MB limit
            yield f"c,+86138{n:08d}\n".encode().ljust(4096, b" ")

    with stack.client("user-management", token) as person:
        refused = person.post("/api/v1/whitelist/import/csv", content=endless())
        assert refused.status_code == 413
        assert person.get("/api/v1/whitelist").json() == []
