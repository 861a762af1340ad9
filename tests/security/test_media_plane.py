"""Issue 10's attacks on the media plane, replayed against a real stack (`answer-ninja up`, PostgreSQL, Redis):
forged streams for another call (no token, another call's token with the victim's ids, a replayed token, an
expired one, a forged signature), bad frames, and a flood of sessions.

Each forged stream must be closed 1008 (or carried as the token's own call) and leave the victim's record, its
outcome and its transcript, exactly as the real call left it.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.request import urlopen

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from answer_ninja.telephony import twilio_media
from answer_ninja.telephony.codec import MULAW_FRAME_BYTES
from tests.harness.credentials import stream_token
from tests.harness.servers import PostgresServer, RedisServer
from tests.security.accounts_stack import AccountsStack, accounts_stack

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SERVICES = ("user-management", "phone-gateway", "profile-analytics", "conversation-engine", "realtime-processor")
HOSTED_VICTIM, HOSTED_ATTACKER = "+8610012340001", "+8610012340002"
CALLER = "+8613800138000"
MAX_SESSIONS = 3
SILENCE = b"\xff" * MULAW_FRAME_BYTES


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory, postgres_server: PostgresServer, redis_server: RedisServer
) -> Iterator[AccountsStack]:
    yield from accounts_stack(
        tmp_path_factory.mktemp("media"),
        postgres_server,
        redis_server,
        services=SERVICES,
        MEDIA_MAX_SESSIONS=str(MAX_SESSIONS),
        TTS_PRESYNTHESIZE_TEMPLATES="false",
    )


def media_url(stack: AccountsStack) -> str:
    return stack.url("realtime-processor").replace("http://", "ws://") + "/media/twilio"


def start(ws: ClientConnection, parameters: dict[str, str], call_sid: str = "CA-media") -> None:
    ws.send(twilio_media.connected_message())
    ws.send(twilio_media.start_message("MZ1", call_sid, parameters))


def close_code(ws: ClientConnection, *, send_silence: bool = False) -> int:
    """Read until the server closes the stream; its close code."""
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline:
            if send_silence:
                ws.send(twilio_media.inbound_media_message("MZ1", SILENCE, 0))
            ws.recv(timeout=0.5 if send_silence else 30)
    except TimeoutError:
        pass
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd is not None else 1006  # 1006: no close frame (abnormal)
    raise AssertionError("the server never closed the stream")


def call_row(stack: AccountsStack, call_id: str) -> dict[str, Any]:
    rows = stack.query(
        "select id, user_id, status, outcome, transcript, duration_seconds from call_records where id = $1", call_id
    )
    assert rows, f"no record {call_id}"
    row = rows[0]
    row["transcript"] = json.loads(row["transcript"]) if isinstance(row["transcript"], str) else row["transcript"]
    return row


def wait_for_outcome(stack: AccountsStack, call_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        row = call_row(stack, call_id)
        if row["outcome"]:
            return row
        time.sleep(0.2)
    raise AssertionError(f"call {call_id} has no outcome")


def real_call(stack: AccountsStack, dialled: str) -> dict[str, str]:
    """A call answered by the AI through phone-gateway, as Twilio places it: the TwiML's stream parameters."""
    answer, _ = stack.call(CALLER, dialled)
    assert answer.decision == "ai", answer.twiml
    assert answer.parameters.get("token"), "no stream token in the TwiML"
    return dict(answer.parameters)


@pytest.fixture(scope="module")
def people(stack: AccountsStack) -> dict[str, str]:
    victim, _ = stack.user("victim@example.com", hosted=HOSTED_VICTIM)
    attacker, _ = stack.user("attacker@example.com", hosted=HOSTED_ATTACKER)
    return {"victim": victim, "attacker": attacker}


@pytest.fixture(scope="module")
def victims_call(stack: AccountsStack, people: dict[str, str]) -> dict[str, Any]:
    """The victim's real call: the carrier streams with the gateway's token, hears the greeting, hangs up."""
    parameters = real_call(stack, HOSTED_VICTIM)
    with connect(media_url(stack)) as ws:
        start(ws, parameters)
        greeting = json.loads(ws.recv(timeout=60))
        assert greeting["event"] == "media"
        ws.send(twilio_media.stop_message("MZ1", "CA-media"))
    row = wait_for_outcome(stack, parameters["call_id"])
    assert row["user_id"] == people["victim"]
    assert row["outcome"] == "caller_hung_up"
    assert row["transcript"], "the greeting is in the transcript"
    return {"parameters": parameters, "row": row}


def assert_unchanged(stack: AccountsStack, victims_call: dict[str, Any]) -> None:
    assert call_row(stack, victims_call["parameters"]["call_id"]) == victims_call["row"]


def forged_parameters(victims_call: dict[str, Any], people: dict[str, str]) -> dict[str, str]:
    """What an attacker sends to take over the victim's call: its ids, a long call, another persona."""
    return {
        "call_id": victims_call["parameters"]["call_id"],
        "user_id": people["victim"],
        "max_call_seconds": "99999",
        "persona": "time_waster",
        "language": "en-US",
    }


def refusals(stack: AccountsStack) -> dict[str, float]:
    """realtime-processor's refused-streams counter, by reason (its /metrics)."""
    with urlopen(stack.url("realtime-processor") + "/metrics", timeout=5) as response:
        text = response.read().decode()
    counts: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("ai_ninja_media_streams_refused_total{"):
            reason = line.split('reason="', 1)[1].split('"', 1)[0]
            counts[reason] = float(line.rsplit(" ", 1)[1])
    return counts


def test_a_stream_without_a_token_is_refused_and_the_victims_call_is_unchanged(
    stack: AccountsStack, people: dict[str, str], victims_call: dict[str, Any]
) -> None:
    before = refusals(stack).get("missing", 0.0)
    with connect(media_url(stack)) as ws:
        start(ws, forged_parameters(victims_call, people))
        assert close_code(ws) == 1008
    with connect(media_url(stack)) as ws:  # audio before any start: no call, refused
        ws.send(twilio_media.inbound_media_message("MZ1", SILENCE, 0))
        assert close_code(ws) == 1008
    assert refusals(stack).get("missing", 0.0) == before + 2
    assert_unchanged(stack, victims_call)


def test_a_replayed_token_is_refused(stack: AccountsStack, victims_call: dict[str, Any]) -> None:
    with connect(media_url(stack)) as ws:
        start(ws, victims_call["parameters"])  # exactly what the real carrier sent, token and all
        assert close_code(ws) == 1008
    assert refusals(stack).get("replayed", 0.0) >= 1
    assert_unchanged(stack, victims_call)


def test_expired_and_forged_tokens_are_refused(
    stack: AccountsStack, people: dict[str, str], victims_call: dict[str, Any]
) -> None:
    call_id = victims_call["parameters"]["call_id"]
    expired = stream_token(call_id, user_id=people["victim"], language="zh-CN", now=time.time() - 600)
    forged = stream_token(call_id, user_id=people["victim"], language="zh-CN", secret="a guessed internal secret")
    for token, reason in ((expired, "expired"), (forged, "invalid")):
        before = refusals(stack).get(reason, 0.0)
        with connect(media_url(stack)) as ws:
            start(ws, {**forged_parameters(victims_call, people), "token": token})
            assert close_code(ws) == 1008
        assert refusals(stack).get(reason, 0.0) == before + 1
    assert_unchanged(stack, victims_call)


def test_another_calls_token_with_the_victims_ids_runs_only_that_call(
    stack: AccountsStack, people: dict[str, str], victims_call: dict[str, Any]
) -> None:
    """The attacker's own valid token, with the victim's call id, user and limits in the start message: the
    stream carries the attacker's call (the token's claims) and never touches the victim's."""
    own = real_call(stack, HOSTED_ATTACKER)
    with connect(media_url(stack)) as ws:
        start(ws, {**forged_parameters(victims_call, people), "token": own["token"]}, call_sid="CA-attacker")
        json.loads(ws.recv(timeout=60))  # the greeting of the attacker's own call
        ws.send(twilio_media.stop_message("MZ1", "CA-attacker"))
    row = wait_for_outcome(stack, own["call_id"])
    assert row["user_id"] == people["attacker"]
    assert row["outcome"] == "caller_hung_up"
    assert_unchanged(stack, victims_call)
    # Nothing was created under the victim by the forged ids.
    victims = stack.query("select id from call_records where user_id = $1", people["victim"])
    assert [r["id"] for r in victims] == [victims_call["parameters"]["call_id"]]


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (b"\x00\x01binary", 1003),  # a binary frame on a JSON stream
        ('{"event": "media", "streamSid": "MZ1", "media": {"payload": "***not base64***"}}', 1007),
        ("{not json", 1007),
        ('{"event": "teleport"}', 1007),  # an event Twilio does not have
    ],
    ids=["binary", "bad-base64", "invalid-json", "unknown-event"],
)
def test_a_bad_frame_closes_the_stream_cleanly_and_the_record_is_kept(
    stack: AccountsStack, people: dict[str, str], frame: str | bytes, code: int
) -> None:
    parameters = real_call(stack, HOSTED_ATTACKER)
    with connect(media_url(stack)) as ws:
        start(ws, parameters)
        json.loads(ws.recv(timeout=60))  # the call is live
        ws.send(frame)
        assert close_code(ws) == code
    row = wait_for_outcome(stack, parameters["call_id"])
    assert row["outcome"] == "media_protocol_error"
    assert row["status"] == "completed"
    assert row["transcript"], "the greeting said before the bad frame is kept"
    health, _ = stack.local.get(stack.url("realtime-processor") + "/health")
    assert health == 200


def test_the_session_cap_refuses_politely(stack: AccountsStack) -> None:
    before = refusals(stack).get("capacity", 0.0)
    with contextlib.ExitStack() as held:
        for _ in range(MAX_SESSIONS):
            held.enter_context(connect(media_url(stack)))
        time.sleep(0.3)  # the server has taken their slots
        with connect(media_url(stack)) as ws:
            assert close_code(ws) == 1013
    assert refusals(stack).get("capacity", 0.0) == before + 1
    time.sleep(0.3)
    with connect(media_url(stack)) as ws:  # slots are given back: a new stream is let in (then refused: no token)
        start(ws, {})
        assert close_code(ws) == 1008


def test_refusals_are_logged_by_reason_never_with_the_token(stack: AccountsStack, victims_call: dict[str, Any]) -> None:
    attempts: list[dict[str, str]] = [{}, victims_call["parameters"]]  # no token; the victim's spent token
    for parameters in attempts:
        with connect(media_url(stack)) as ws:
            start(ws, parameters)
            assert close_code(ws) == 1008
    time.sleep(0.5)  # the log line is flushed by the service's handler
    log = (stack.local.data_dir / "logs" / "realtime-processor.log").read_text(errors="replace")
    refused = [json.loads(line) for line in log.splitlines() if '"stream_refused"' in line]
    assert {entry["reason"] for entry in refused} >= {"missing", "replayed"}
    assert victims_call["parameters"]["token"] not in log
