"""profile-analytics over HTTP on real PostgreSQL and Redis: learning from calls and from feedback."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import asyncpg
import pytest

from tests.services.phone_gateway.live import LiveServices

pytestmark = pytest.mark.integration
HOSTED, CALLER = "+8610012345678", "+8613800138000"


def finish_call_as_realtime_processor(live: LiveServices, call_id: str, *, intent: str, transcript: list[Any]) -> None:
    """What realtime-processor does at the end of an AI call: write the outcome into the shared record."""

    async def write() -> None:
        connection = await asyncpg.connect(live.settings.database_url.replace("+asyncpg", ""))
        try:
            await connection.execute(
                "update call_records set intent=$2, outcome='ai_hung_up', duration_seconds=37.5, status='completed',"
                " transcript=$3::json where id=$1",
                call_id,
                intent,
                json.dumps(transcript),
            )
        finally:
            await connection.close()

    asyncio.run(write())


def incoming(live: LiveServices, caller: str = CALLER) -> dict[str, Any]:
    with live.client("phone-gateway", as_service="responder") as gateway:
        body: dict[str, Any] = gateway.post("/webhook/incoming-call", json={"from": caller, "to": HOSTED}).json()
    return body


def test_finished_call_is_summarised_and_learned_from_once(live: LiveServices) -> None:
    _, token = live.register("calls@example.com", HOSTED)
    call = incoming(live)
    transcript = [
        {"speaker": "caller", "text": "您好，我是银行的"},
        {"speaker": "caller", "text": "给您办个贷款", "intent": "loan"},
        {"speaker": "ai", "text": "不需要，再见"},
    ]
    finish_call_as_realtime_processor(live, call["call_id"], intent="loan", transcript=transcript)
    with live.client("profile-analytics", token, as_service="realtime-processor") as analytics:
        first = analytics.post(f"/internal/v1/calls/{call['call_id']}/finished")
        again = analytics.post(f"/internal/v1/calls/{call['call_id']}/finished")
        summary = analytics.get(f"/api/v1/calls/{call['call_id']}/summary").json()
        profile = analytics.get("/api/v1/profiles/lookup", params={"number": "138 0013 8000"}).json()
        missing = analytics.post("/internal/v1/calls/nope/finished")
        stats = analytics.get("/api/v1/stats", params={"period": "day"}).json()
        bad_period = analytics.get("/api/v1/stats", params={"period": "year"})
    assert first.status_code == 200, first.text
    assert (first.json()["learned"], again.json()["learned"]) == (True, False)
    assert summary["summary"]["intent"] == "loan"
    assert summary["summary"]["turns"] == 2
    assert summary["summary"]["duration_seconds"] == 37.5
    assert (profile["total_calls"], profile["spam_calls"], profile["category"]) == (1, 1, "loan")  # counted once
    assert profile["risk_score"] == pytest.approx(2 / 3, abs=1e-3)
    assert missing.status_code == 404
    assert (stats["calls_total"], stats["answered_by_ai"], stats["spam_blocked"]) == (1, 1, 1)
    assert stats["time_saved_seconds"] == 37.5
    assert bad_period.status_code == 422
    assert bad_period.json()["fields"][0]["field"] == "period"


def test_feedback_is_one_vote_per_user_and_not_spam_proposes_a_whitelist_entry(live: LiveServices) -> None:
    _, token_a = live.register("fa@example.com", HOSTED)
    _, token_b = live.register("fb@example.com", "+8610087654321")
    with live.client("profile-analytics", token_a) as alice, live.client("profile-analytics", token_b) as bob:
        for _ in range(3):  # the same user reporting again replaces their verdict
            first = alice.post("/api/v1/feedback", json={"number": CALLER, "verdict": "spam", "category": "sales"})
        assert first.json()["spam_reports"] == 1
        # Fresh accounts that never received the number's calls count for themselves only (learning.py, issue 10).
        assert first.json()["risk_score"] == pytest.approx(0.5)
        both = bob.post("/api/v1/feedback", json={"number": CALLER, "verdict": "not_spam"}).json()
        assert (both["spam_reports"], both["not_spam_reports"], both["risk_score"]) == (1, 1, 0.5)
        changed = alice.post("/api/v1/feedback", json={"number": CALLER, "verdict": "not_spam"}).json()
        assert (changed["spam_reports"], changed["not_spam_reports"]) == (0, 2)
        assert changed["risk_score"] == pytest.approx(0.5)
        neither = alice.post("/api/v1/feedback", json={"verdict": "spam"})
        assert neither.status_code == 422
        assert neither.json()["fields"][0]["field"] == "number"
        others_call = incoming(live)  # a call to Alice's number: Bob may not give feedback on it
        assert (
            bob.post("/api/v1/feedback", json={"call_id": others_call["call_id"], "verdict": "spam"}).status_code == 404
        )
        assert (
            alice.post("/api/v1/feedback", json={"call_id": others_call["call_id"], "verdict": "spam"}).status_code
            == 200
        )
    with live.client("user-management", token_b) as users:
        proposals = users.get("/api/v1/whitelist", params={"status": "proposed"}).json()
    assert [(item["number"], item["kind"]) for item in proposals] == [(CALLER, "learned")]


def test_synthetic_probe_calls_are_not_learned_from_or_counted(live: LiveServices) -> None:
    _, token = live.register("probe@example.com", HOSTED)
    with live.client("phone-gateway", as_service="responder") as gateway:
        probe = gateway.post("/webhook/incoming-call", json={"from": CALLER, "to": "+10000000000"}).json()
    finish_call_as_realtime_processor(live, probe["call_id"], intent="sales", transcript=[])
    with live.client("profile-analytics", token, as_service="realtime-processor") as analytics:
        finished = analytics.post(f"/internal/v1/calls/{probe['call_id']}/finished").json()
        assert finished["profile"] is None
        assert analytics.get("/api/v1/profiles/lookup", params={"number": CALLER}).status_code == 404
        assert analytics.get("/api/v1/stats").json()["calls_total"] == 0
