"""The full path from a carrier's webhook to a stored decision and call record, on real PostgreSQL and Redis."""

from __future__ import annotations

import asyncio
import base64
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import asyncpg
import httpx
import pytest

from answer_ninja.telephony import acs_events
from answer_ninja.telephony.acs_events import AcsCallControl
from answer_ninja.telephony.loopback import LoopbackAnswer, LoopbackCarrier
from answer_ninja.telephony.webhook_auth import ACS_SECRET_HEADER
from tests.harness.credentials import WebhookSigner
from tests.services.phone_gateway.live import ACS_SECRET, TWILIO_TOKEN, LiveServices, live_services
from tests.telephony.recorder import recorder
from tests.telephony.test_acs_events import incoming_call_event

pytestmark = pytest.mark.integration

HOSTED, CALLER, REAL = "+8610012345678", "+8613800138000", "+8613900000001"


def place_call(live: LiveServices, caller: str = CALLER, dialled: str = HOSTED, **kwargs: Any) -> LoopbackAnswer:
    async def run() -> LoopbackAnswer:
        carrier = LoopbackCarrier(live.url("phone-gateway"), auth_token=kwargs.pop("token", TWILIO_TOKEN))
        try:
            return await carrier.place_call(caller=caller, dialled=dialled, **kwargs)
        finally:
            await carrier.aclose()

    return asyncio.run(run())


def record(live: LiveServices, call_id: str) -> dict[str, Any]:
    with live.client("phone-gateway", as_service="responder") as gateway:
        response = gateway.get(f"/internal/v1/calls/{call_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def records_by_sid(live: LiveServices, sid: str) -> dict[str, Any]:
    """The record Twilio's CallSid created (reject/transfer TwiML does not carry our id)."""

    async def find() -> str:
        connection = await asyncpg.connect(live.settings.database_url.replace("+asyncpg", ""))
        try:
            call_id: str = await connection.fetchval("select id from call_records where carrier_call_id = $1", sid)
        finally:
            await connection.close()
        return call_id

    return record(live, asyncio.run(find()))


def test_twilio_ai_call_streams_to_realtime_processor_with_the_users_settings(live: LiveServices) -> None:
    user_id, token = live.register("ai@example.com", HOSTED)
    with live.client("user-management", token) as users:
        assert users.patch("/api/v1/me/preferences", json={"persona": "humorous"}).status_code == 200
    answer = place_call(live)
    assert answer.decision == "ai"
    assert answer.stream_url == live.url("realtime-processor").replace("http://", "ws://") + "/media/twilio"
    assert answer.parameters["user_id"] == user_id
    assert answer.parameters["persona"] == "humorous"
    assert answer.parameters["max_call_seconds"] == "180"
    stored = record(live, answer.parameters["call_id"])
    assert (stored["decision"], stored["decision_reason"], stored["carrier"]) == ("ai", "default_ai", "twilio")
    assert stored["caller_number"] == CALLER
    assert stored["decision_latency_ms"] > 0


def test_whitelisted_caller_is_dialled_through_and_a_failed_transfer_falls_back_to_ai(live: LiveServices) -> None:
    _, token = live.register("wl@example.com", HOSTED, real_number=REAL)
    with live.client("user-management", token) as users:
        assert users.post("/api/v1/whitelist", json={"number": "138 0013 8000", "name": "Mum"}).status_code == 201

    async def run() -> tuple[LoopbackAnswer, LoopbackAnswer]:
        carrier = LoopbackCarrier(live.url("phone-gateway"), auth_token=TWILIO_TOKEN)
        first = await carrier.place_call(caller=CALLER, dialled=HOSTED, call_sid="CA-transfer")
        second = await carrier.report_dial_result(first, dial_status="no-answer")
        await carrier.aclose()
        return first, second

    first, second = asyncio.run(run())
    assert (first.decision, first.transfer_number) == ("transfer", REAL)
    assert second.decision == "ai"
    stored = record(live, second.parameters["call_id"])
    assert (stored["decision"], stored["decision_reason"]) == ("ai", "transfer_failed")
    assert stored["details"]["transfer_failed"]["previous_reason"] == "whitelisted"


def test_ai_off_rejects_and_status_callbacks_complete_the_record(live: LiveServices) -> None:
    _, token = live.register("off@example.com", HOSTED)
    with live.client("user-management", token) as users:
        assert users.patch("/api/v1/me/preferences", json={"ai_enabled": False}).status_code == 200
    answer = place_call(live, call_sid="CA-off")
    assert answer.decision == "reject"
    stored = records_by_sid(live, "CA-off")
    assert (stored["decision"], stored["decision_reason"], stored["status"]) == ("reject", "ai_disabled", "rejected")

    with live.client("user-management", token) as users:
        users.patch("/api/v1/me/preferences", json={"ai_enabled": True})

    async def complete() -> None:
        carrier = LoopbackCarrier(live.url("phone-gateway"), auth_token=TWILIO_TOKEN)
        await carrier.place_call(caller="+8613700000000", dialled=HOSTED, call_sid="CA-done")
        await carrier.report_status(call_sid="CA-done", status="in-progress")
        await carrier.report_status(call_sid="CA-done", status="completed", duration_seconds=42)
        await carrier.aclose()

    asyncio.run(complete())
    done = records_by_sid(live, "CA-done")
    assert (done["status"], done["duration_seconds"]) == ("completed", 42.0)
    assert done["answered_at"] is not None
    assert done["ended_at"] is not None


def test_a_spam_report_rejects_the_reporters_own_calls_at_once_and_nobody_elses(live: LiveServices) -> None:
    _, token_a = live.register("a@example.com", HOSTED)
    _, token_b = live.register("b@example.com", "+8610087654321")
    assert place_call(live).decision == "ai"  # unknown so far
    for token in (token_a, token_b):
        with live.client("profile-analytics", token) as profiles:
            response = profiles.post("/api/v1/feedback", json={"number": CALLER, "verdict": "spam", "category": "loan"})
            assert response.status_code == 200, response.text
    # Two fresh accounts are not the community: the shared risk does not move (issue 10's attack).
    assert response.json()["risk_score"] == pytest.approx(0.5)
    assert response.json()["evidence"]["spam_reports"]["counted"] is False
    answer = place_call(live, call_sid="CA-spam")
    assert answer.decision == "reject"  # A's own verdict, written through to the gateway's cache
    assert records_by_sid(live, "CA-spam")["decision_reason"] == "own_report"
    _, _ = live.register("c@example.com", "+8610011112222")
    other = place_call(live, call_sid="CA-other", dialled="+8610011112222")
    assert (other.decision, records_by_sid(live, "CA-other")["decision_reason"]) == ("ai", "default_ai")


def test_no_user_rejects_and_the_synthetic_probe_reaches_ai(live: LiveServices) -> None:
    with live.client("phone-gateway", as_service="responder") as gateway:
        nobody = gateway.post("/webhook/incoming-call", json={"from": CALLER, "to": "+8610099999999"}).json()
        probe = gateway.post("/webhook/incoming-call", json={"from": CALLER, "to": "+10000000000"}).json()
    assert (nobody["decision"], nobody["reason"]) == ("reject", "no_user")
    assert "stream_url" not in nobody
    assert (probe["decision"], probe["reason"]) == ("ai", "synthetic_probe")
    assert probe["stream_url"].endswith("/media/twilio")
    stored = record(live, probe["call_id"])
    assert stored["details"]["synthetic"] is True
    assert stored["user_id"] is None


def test_bad_twilio_signature_is_refused_and_nothing_is_recorded(live: LiveServices) -> None:
    live.register("sig@example.com", HOSTED)
    with pytest.raises(httpx.HTTPStatusError) as refused:
        place_call(live, token="not-the-token", call_sid="CA-forged")
    assert refused.value.response.status_code == 403
    with live.client("phone-gateway", as_service="responder") as gateway:
        unsigned = gateway.post("/twilio/voice", data={"CallSid": "CA-x", "From": CALLER, "To": HOSTED})
    assert unsigned.status_code == 403


def test_carrier_retry_of_the_same_call_gets_the_same_record(live: LiveServices) -> None:
    live.register("retry@example.com", HOSTED)
    body = {"from": CALLER, "to": HOSTED, "call_id": "carrier-42"}
    with live.client("phone-gateway", as_service="responder") as gateway:
        first = gateway.post("/webhook/incoming-call", json=body).json()
        again = gateway.post("/webhook/incoming-call", json=body).json()
        bad = gateway.post("/webhook/incoming-call", json={"to": HOSTED})
    assert first["call_id"] == again["call_id"]
    assert bad.status_code == 422
    assert bad.json()["fields"][0]["field"] == "from"


def test_gateway_decides_from_cache_when_user_management_is_down(postgres_url: str, redis_url: str) -> None:
    with live_services(postgres_url, redis_url) as live:
        live.register("cache@example.com", HOSTED)
        with live.client("phone-gateway", as_service="responder") as gateway:  # warm the cache
            assert gateway.post("/webhook/incoming-call", json={"from": CALLER, "to": HOSTED}).json()["reason"] == (
                "default_ai"
            )
    # Same database and Redis; user-management and profile-analytics not running at all.
    with live_services(postgres_url, redis_url, services=("phone-gateway",)) as gateway_only:
        with gateway_only.client("phone-gateway", as_service="responder") as gateway:
            cached = gateway.post("/webhook/incoming-call", json={"from": CALLER, "to": HOSTED}).json()
            unknown = gateway.post("/webhook/incoming-call", json={"from": CALLER, "to": "+8610055555555"}).json()
        assert (cached["decision"], cached["reason"]) == ("ai", "default_ai")
        assert (unknown["decision"], unknown["reason"]) == ("ai", "directory_unavailable")  # never dropped


def test_event_grid_handshake_and_incoming_call_answered_through_the_sdk(
    postgres_url: str, redis_url: str, tmp_path: Path
) -> None:
    with recorder(tmp_path) as acs, live_services(postgres_url, redis_url) as live:
        acs.responses["/calling/callConnections:answer"] = (200, {"callConnectionId": "conn-9"})
        key = base64.b64encode(b"k" * 32).decode()
        gateway_ctx = live.apps["phone-gateway"].state.ctx
        gateway_ctx.extras["acs_control"] = AcsCallControl(
            f"endpoint={acs.url}/;accesskey={key}", connection_verify=False
        )
        live.register("acs@example.com", HOSTED)
        with live.client("phone-gateway", as_service="responder") as gateway:
            gateway.headers[ACS_SECRET_HEADER] = ACS_SECRET  # what the Event Grid subscription sends
            handshake = gateway.post(
                "/webhook/azure-events",
                json=[{"eventType": acs_events.VALIDATION_EVENT, "data": {"validationCode": "v-1"}}],
            )
            assert handshake.json() == {"validationResponse": "v-1"}
            delivered = gateway.post("/webhook/azure-events", json=[incoming_call_event(CALLER, HOSTED)])
            assert delivered.status_code == 200, delivered.text
            handled = delivered.json()["handled"][0]
            missing = gateway.post("/webhook/azure-events", json=[{"eventType": incoming_call_event()["eventType"]}])
            connected = gateway.post(
                f"/acs/callbacks?call_id={handled['call_id']}",
                json=[{"type": "Microsoft.Communication.CallConnected", "data": {}}],
            )
            hung_up = gateway.post(f"/internal/v1/calls/{handled['call_id']}/hangup")
        assert hung_up.status_code == 204
        assert acs.requests[-1].path.startswith("/calling/callConnections/conn-9:terminate")
        assert handled["decision"] == "ai"
        assert handled["stream_url"].endswith("/media/acs")
        assert missing.status_code == 422
        assert missing.json()["fields"][0]["field"] == "0.data"
        assert connected.status_code == 204
        stored = record(live, handled["call_id"])
        assert stored["carrier"] == "acs"
        assert stored["status"] == "ended"
        assert stored["answered_at"] is not None
        assert stored["details"]["acs"] == "conn-9"
        answer = acs.requests[0]
        transport = urlsplit(answer.body["mediaStreamingOptions"]["transportUrl"])
        assert transport.path == "/media/acs"
        # ACS has no stream parameters: the signed stream token rides in the transport URL's query.
        parameters = parse_qs(transport.query)
        assert parameters["call_id"] == [handled["call_id"]]
        assert {"token", "persona", "language", "max_call_seconds"} <= set(parameters)
        callback = urlsplit(answer.body["callbackUri"])
        assert callback.path == "/acs/callbacks"
        assert parse_qs(callback.query) == {"call_id": [handled["call_id"]], "secret": [ACS_SECRET]}


def test_a_burst_of_concurrent_calls_is_stored_once_each(live: LiveServices) -> None:
    """Group commit under load: every call gets its record; a retried carrier id in the same burst gets one."""
    live.register("burst@example.com", HOSTED)

    async def burst() -> list[dict[str, Any]]:
        carrier = WebhookSigner()  # the carrier signs each body (X-Webhook-Signature)
        async with httpx.AsyncClient(base_url=live.url("phone-gateway"), timeout=30, auth=carrier) as gateway:
            bodies = [{"from": f"+86137{n:08d}", "to": HOSTED, "call_id": f"burst-{n % 40}"} for n in range(80)]
            responses = await asyncio.gather(*(gateway.post("/webhook/incoming-call", json=body) for body in bodies))
        return [response.json() for response in responses]

    answers = asyncio.run(burst())
    ids_by_carrier_id: dict[str, set[str]] = {}
    for n, answer in enumerate(answers):
        ids_by_carrier_id.setdefault(f"burst-{n % 40}", set()).add(answer["call_id"])
    assert all(len(ids) == 1 for ids in ids_by_carrier_id.values())

    async def count() -> int:
        connection = await asyncpg.connect(live.settings.database_url.replace("+asyncpg", ""))
        try:
            stored: int = await connection.fetchval(
                "select count(*) from call_records where carrier_call_id like 'burst-%'"
            )
        finally:
            await connection.close()
        return stored

    assert asyncio.run(count()) == 40


def test_new_callers_are_routed_without_asking_profile_analytics(live: LiveServices) -> None:
    """Once profile-analytics has copied every profile to Redis, an unknown caller is known to be unknown."""
    import redis

    from answer_ninja.services.phone_gateway.cache_keys import PROFILES_COMPLETE_KEY

    live.register("fresh@example.com", HOSTED)
    cache = redis.Redis.from_url(live.settings.redis_url or "")
    deadline = time.monotonic() + 10
    while not cache.exists(PROFILES_COMPLETE_KEY) and time.monotonic() < deadline:
        time.sleep(0.05)
    cache.close()
    with live.client("phone-gateway", as_service="responder") as gateway:
        answer = gateway.post("/webhook/incoming-call", json={"from": "+8613611112222", "to": HOSTED}).json()
    assert record(live, answer["call_id"])["details"]["sources"] == {
        "user": "service",
        "whitelist": "service",  # a short list came whole with the settings
        "profile": "cache",
    }


def test_twilio_no_user_and_ring_through(live: LiveServices) -> None:
    _, token = live.register("ring@example.com", HOSTED, real_number=REAL)
    assert place_call(live, dialled="+8610099999999", call_sid="CA-nobody").decision == "reject"
    assert records_by_sid(live, "CA-nobody")["decision_reason"] == "no_user"
    with live.client("user-management", token) as users:
        users.patch("/api/v1/me/preferences", json={"ai_enabled": False, "ai_off_action": "ring"})
    ring = place_call(live, call_sid="CA-ring")
    assert (ring.decision, ring.transfer_number) == ("transfer", REAL)  # TwiML rings through with <Dial>
    assert records_by_sid(live, "CA-ring")["decision"] == "ring"


def test_calls_are_answered_while_postgres_is_down_and_their_records_arrive_after(
    live: LiveServices, postgres_server: Any
) -> None:
    live.register("outage@example.com", HOSTED)
    with live.client("phone-gateway", as_service="responder") as gateway:
        assert gateway.post("/webhook/incoming-call", json={"from": CALLER, "to": HOSTED}).status_code == 200
        postgres_server.stop()
        try:
            answers = []
            for n in range(3):
                started = time.monotonic()
                response = gateway.post("/webhook/incoming-call", json={"from": f"+8613512345{n:03d}", "to": HOSTED})
                answers.append((response.status_code, response.json(), time.monotonic() - started))
        finally:
            postgres_server.start()
        assert [(status, body["decision"]) for status, body, _ in answers] == [(200, "ai")] * 3
        assert answers[-1][2] < 1.0  # once the database is known down, calls do not wait for it
        deadline = time.monotonic() + 15
        stored = [0] * 3
        while time.monotonic() < deadline:
            stored = [gateway.get(f"/internal/v1/calls/{body['call_id']}").status_code for _, body, _ in answers]
            if stored == [200] * 3:
                break
            time.sleep(0.2)
    assert stored == [200] * 3


def _follow(live: LiveServices, answer: LoopbackAnswer, sid: str) -> list[LoopbackAnswer]:
    """What Twilio does after the answer, the stream failing and the person not answering the ring."""

    async def run() -> list[LoopbackAnswer]:
        carrier = LoopbackCarrier(live.url("phone-gateway"), auth_token=TWILIO_TOKEN)
        steps, current = [], answer
        try:
            if current.decision == "ai":
                after = await carrier.stream_ended(current, call_sid=sid)
                assert after is not None
                steps.append(current := after)
            while current.decision in ("transfer", "voicemail"):
                if current.decision == "transfer":
                    current = await carrier.report_dial_result(current, dial_status="no-answer")
                else:
                    current = await carrier.leave_voicemail(current, call_sid=sid, seconds=7, recording_sid="RE1")
                steps.append(current)
        finally:
            await carrier.aclose()
        return steps

    return asyncio.run(run())


def test_a_stream_that_ends_without_the_ai_ending_it_rings_the_person_then_takes_a_voicemail(
    live: LiveServices,
) -> None:
    live.register("fallback@example.com", HOSTED)
    sid = "CA" + "f" * 32
    answer = place_call(live, call_sid=sid)
    assert answer.decision == "ai"
    assert answer.stream_action == f"/twilio/after-stream?call_id={answer.call_id}"
    # The media service does not know the call (it never got, or lost, the stream): the fallback.
    steps = _follow(live, answer, sid)
    assert [step.decision for step in steps] == ["transfer", "voicemail", "hangup"]
    assert steps[0].transfer_number == REAL
    stored = record(live, str(answer.call_id))
    assert stored["outcome"] == "fallback_voicemail"
    assert stored["details"]["fallback"]["reason"] == "stream_failed"
    assert stored["details"]["fallback"]["ring"] == "no-answer"
    assert stored["details"]["voicemail"] == {
        "url": "https://api.loopback.invalid/Recordings/RE1",
        "duration_seconds": 7,
        "sid": "RE1",
    }
    assert stored["status"] == "completed"


def test_a_caller_who_hung_up_is_not_followed_by_the_fallback(live: LiveServices) -> None:
    live.register("hungup@example.com", HOSTED)
    sid = "CA" + "d" * 32
    answer = place_call(live, call_sid=sid)
    assert answer.decision == "ai"

    async def run() -> LoopbackAnswer | None:
        carrier = LoopbackCarrier(live.url("phone-gateway"), auth_token=TWILIO_TOKEN)
        try:
            return await carrier.stream_ended(answer, call_sid=sid, caller_hung_up=True)
        finally:
            await carrier.aclose()

    after = asyncio.run(run())
    assert after is not None
    assert after.decision == "hangup"  # nobody rings the person for a caller who is gone
    assert "fallback" not in (record(live, str(answer.call_id))["details"] or {})


def test_with_realtime_processor_down_an_ai_call_goes_to_voicemail_at_once(live: LiveServices) -> None:
    _, token = live.register("voicemail@example.com", HOSTED)
    with live.client("user-management", token) as users:
        assert users.patch("/api/v1/me/preferences", json={"fallback": "voicemail"}).json()["fallback"] == "voicemail"
    live.apps["media-stub"].state.down = True
    time.sleep(1.5)  # the gateway's probe runs every second
    with live.client("phone-gateway") as gateway:
        ready = gateway.get("/ready").json()
    assert "realtime-processor" in ready["warnings"]  # /ready says it; the gateway stays ready
    sid = "CA" + "e" * 32
    answer = place_call(live, call_sid=sid)
    assert answer.decision == "voicemail"
    assert "留言" in (answer.prompt or "")
    stored = records_by_sid(live, sid)
    assert stored["outcome"] == "fallback_voicemail"
    assert stored["details"]["fallback"]["reason"] == "media_unavailable"
    steps = _follow(live, answer, sid)
    assert [step.decision for step in steps] == ["hangup"]


def _acs_gateway(live: LiveServices, acs: Any) -> httpx.Client:
    acs.responses["/calling/callConnections:answer"] = (200, {"callConnectionId": "conn-9"})
    acs.responses["/calling/callConnections/conn-9:transferToParticipant"] = (202, {"operationContext": "x"})
    acs.responses["/calling/callConnections/conn-9:play"] = (202, None)
    acs.responses["/calling/recordings"] = (200, {"recordingId": "rec-1", "recordingState": "active"})
    key = base64.b64encode(b"k" * 32).decode()
    gateway_ctx = live.apps["phone-gateway"].state.ctx
    gateway_ctx.extras["acs_control"] = AcsCallControl(f"endpoint={acs.url}/;accesskey={key}", connection_verify=False)
    gateway = live.client("phone-gateway", as_service="responder")
    gateway.headers[ACS_SECRET_HEADER] = ACS_SECRET  # what Event Grid and ACS's callbacks present
    return gateway


def test_an_acs_stream_that_fails_transfers_the_call_to_the_persons_real_number(
    postgres_url: str, redis_url: str, tmp_path: Path
) -> None:
    with recorder(tmp_path) as acs, live_services(postgres_url, redis_url) as live:
        live.register("acs-ring@example.com", HOSTED)
        with _acs_gateway(live, acs) as gateway:
            handled = gateway.post("/webhook/azure-events", json=[incoming_call_event(CALLER, HOSTED)]).json()
            call_id = handled["handled"][0]["call_id"]
            failed = gateway.post(
                f"/acs/callbacks?call_id={call_id}",
                json=[{"type": "Microsoft.Communication.MediaStreamingFailed", "data": {}}],
            )
        assert failed.status_code == 204
        answer, transfer = acs.requests
        assert "mediaStreamingOptions" in answer.body
        assert transfer.path.startswith("/calling/callConnections/conn-9:transferToParticipant")
        assert transfer.body["targetParticipant"]["phoneNumber"]["value"] == REAL
        assert transfer.body["sourceCallerIdNumber"]["value"] == HOSTED
        assert transfer.body["operationContext"] == f"fallback:{call_id}"
        stored = record(live, call_id)
        assert stored["outcome"] == "fallback_ring"
        assert stored["details"]["fallback"]["reason"] == "stream_failed"


def test_an_acs_call_with_realtime_processor_down_is_answered_for_a_voicemail(
    postgres_url: str, redis_url: str, tmp_path: Path
) -> None:
    with recorder(tmp_path) as acs, live_services(postgres_url, redis_url) as live:
        _, token = live.register("acs-voicemail@example.com", HOSTED)
        with live.client("user-management", token) as users:
            assert users.patch("/api/v1/me/preferences", json={"fallback": "voicemail"}).status_code == 200
        live.apps["media-stub"].state.down = True
        time.sleep(1.5)
        with _acs_gateway(live, acs) as gateway:
            handled = gateway.post("/webhook/azure-events", json=[incoming_call_event(CALLER, HOSTED)]).json()
            call_id = handled["handled"][0]["call_id"]
            connected = gateway.post(
                f"/acs/callbacks?call_id={call_id}",
                json=[{"type": "Microsoft.Communication.CallConnected", "data": {}}],
            )
        assert connected.status_code == 204
        answer, play, recording = acs.requests
        assert "mediaStreamingOptions" not in answer.body  # no stream to a media service that is not there
        assert answer.body["callbackUri"].endswith(f"/acs/callbacks?call_id={call_id}&secret={ACS_SECRET}")
        assert play.path.startswith("/calling/callConnections/conn-9:play")
        source = play.body["playSources"][0]
        assert source["kind"] == "text"
        assert source["text"]["sourceLocale"] == "zh-CN"
        assert "留言" in source["text"]["text"]
        assert recording.path.startswith("/calling/recordings")
        assert recording.body["recordingStateCallbackUri"].endswith(
            f"/acs/callbacks?call_id={call_id}&secret={ACS_SECRET}"
        )
        assert recording.body["recordingContentType"] == "audio"
        stored = record(live, call_id)
        assert stored["outcome"] == "fallback_voicemail"
        assert stored["details"]["fallback"]["reason"] == "media_unavailable"
        assert stored["details"]["fallback"]["started"] is True
