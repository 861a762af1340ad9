"""Twilio Media Streams messages, as Twilio documents them."""

from __future__ import annotations

import base64
import json

import pytest

from answer_ninja.telephony import twilio_media as tm

# Samples in the shape of Twilio's documentation (Media Streams: WebSocket messages).
START = {
    "event": "start",
    "sequenceNumber": "1",
    "start": {
        "accountSid": "ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
        "streamSid": "MZXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
        "callSid": "CAXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
        "tracks": ["inbound"],
        "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
        "customParameters": {"call_id": "c1", "language": "en-US"},
    },
    "streamSid": "MZXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
}
MEDIA = {
    "event": "media",
    "sequenceNumber": "3",
    "media": {"track": "inbound", "chunk": "1", "timestamp": "5", "payload": base64.b64encode(b"\xff" * 160).decode()},
    "streamSid": "MZXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
}


def test_parses_every_event_twilio_sends() -> None:
    assert isinstance(
        tm.parse(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"})), tm.Connected
    )
    start = tm.parse(json.dumps(START))
    assert isinstance(start, tm.Start)
    assert start.start.call_sid.startswith("CA")
    assert start.start.custom_parameters == {"call_id": "c1", "language": "en-US"}
    assert start.start.media_format.sample_rate == 8000
    media = tm.parse(json.dumps(MEDIA))
    assert isinstance(media, tm.Media)
    assert media.media.audio() == b"\xff" * 160
    mark = tm.parse(json.dumps({"event": "mark", "streamSid": "MZ1", "sequenceNumber": "4", "mark": {"name": "t1-1"}}))
    assert isinstance(mark, tm.Mark)
    assert mark.mark.name == "t1-1"
    dtmf = tm.parse(json.dumps({"event": "dtmf", "streamSid": "MZ1", "dtmf": {"track": "inbound_track", "digit": "1"}}))
    assert isinstance(dtmf, tm.Dtmf)
    assert dtmf.dtmf.digit == "1"
    stop = tm.parse(json.dumps({"event": "stop", "streamSid": "MZ1", "stop": {"callSid": "CA1"}}))
    assert isinstance(stop, tm.Stop)


def test_messages_we_send_are_what_twilio_expects() -> None:
    media = json.loads(tm.media_message("MZ1", b"\x00\x01"))
    assert media == {"event": "media", "streamSid": "MZ1", "media": {"payload": "AAE="}}
    assert json.loads(tm.mark_message("MZ1", "t1-1")) == {"event": "mark", "streamSid": "MZ1", "mark": {"name": "t1-1"}}
    assert json.loads(tm.clear_message("MZ1")) == {"event": "clear", "streamSid": "MZ1"}


def test_simulator_side_builders_round_trip() -> None:
    start = tm.parse(tm.start_message("MZ1", "CA1", {"call_id": "x"}))
    assert isinstance(start, tm.Start)
    assert start.start.custom_parameters["call_id"] == "x"
    media = tm.parse(tm.inbound_media_message("MZ1", b"\x7f" * 160, chunk=7))
    assert isinstance(media, tm.Media)
    assert media.media.chunk == 7
    assert media.media.timestamp == 140


@pytest.mark.parametrize(
    ("message", "field"),
    [
        ({"event": "media", "streamSid": "MZ1"}, "media"),
        ({"event": "start", "streamSid": "MZ1", "start": {"streamSid": "MZ1"}}, "callSid"),
        ({"event": "bogus"}, "event"),
        ({"no_event": 1}, "event"),
    ],
)
def test_bad_messages_raise_naming_the_field(message: dict[str, object], field: str) -> None:
    with pytest.raises(tm.ProtocolError, match=field):
        tm.parse(json.dumps(message))


def test_non_json_is_a_protocol_error() -> None:
    with pytest.raises(tm.ProtocolError):
        tm.parse("not json")
