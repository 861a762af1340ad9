"""The media WebSockets end to end over the carriers' protocols, on stand-in speech providers and a real database."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from starlette.websockets import WebSocketDisconnect

from answer_ninja.platform.db.engine import Database
from answer_ninja.platform.db.models import CallRecord, ConversationTurn
from answer_ninja.platform.settings import load_settings
from answer_ninja.services.realtime_processor.app import create_app
from answer_ninja.services.realtime_processor.providers import SpeechProviders
from answer_ninja.services.realtime_processor.replies import KeywordReplyStandIn
from answer_ninja.speech.standins import FixedDelayTextToSpeech, ToneSpeechToText, tone
from answer_ninja.speech.vad import EnergyVad
from answer_ninja.telephony import acs_media, twilio_media
from answer_ninja.telephony.codec import MULAW_FRAME_BYTES, PCM_FRAME_BYTES, frames, pcm16k_to_mulaw8k
from tests.harness.credentials import SECRETS, operator_headers, service_headers, stream_token
from tests.harness.servers import free_port

LINES = ["Hello, I am calling from the bank about a loan", "It has a very low interest rate", "Okay, bye then"]


def build_client(database_url: str, replies: KeywordReplyStandIn, data_dir: Path) -> TestClient:
    settings = load_settings(
        database_url=database_url,
        data_dir=data_dir,
        profile_analytics_url=f"http://127.0.0.1:{free_port()}",  # nothing there: the notification is best effort
        conversation_engine_url=f"http://127.0.0.1:{free_port()}",
        tts_presynthesize_templates=False,
        **SECRETS,
    )
    providers = SpeechProviders(vad_factory=EnergyVad, stt=ToneSpeechToText(LINES), tts=FixedDelayTextToSpeech())
    return TestClient(create_app(settings, providers=providers, replies=replies), headers=operator_headers())


@pytest.fixture
def replies() -> KeywordReplyStandIn:
    return KeywordReplyStandIn(max_turns=3)


@pytest.fixture
def client(sqlite_url: str, replies: KeywordReplyStandIn, tmp_path: Path) -> Iterator[TestClient]:
    with build_client(sqlite_url, replies, tmp_path) as test_client:
        yield test_client


class TwilioPeer:
    """Plays Twilio over a test WebSocket: sends frames, collects what the server sends, echoes marks."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.chunk = 0
        self.received: list[dict[str, Any]] = []
        self.closed = False

    def send_pcm(self, pcm16k: bytes) -> None:
        for frame in frames(pcm16k_to_mulaw8k(pcm16k), MULAW_FRAME_BYTES, pad=b"\xff"):
            self.ws.send_text(twilio_media.inbound_media_message("MZ1", frame, self.chunk))
            self.chunk += 1

    def drain(self, until_mark: bool = True) -> None:
        """Read what the server sent, up to and including a mark (echoed back as 'played')."""
        while True:
            message = json.loads(self.ws.receive_text())
            self.received.append(message)
            if message["event"] == "mark" and until_mark:
                self.ws.send_text(twilio_media.mark_message("MZ1", message["mark"]["name"]))
                return

    def listen_until_closed(self) -> None:
        """Keep the line open (silence) and read until the server closes it."""
        for _ in range(200):
            self.send_pcm(bytes(PCM_FRAME_BYTES))
            self.drain(until_mark=False)

    def events(self) -> list[str]:
        return [message["event"] for message in self.received]


def run_twilio_call(client: TestClient, call_id: str) -> TwilioPeer:
    with client.websocket_connect("/media/twilio") as ws:
        peer = TwilioPeer(ws)
        ws.send_text(twilio_media.connected_message())
        token = stream_token(call_id, language="en-US", carrier="loopback")
        params = {"token": token, "caller": "+12025550100"}
        ws.send_text(twilio_media.start_message("MZ1", "CA-test-1", params))
        peer.drain()  # the greeting
        for line in LINES:
            peer.send_pcm(bytes(PCM_FRAME_BYTES * 10))
            peer.send_pcm(tone(line, 1.2))
            peer.send_pcm(bytes(PCM_FRAME_BYTES * 25))  # 500 ms of silence ends the turn
            peer.drain()
        # The engine said to end: the server hangs up by closing the stream.
        with pytest.raises(WebSocketDisconnect):
            peer.listen_until_closed()
        peer.closed = True
    return peer


def wait_until_ended(replies: KeywordReplyStandIn, call_id: str) -> None:
    """The record is written just after the stream closes, in the server's task; the engine is told after it."""
    for _ in range(200):
        if call_id in replies.ended:
            return
        time.sleep(0.05)
    raise AssertionError(f"call {call_id} was never ended")


async def fetch(database_url: str, call_id: str) -> tuple[CallRecord | None, list[ConversationTurn]]:
    database = Database(database_url)
    try:
        async with database.session() as session:
            record = await session.get(CallRecord, call_id)
            turns = await session.execute(
                select(ConversationTurn)
                .where(ConversationTurn.call_id == call_id)
                .order_by(ConversationTurn.turn_index)
            )
            return record, list(turns.scalars())
    finally:
        await database.close()


def test_twilio_call_end_to_end_writes_the_call_record(
    client: TestClient, sqlite_url: str, replies: KeywordReplyStandIn
) -> None:
    peer = run_twilio_call(client, "call-twilio-1")
    assert peer.closed
    assert peer.events().count("mark") == 4  # greeting + three replies, each followed by its mark
    media = [message for message in peer.received if message["event"] == "media"]
    assert media
    # Whole 20 ms frames of mu-law, sent 100 ms to a message.
    assert all(len(base64.b64decode(m["media"]["payload"])) == 5 * MULAW_FRAME_BYTES for m in media)
    wait_until_ended(replies, "call-twilio-1")
    assert replies.ended == {"call-twilio-1": "max_turns"}

    record, turns = asyncio.run(fetch(sqlite_url, "call-twilio-1"))
    assert record is not None
    assert record.carrier == "loopback"
    assert record.carrier_call_id == "CA-test-1"
    assert record.outcome == "max_turns"
    assert record.status == "completed"
    caller_lines = [entry["text"] for entry in record.transcript if entry["speaker"] == "caller"]
    assert caller_lines == LINES
    replies_said = [entry["turn"] for entry in record.turn_timings if entry["kind"] == "reply"]
    assert len(replies_said) == 3
    for entry in record.turn_timings:
        if entry["kind"] == "reply":
            assert {"endpointing", "stt", "reply", "tts_first_byte", "send", "voice_to_voice"} <= set(entry)
    speakers = [(turn.turn_index, turn.speaker) for turn in turns]
    assert speakers[0] == (0, "ai")
    assert (1, "caller") in speakers
    assert (3, "ai") in speakers
    assert all(
        turn.timings_ms.get("voice_to_voice") is not None for turn in turns if turn.speaker == "ai" and turn.turn_index
    )


def test_existing_record_from_phone_gateway_is_completed_not_duplicated(
    client: TestClient, sqlite_url: str, replies: KeywordReplyStandIn
) -> None:
    async def create() -> None:
        database = Database(sqlite_url)
        async with database.session() as session:
            record = CallRecord(id="gw-call", carrier="twilio", carrier_call_id="CA-test-1",
                                caller_number="+12025550100", dialled_number="+12025550199", decision="ai")  # fmt: skip
            session.add(record)
            await session.commit()
        await database.close()

    asyncio.run(create())
    run_twilio_call(client, "gw-call")
    wait_until_ended(replies, "gw-call")
    record, _ = asyncio.run(fetch(sqlite_url, "gw-call"))
    assert record is not None
    assert record.carrier == "twilio"
    assert record.dialled_number == "+12025550199"
    assert record.outcome == "max_turns"
    assert len(record.transcript) >= 7


def test_bad_twilio_message_closes_with_invalid_payload(client: TestClient) -> None:
    with client.websocket_connect("/media/twilio") as ws:
        ws.send_text(json.dumps({"event": "media", "streamSid": "MZ1"}))
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_text()
    assert closed.value.code == 1007


def test_acs_media_stream_answers_in_pcm_and_stops_audio_on_barge_in(client: TestClient) -> None:
    token = stream_token("acs-1", language="en-US", carrier="acs")
    with client.websocket_connect(f"/media/acs?token={token}") as ws:
        ws.send_text(acs_media.metadata_message("sub-1"))
        greeting = json.loads(ws.receive_text())
        assert greeting["kind"] == "AudioData"
        assert len(base64.b64decode(greeting["audioData"]["data"])) == 5 * PCM_FRAME_BYTES
        audio = tone(LINES[0], 1.2) + bytes(PCM_FRAME_BYTES * 25)
        for frame in frames(audio, PCM_FRAME_BYTES):
            ws.send_text(acs_media.inbound_audio_message(frame, "t", "8:acs:caller"))
        # The reply is playing (no marks on ACS: it plays for its length in audio time); talk over it.
        for frame in frames(tone(LINES[1], 1.0), PCM_FRAME_BYTES):
            ws.send_text(acs_media.inbound_audio_message(frame, "t", "8:acs:caller"))
        kinds: list[str] = []
        for _ in range(2000):
            message = json.loads(ws.receive_text())
            kinds.append(message["kind"])
            if message["kind"] == "StopAudio":
                break
        assert "StopAudio" in kinds


def test_voice_status_and_unknown_call(client: TestClient) -> None:
    status = client.get("/api/v1/voice/status").json()
    assert status["stt"] == "tone-stt"
    assert status["active_calls"] == 0
    assert client.get("/api/v1/voice/calls/nope").status_code == 404


@pytest.mark.integration
def test_call_record_on_postgres(postgres_url: str, tmp_path: Path) -> None:
    replies = KeywordReplyStandIn(max_turns=3)
    with build_client(postgres_url, replies, tmp_path) as client:
        run_twilio_call(client, "pg-call")
        wait_until_ended(replies, "pg-call")
        body = client.get("/api/v1/voice/calls/pg-call").json()
    assert body["outcome"] == "max_turns"
    record, turns = asyncio.run(fetch(postgres_url, "pg-call"))
    assert record is not None
    assert len(turns) == 7


def test_twilio_stop_ends_the_call_as_hung_up_by_the_caller(
    client: TestClient, sqlite_url: str, replies: KeywordReplyStandIn
) -> None:
    with client.websocket_connect("/media/twilio") as ws:
        peer = TwilioPeer(ws)
        token = stream_token("stop-1", language="zh-CN")
        ws.send_text(twilio_media.start_message("MZ1", "CA-stop", {"token": token}))
        peer.drain()  # the greeting, in Mandarin
        peer.send_pcm(tone(LINES[0], 1.2) + bytes(PCM_FRAME_BYTES * 25))
        peer.drain()
        ws.send_text(twilio_media.stop_message("MZ1", "CA-stop"))
    wait_until_ended(replies, "stop-1")
    record, turns = asyncio.run(fetch(sqlite_url, "stop-1"))
    assert record is not None
    assert record.outcome == "caller_hung_up"
    assert record.carrier == "twilio"  # the token's carrier
    assert sorted((turn.turn_index, turn.speaker) for turn in turns) == [(0, "ai"), (1, "ai"), (1, "caller")]
    assert turns[0].text == "喂，您好，请问哪位？"


def test_a_stream_that_never_starts_is_refused_and_gives_its_slot_back(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from answer_ninja.services.realtime_processor import carriers

    monkeypatch.setattr(carriers, "START_TIMEOUT_SECONDS", 0.2)
    with client.websocket_connect("/media/twilio") as ws, pytest.raises(WebSocketDisconnect) as closed:
        ws.receive_text()  # nothing sent: no start, no token
    assert closed.value.code == 1008
    guard: carriers.StreamGuard = client.app.state.ctx.extras["stream_guard"]  # type: ignore[attr-defined]
    assert guard.open_streams == 0


def test_client_parameters_never_override_the_claims(client: TestClient, replies: KeywordReplyStandIn) -> None:
    token = stream_token("claims-1", user_id=None, language="zh-CN", max_call_seconds=60, carrier="twilio")
    forged = {"token": token, "call_id": "victim", "user_id": "someone", "max_call_seconds": "99999"}
    with client.websocket_connect("/media/twilio") as ws:
        ws.send_text(twilio_media.start_message("MZ1", "CA-claims", forged))
        ws.receive_text()  # the greeting: the call is live
        runtime = client.app.state.ctx.extras["voice"]  # type: ignore[attr-defined]
        assert set(runtime.sessions) == {"claims-1"}
        assert runtime.sessions["claims-1"].config.max_call_ms == 60_000
        ws.send_text(twilio_media.stop_message("MZ1", "CA-claims"))
    wait_until_ended(replies, "claims-1")
    assert "victim" not in replies.ended


def test_phone_gateway_learns_whether_the_ai_or_the_other_side_ended_a_stream(
    client: TestClient, replies: KeywordReplyStandIn
) -> None:
    """``/ending`` decides between hanging up and the person's fallback (phone-gateway's after-stream)."""
    gateway = service_headers("phone-gateway", "realtime-processor")
    run_twilio_call(client, "ended-by-ai")  # the AI says goodbye after its third reply and closes the stream
    wait_until_ended(replies, "ended-by-ai")
    with client.websocket_connect("/media/twilio") as ws:
        ws.send_text(
            twilio_media.start_message(
                "MZ2", "CA-gone", {"token": stream_token("ended-by-caller", language="en-US", carrier="loopback")}
            )
        )
        TwilioPeer(ws).drain()
        ws.send_text(twilio_media.stop_message("MZ2", "CA-gone"))  # the stream ends from the carrier's side
    wait_until_ended(replies, "ended-by-caller")

    by_ai = client.get("/internal/v1/calls/ended-by-ai/ending", headers=gateway)
    assert by_ai.status_code == 200, by_ai.text
    assert by_ai.json() == {"call_id": "ended-by-ai", "live": False, "outcome": "max_turns", "hung_up": True}
    by_caller = client.get("/internal/v1/calls/ended-by-caller/ending", headers=gateway).json()
    assert (by_caller["outcome"], by_caller["hung_up"]) == ("caller_hung_up", False)
    assert client.get("/internal/v1/calls/never-seen/ending", headers=gateway).status_code == 404
    assert client.get("/internal/v1/calls/ended-by-ai/ending", headers={}).status_code == 401
    console = service_headers("console", "realtime-processor")
    assert client.get("/internal/v1/calls/ended-by-ai/ending", headers=console).status_code == 403
