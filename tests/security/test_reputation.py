"""Issue 10's attack on shared reputation, replayed against a real stack: two fresh accounts reporting a number
used to take its risk to 0.83 and have it rejected for every user."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.harness.servers import PostgresServer, RedisServer
from tests.security.accounts_stack import AccountsStack, accounts_stack

pytestmark = [pytest.mark.integration, pytest.mark.slow]
TARGET = "+8613812345678"  # an honest caller someone wants blocked


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory, postgres_server: PostgresServer, redis_server: RedisServer
) -> Iterator[AccountsStack]:
    yield from accounts_stack(tmp_path_factory.mktemp("reputation"), postgres_server, redis_server)


def report(stack: AccountsStack, token: str, number: str, verdict: str = "spam") -> dict[str, object]:
    with stack.client("profile-analytics", token) as profiles:
        response = profiles.post("/api/v1/feedback", json={"number": number, "verdict": verdict, "category": "loan"})
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_two_fresh_accounts_cannot_get_a_number_rejected_for_everyone(stack: AccountsStack) -> None:
    victim_id, _ = stack.user("victim@example.com", hosted="+8613710000001")
    attackers = [stack.user(f"attacker{n}@example.com", hosted=f"+861371000001{n}") for n in range(2)]
    before = stack.call(TARGET, "+8613710000001")[1]
    assert before["decision_reason"] == "default_ai"
    for _, token in attackers:
        profile = report(stack, token, TARGET)
    # The shared profile did not move, and says why.
    assert profile["risk_score"] == 0.5
    evidence = profile["evidence"]
    assert isinstance(evidence, dict)
    assert evidence["spam_reports"]["reporters"] == 2
    assert evidence["spam_reports"]["counted"] is False
    assert evidence["spam_reports"]["weight"] == 0.0  # neither ever received a call from the number
    assert evidence["min_reporters"] == 3
    # The victim's calls from the number are routed as before; the record is the same kind of record.
    answer, after = stack.call(TARGET, "+8613710000001")
    assert (after["decision"], after["decision_reason"], after["user_id"]) == ("ai", "default_ai", victim_id)
    # Each attacker's report applies to the attacker at once: their own calls from it are rejected.
    answer, own = stack.call(TARGET, "+8613710000010")
    assert (answer.decision, own["decision_reason"]) == ("reject", "own_report")


def test_established_reporters_who_received_its_calls_do_get_it_rejected_for_everyone(stack: AccountsStack) -> None:
    spammer = "+8613887654321"
    reporters = [stack.user(f"established{n}@example.com", hosted=f"+861372000000{n}") for n in range(3)]
    bystander_id, _ = stack.user("bystander@example.com", hosted="+8613720000009")
    for n in range(3):
        stack.call(spammer, f"+861372000000{n}")  # the number really called each reporter
    # They have received calls through us for a month (their first call record).
    for user_id, _ in reporters:
        stack.query(
            "update call_records set started_at = started_at - interval '30 days' where id = "
            "(select id from call_records where user_id = $1 order by started_at limit 1)",
            user_id,
        )
    stack.query(
        "insert into call_records (id, user_id, carrier, carrier_call_id, caller_number, dialled_number, status,"
        " started_at, transcript, turn_timings, summary, details) select md5(random()::text), id, 'loopback',"
        " md5(random()::text), '+8613000000000', '+8613000000001', 'completed', now() - interval '30 days',"
        " '[]', '[]', '{}', '{}' from users where email like 'established%'"
    )
    profiles = [report(stack, token, spammer) for _, token in reporters]
    assert [profile["evidence"]["spam_reports"]["counted"] for profile in profiles] == [False, False, True]
    assert profiles[-1]["evidence"]["spam_reports"]["reporters_with_weight"] == 3
    assert profiles[-1]["risk_score"] >= 0.8
    answer, record = stack.call(spammer, "+8613720000009")
    assert (answer.decision, record["decision_reason"], record["user_id"]) == ("reject", "known_spam", bystander_id)
