"""Issue 10's attacks on the carrier webhooks, replayed against a real stack (`answer-ninja up`, PostgreSQL, Redis):
forged Twilio webhooks (unsigned, wrongly signed, tampered), impossible status callbacks, unauthenticated Event
Grid deliveries and ACS callbacks, an unsigned generic webhook. None may return the person's real number in a
<Dial>, create a record or change one."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from answer_ninja.telephony import twilio_voice, webhook_auth
from answer_ninja.telephony.acs_events import VALIDATION_EVENT
from tests.harness.servers import PostgresServer, RedisServer
from tests.security.accounts_stack import TWILIO_TOKEN, AccountsStack, accounts_stack
from tests.telephony.test_acs_events import incoming_call_event

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ACS_SECRET = "acs-webhook-secret-for-the-attack-tests"
HOOK_SECRET = "generic-webhook-secret-for-the-attack-tests"
HOSTED_RING, REAL_NUMBER = "+8610012350001", "+8613900000099"
HOSTED_AI = "+8610012350002"
CALLER = "+8613800138000"


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory, postgres_server: PostgresServer, redis_server: RedisServer
) -> Iterator[AccountsStack]:
    yield from accounts_stack(
        tmp_path_factory.mktemp("carriers"),
        postgres_server,
        redis_server,
        ACS_WEBHOOK_SECRET=ACS_SECRET,
        CARRIER_WEBHOOK_SECRET=HOOK_SECRET,
    )


@pytest.fixture(scope="module")
def people(stack: AccountsStack) -> dict[str, str]:
    """One person whose calls ring their real phone (a <Dial> with the number), one answered by the AI."""
    ring, token = stack.user("ring@example.com", hosted=HOSTED_RING, real_number=REAL_NUMBER)
    with stack.client("user-management", token) as users:
        changed = users.patch("/api/v1/me/preferences", json={"ai_enabled": False, "ai_off_action": "ring"})
        assert changed.status_code == 200, changed.text
    ai, _ = stack.user("ai@example.com", hosted=HOSTED_AI)
    return {"ring": ring, "ai": ai}


def gateway(stack: AccountsStack) -> httpx.Client:
    return httpx.Client(base_url=stack.url("phone-gateway"), timeout=30.0)


def voice_form(sid: str, dialled: str = HOSTED_RING) -> dict[str, str]:
    return {"CallSid": sid, "AccountSid": "AC" + "0" * 32, "From": CALLER, "To": dialled, "CallStatus": "ringing"}


def signed(stack: AccountsStack, path: str, form: dict[str, str], token: str = TWILIO_TOKEN) -> dict[str, str]:
    return {twilio_voice.SIGNATURE_HEADER: twilio_voice.sign(token, stack.url("phone-gateway") + path, form)}


def records(stack: AccountsStack, sid: str) -> list[dict[str, Any]]:
    return stack.query(
        "select id, status, decision, decision_reason, duration_seconds, ended_at from call_records"
        " where carrier_call_id = $1",
        sid,
    )


def test_forged_voice_webhooks_never_ring_the_real_number(stack: AccountsStack, people: dict[str, str]) -> None:
    attempts = {
        "unsigned": {},
        "wrong token": signed(stack, "/twilio/voice", voice_form("CA-f2"), token="guessed-token"),
        "signature of another call": signed(stack, "/twilio/voice", voice_form("CA-other")),
        "garbage": {twilio_voice.SIGNATURE_HEADER: "AAAA"},
    }
    with gateway(stack) as client:
        for n, (name, headers) in enumerate(attempts.items()):
            sid = "CA-f2" if name == "wrong token" else f"CA-forged-{n}"
            response = client.post("/twilio/voice", data=voice_form(sid), headers=headers)
            assert response.status_code == 403, name
            assert REAL_NUMBER not in response.text, name
            assert "<Dial" not in response.text, name
            assert records(stack, sid) == [], name
        # The same request signed by Twilio's token is answered with the <Dial>: the attack was worth trying.
        form = voice_form("CA-genuine")
        genuine = client.post("/twilio/voice", data=form, headers=signed(stack, "/twilio/voice", form))
    assert genuine.status_code == 200
    assert f"<Number>{REAL_NUMBER}</Number>" in genuine.text
    assert records(stack, "CA-genuine")[0]["decision"] == "ring"


def test_dial_status_must_be_signed_too(stack: AccountsStack, people: dict[str, str]) -> None:
    form = voice_form("CA-dial")
    with gateway(stack) as client:
        client.post("/twilio/voice", data=form, headers=signed(stack, "/twilio/voice", form)).raise_for_status()
        before = records(stack, "CA-dial")
        call_id = before[0]["id"]
        path = f"/twilio/dial-status?call_id={call_id}"
        forged = client.post(path, data={"DialCallStatus": "no-answer"})
    assert forged.status_code == 403
    assert records(stack, "CA-dial") == before  # not handed to the AI, not completed


def test_status_callbacks_cannot_write_impossible_values(stack: AccountsStack, people: dict[str, str]) -> None:
    sid = "CA-status"
    form = voice_form(sid, HOSTED_AI)
    with gateway(stack) as client:
        client.post("/twilio/voice", data=form, headers=signed(stack, "/twilio/voice", form)).raise_for_status()
        before = records(stack, sid)

        def status(fields: dict[str, str], *, sign: bool = True) -> httpx.Response:
            headers = signed(stack, "/twilio/status", fields) if sign else {}
            return client.post("/twilio/status", data=fields, headers=headers)

        huge = status({"CallSid": sid, "CallStatus": "completed", "CallDuration": "99999999"})
        negative = status({"CallSid": sid, "CallStatus": "completed", "CallDuration": "-5"})
        bogus = status({"CallSid": sid, "CallStatus": "hacked"})
        unsigned = status({"CallSid": sid, "CallStatus": "completed", "CallDuration": "10"}, sign=False)
        unknown = status({"CallSid": "CA-" + uuid.uuid4().hex, "CallStatus": "completed", "CallDuration": "10"})
        assert records(stack, sid) == before
        genuine = status({"CallSid": sid, "CallStatus": "completed", "CallDuration": "42"})
    assert huge.status_code == 422
    assert huge.json()["fields"][0]["field"] == "CallDuration"
    assert negative.status_code == 422
    assert bogus.status_code == 422
    assert bogus.json()["fields"][0]["field"] == "CallStatus"
    assert unsigned.status_code == 403
    assert unknown.status_code == 204  # ignored: nothing to update, and nothing is created
    assert genuine.status_code == 204
    after = records(stack, sid)[0]
    assert (after["status"], after["duration_seconds"]) == ("completed", 42.0)


def test_event_grid_and_acs_callbacks_need_the_secret(stack: AccountsStack, people: dict[str, str]) -> None:
    handshake = [{"eventType": VALIDATION_EVENT, "data": {"validationCode": "v-42"}}]
    call = [incoming_call_event(CALLER, HOSTED_RING)]
    with gateway(stack) as client:
        assert client.post("/webhook/azure-events", json=handshake).status_code == 403
        wrong = client.post("/webhook/azure-events", json=call, headers={webhook_auth.ACS_SECRET_HEADER: "guess"})
        bare = client.post("/webhook/azure-events", json=call)
        in_query = client.post(f"/webhook/azure-events?secret={ACS_SECRET}", json=handshake)
        in_header = client.post(
            "/webhook/azure-events", json=handshake, headers={webhook_auth.ACS_SECRET_HEADER: ACS_SECRET}
        )
        # A callback for an existing call: it would mark it in progress / completed.
        form = voice_form("CA-acs-victim", HOSTED_AI)
        client.post("/twilio/voice", data=form, headers=signed(stack, "/twilio/voice", form)).raise_for_status()
        before = records(stack, "CA-acs-victim")
        hang_up = [{"type": "Microsoft.Communication.CallDisconnected", "data": {}}]
        callback = client.post(f"/acs/callbacks?call_id={before[0]['id']}", json=hang_up)
    for refused in (wrong, bare):
        assert refused.status_code == 403
        assert REAL_NUMBER not in refused.text
    assert in_query.json() == {"validationResponse": "v-42"}
    assert in_header.json() == {"validationResponse": "v-42"}
    assert stack.query("select id from call_records where carrier = 'acs'") == []
    assert callback.status_code == 403
    assert records(stack, "CA-acs-victim") == before


def test_the_generic_webhook_needs_a_signature_of_its_body(stack: AccountsStack, people: dict[str, str]) -> None:
    body = json.dumps({"from": CALLER, "to": HOSTED_RING, "call_id": "generic-1"}).encode()
    good = webhook_auth.sign_body(HOOK_SECRET, body)
    with gateway(stack) as client:
        post = client.post
        headers = {"content-type": "application/json"}
        unsigned = post("/webhook/incoming-call", content=body, headers=headers)
        wrong = post("/webhook/incoming-call", content=body, headers={**headers, "X-Webhook-Signature": "sha256=00"})
        other = body.replace(b"generic-1", b"generic-2")
        replayed = post("/webhook/incoming-call", content=other, headers={**headers, "X-Webhook-Signature": good})
        assert stack.query("select id from call_records where carrier_call_id like 'generic-%'") == []
        genuine = post("/webhook/incoming-call", content=body, headers={**headers, "X-Webhook-Signature": good})
    for refused in (unsigned, wrong, replayed):
        assert refused.status_code == 403
        assert REAL_NUMBER not in refused.text
    assert genuine.status_code == 200
    assert genuine.json()["transfer_to"] == REAL_NUMBER


def test_ready_shows_each_carrier(stack: AccountsStack) -> None:
    status, body = stack.local.get(stack.url("phone-gateway") + "/ready")
    assert status == 200
    assert body["details"]["carriers"] == {"twilio": "configured", "acs": "configured", "webhook": "configured"}
