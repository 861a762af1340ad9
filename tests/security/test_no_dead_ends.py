"""No call meets a dead end (issue 10): with realtime-processor stopped, restarting, or killed mid-call, every AI
call reaches the person's fallback (their real number rings, then voicemail; or voicemail), and its record says
so; a call the AI ends on purpose is hung up, never rung through to the person.

The real stack (``answer-ninja up`` on free ports: user-management, phone-gateway, realtime-processor,
conversation-engine on PostgreSQL and Redis); the loopback carrier plays Twilio: it places the call, opens the
media stream the TwiML names, requests the ``<Connect action>`` when the stream ends, and runs what comes back.
The supervisor stops, restarts and SIGKILLs realtime-processor (the restart is what the responder's local platform
asks the supervisor for).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
import pytest
import redis
import websockets

from answer_ninja.telephony import twilio_media
from answer_ninja.telephony.codec import MULAW_FRAME_BYTES
from answer_ninja.telephony.loopback import LoopbackAnswer, LoopbackCarrier
from tests.harness.credentials import operator_headers
from tests.harness.servers import PostgresServer, RedisServer
from tests.harness.stack import LocalStack

pytestmark = pytest.mark.integration

SERVICES = ("user-management", "conversation-engine", "realtime-processor", "phone-gateway")
TWILIO_TOKEN = "test-twilio-auth-token-0123456789"
PASSWORD = "correct horse battery"
RING_HOSTED, RING_REAL = "+8610011110001", "+8613911110001"
VOICEMAIL_HOSTED, VOICEMAIL_REAL = "+8610011110002", "+8613911110002"
CALLER = "+8613800138000"
SILENCE = b"\xff" * MULAW_FRAME_BYTES  # 20 ms of mu-law silence
StreamSide = Callable[[LoopbackAnswer, str], Awaitable[str]]


@dataclass
class Journey:
    """One call as the caller lived it: every TwiML answer in order, and how the media stream went."""

    sid: str
    answers: list[LoopbackAnswer] = field(default_factory=list)
    stream: str = "none"  # none | refused | closed_by_ai | dropped
    answer_ms: float = 0.0  # the voice webhook's answer
    after_stream_ms: float | None = None  # the <Connect> action's answer (the gateway asks realtime-processor)

    @property
    def decisions(self) -> list[str]:
        return [answer.decision for answer in self.answers]

    @property
    def reached_fallback(self) -> bool:
        return any(decision in ("transfer", "voicemail") for decision in self.decisions)

    @property
    def rang(self) -> list[str | None]:
        return [answer.transfer_number for answer in self.answers if answer.decision == "transfer"]


@dataclass
class Stack:
    local: LocalStack
    database_url: str

    def url(self, service: str) -> str:
        return self.local.url(service)

    def supervisor(self, path: str, body: Any = None) -> Any:
        status, answer = LocalStack.post(f"{self.local.supervisor_url}{path}", body, timeout=60.0)
        assert status == 200, answer
        return answer

    def media_ready(self) -> bool:
        return LocalStack.get(self.url("realtime-processor") + "/ready")[0] == 200

    def wait_media(self, *, up: bool, timeout: float = 240.0) -> None:
        deadline = time.monotonic() + timeout
        while self.media_ready() != up:
            assert time.monotonic() < deadline, f"realtime-processor never {'up' if up else 'down'}\n" + (
                self.local.log_tail()
            )
            time.sleep(0.2)

    def records(self, sid: str) -> dict[str, Any]:
        async def run() -> list[dict[str, Any]]:
            connection = await asyncpg.connect(self.database_url.replace("+asyncpg", ""))
            try:
                rows = await connection.fetch("select * from call_records where carrier_call_id = $1", sid)
                # asyncpg hands JSON columns over as text
                return [
                    {key: json.loads(value) if key == "details" and isinstance(value, str) else value
                     for key, value in row.items()}
                    for row in rows
                ]  # fmt: skip
            finally:
                await connection.close()

        deadline = time.monotonic() + 20
        while True:  # realtime-processor writes the outcome just after the stream closes
            rows = asyncio.run(run())
            assert len(rows) == 1, rows
            if rows[0]["outcome"] is not None or time.monotonic() > deadline:
                return rows[0]
            time.sleep(0.2)

    def call(self, dialled: str, stream_side: StreamSide) -> Journey:
        return asyncio.run(self._call(dialled, stream_side))

    async def _call(self, dialled: str, stream_side: StreamSide) -> Journey:
        """Place a call and follow it as Twilio would, the person never answering the ring."""
        journey = Journey("CA" + uuid.uuid4().hex)
        carrier = LoopbackCarrier(self.url("phone-gateway"), auth_token=TWILIO_TOKEN)
        try:
            started = time.perf_counter()
            answer = await carrier.place_call(caller=CALLER, dialled=dialled, call_sid=journey.sid)
            journey.answer_ms = (time.perf_counter() - started) * 1000
            journey.answers.append(answer)
            if answer.decision == "ai":
                journey.stream = await stream_side(answer, journey.sid)
                started = time.perf_counter()
                after = await carrier.stream_ended(answer, call_sid=journey.sid)
                journey.after_stream_ms = (time.perf_counter() - started) * 1000
                assert after is not None, "an AI answer without a <Connect action>: the call would just end"
                answer = after
                journey.answers.append(answer)
            while answer.decision in ("transfer", "voicemail"):
                if answer.decision == "transfer":
                    answer = await carrier.report_dial_result(answer, dial_status="no-answer")
                else:
                    answer = await carrier.leave_voicemail(answer, call_sid=journey.sid, seconds=4)
                journey.answers.append(answer)
        finally:
            await carrier.aclose()
        return journey


def _person(stack: Stack, email: str, hosted: str, real: str, fallback: str) -> None:
    with httpx.Client(base_url=stack.url("user-management"), timeout=30.0) as users:
        body = {"email": email, "password": PASSWORD, "hosted_numbers": [hosted], "real_number": real}
        assert users.post("/api/v1/auth/register", json=body).status_code == 202
        for number, purpose in ((hosted, "hosted"), (real, "forward")):
            vouched = users.post(
                "/api/v1/operator/numbers/verified",
                json={"email": email, "number": number, "purpose": purpose},
                headers=operator_headers(),
            )
            assert vouched.status_code == 200, vouched.text
        token = users.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD}).json()["access_token"]
        changed = users.patch(
            "/api/v1/me/preferences", json={"fallback": fallback}, headers={"Authorization": f"Bearer {token}"}
        )
        assert changed.status_code == 200, changed.text
        assert changed.json()["fallback"] == fallback


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory, postgres_server: PostgresServer, redis_server: RedisServer
) -> Iterator[Stack]:
    database_url = postgres_server.create_database("deadends_" + uuid.uuid4().hex[:10])
    client = redis.Redis.from_url(redis_server.url)
    for key in client.scan_iter("routing:*"):
        client.delete(key)
    client.close()
    local = LocalStack(
        tmp_path_factory.mktemp("deadends"),
        services=SERVICES,
        env={
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_server.url,
            "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
            # A silent caller is asked once, then told goodbye: the AI ends the call in seconds of audio.
            "SILENCE_PROMPT_SECONDS": "1",
            "SILENCE_GOODBYE_SECONDS": "1",
            "TTS_PRESYNTHESIZE_TEMPLATES": "false",
        },
    )
    local.start(timeout=300)
    try:
        stack = Stack(local, database_url)
        _person(stack, "ring@example.com", RING_HOSTED, RING_REAL, "ring")
        _person(stack, "voicemail@example.com", VOICEMAIL_HOSTED, VOICEMAIL_REAL, "voicemail")
        yield stack
    finally:
        local.stop()


# --- the media side of a call, as the carrier plays it --------------------------------------------------------


async def dead_stream(answer: LoopbackAnswer, sid: str) -> str:
    """The TwiML named a stream while realtime-processor was gone: the carrier cannot open it."""
    try:
        async with asyncio.timeout(10):
            async with websockets.connect(str(answer.stream_url)) as ws:
                await ws.close()  # it came back in the meantime: the stream still ends without the AI ending it
                return "dropped"
    except (OSError, TimeoutError, websockets.InvalidHandshake):
        return "refused"


async def _open(answer: LoopbackAnswer, sid: str) -> Any:
    ws = await websockets.connect(str(answer.stream_url), max_size=None)
    stream_sid = "MZ" + uuid.uuid4().hex
    await ws.send(twilio_media.connected_message())
    await ws.send(twilio_media.start_message(stream_sid, sid, dict(answer.parameters)))
    return ws, stream_sid


async def _until_closed(ws: Any, stream_sid: str, *, pace: float, seconds: float) -> str:
    """Send silence (``pace`` seconds per frame; 0 = as fast as the server takes it) until the server closes."""

    async def speak() -> None:
        while True:
            await ws.send(twilio_media.media_message(stream_sid, SILENCE))
            await asyncio.sleep(pace)

    talking = asyncio.create_task(speak())
    try:
        async with asyncio.timeout(seconds):
            async for _ in ws:
                pass
    except websockets.ConnectionClosedError:
        return "dropped"
    finally:
        talking.cancel()
        await asyncio.gather(talking, return_exceptions=True)
    return "closed_by_ai" if ws.close_code == 1000 else "dropped"


async def silent_caller(answer: LoopbackAnswer, sid: str) -> str:
    """The caller says nothing: the AI prompts once, says goodbye and hangs up (closes the stream, code 1000)."""
    ws, stream_sid = await _open(answer, sid)
    # 2 ms per 20 ms frame: ten times real time, so the AI's silence timers (audio time) run out in seconds.
    return await _until_closed(ws, stream_sid, pace=0.002, seconds=120)


def killed_mid_call(stack: Stack) -> StreamSide:
    async def side(answer: LoopbackAnswer, sid: str) -> str:
        """The AI is on the call (its greeting has arrived) when realtime-processor is SIGKILLed."""
        ws, stream_sid = await _open(answer, sid)
        async with asyncio.timeout(60):
            while True:  # the greeting: the AI is on the call
                await ws.send(twilio_media.media_message(stream_sid, SILENCE))
                message = twilio_media.parse(await ws.recv())
                if isinstance(message, twilio_media.Media):
                    break
        await asyncio.to_thread(stack.supervisor, "/services/realtime-processor/signal", {"signal": "SIGKILL"})
        return await _until_closed(ws, stream_sid, pace=0.02, seconds=30)

    return side


# --- the tests -------------------------------------------------------------------------------------------------


def _assert_fallback(stack: Stack, journey: Journey, *, route: str, reasons: set[str]) -> dict[str, Any]:
    assert journey.reached_fallback, journey.decisions
    assert journey.decisions[-1] == "hangup", journey.decisions  # the voicemail (or the ring) ended the call
    record = stack.records(journey.sid)
    fallback = record["details"].get("fallback")
    assert record["outcome"] == route, record
    assert fallback is not None, record["details"]
    assert fallback["reason"] in reasons, record["details"]
    return record


def test_an_ai_call_the_ai_ends_is_hung_up_and_never_rings_the_person(stack: Stack) -> None:
    journey = stack.call(RING_HOSTED, silent_caller)
    print("FIGURES ai-ended:", journey.decisions, f"after-stream {journey.after_stream_ms:.1f} ms")
    assert journey.stream == "closed_by_ai"
    assert journey.decisions == ["ai", "hangup"], journey.decisions
    assert journey.rang == []
    record = stack.records(journey.sid)
    assert record["outcome"] == "caller_silent"
    assert "fallback" not in (record["details"] or {})
    assert record["details"].get("ended_by") == "ai"


def test_calls_before_during_and_after_realtime_processor_restarts_all_reach_the_fallback(stack: Stack) -> None:
    stack.supervisor("/services/realtime-processor/stop")
    # Before phone-gateway has noticed (its probe runs every second): it may still hand out the stream.
    first = stack.call(RING_HOSTED, dead_stream)
    record = _assert_fallback(stack, first, route="fallback_voicemail", reasons={"media_unavailable", "stream_failed"})
    assert first.rang == [RING_REAL]  # the person's own number rang first, then the voicemail took the message
    assert record["details"]["voicemail"]["duration_seconds"] == 4

    # While it is down: the fallback at once, without a stream.
    time.sleep(1.5)
    down = stack.call(VOICEMAIL_HOSTED, dead_stream)
    assert down.decisions == ["voicemail", "hangup"], down.decisions
    assert "留言" in (down.answers[0].prompt or "")  # the person's language (zh-CN)
    _assert_fallback(stack, down, route="fallback_voicemail", reasons={"media_unavailable"})

    # The restart (what the responder asks of the supervisor): calls while it starts, then after it is ready.
    stack.supervisor("/services/realtime-processor/start")
    during: list[Journey] = []
    deadline = time.monotonic() + 240
    while not stack.media_ready():
        assert time.monotonic() < deadline, stack.local.log_tail()
        during.append(stack.call(RING_HOSTED, dead_stream))
        time.sleep(0.5)
    assert during, "realtime-processor was ready at once: nothing was tried during the restart"
    for journey in during:
        _assert_fallback(stack, journey, route="fallback_voicemail", reasons={"media_unavailable", "stream_failed"})
        assert journey.rang == [RING_REAL]

    print(  # figures for the closing note (pytest -s)
        "FIGURES before:", first.decisions, f"answer {first.answer_ms:.1f} ms, after {first.after_stream_ms} ms;",
        "down:", down.decisions, f"answer {down.answer_ms:.1f} ms;",
        f"during the restart: {len(during)} calls,", sorted({tuple(j.decisions) for j in during}),
        f"answers {min(j.answer_ms for j in during):.1f}-{max(j.answer_ms for j in during):.1f} ms",
    )  # fmt: skip
    time.sleep(1.5)  # phone-gateway's probe sees it up
    after = stack.call(RING_HOSTED, silent_caller)
    assert after.decisions == ["ai", "hangup"], after.decisions
    assert stack.records(after.sid)["outcome"] == "caller_silent"


def test_a_live_call_whose_realtime_processor_is_killed_continues_to_the_fallback(stack: Stack) -> None:
    stack.wait_media(up=True)
    time.sleep(1.5)
    journey = stack.call(RING_HOSTED, killed_mid_call(stack))
    print("FIGURES killed mid-call:", journey.decisions, f"after-stream {journey.after_stream_ms:.1f} ms")
    assert journey.stream == "dropped"
    assert journey.decisions[:2] == ["ai", "transfer"], journey.decisions
    record = _assert_fallback(stack, journey, route="fallback_voicemail", reasons={"stream_failed"})
    assert journey.rang == [RING_REAL]
    assert record["details"]["voicemail"]["duration_seconds"] == 4
    stack.wait_media(up=True)  # the supervisor brings it back (restartPolicy: Always) for whatever runs next
