"""Twilio Media Streams wire format (bidirectional ``<Connect><Stream>``), both directions.

Twilio -> us: ``connected``, ``start`` (streamSid, callSid, customParameters, mediaFormat), ``media`` (base64
mu-law 8 kHz, 20 ms), ``dtmf``, ``mark`` (echoed when the audio before it has played, or was cleared), ``stop``.
us -> Twilio: ``media``, ``mark`` and ``clear``. The builders for Twilio's side serve the caller simulator.
"""

from __future__ import annotations

import base64
import json
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError


class _Message(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")


class MediaFormat(_Message):
    encoding: str = "audio/x-mulaw"
    sample_rate: int = Field(8000, alias="sampleRate")
    channels: int = 1


class StartInfo(_Message):
    stream_sid: str = Field(alias="streamSid")
    account_sid: str = Field("", alias="accountSid")
    call_sid: str = Field(alias="callSid")
    tracks: list[str] = Field(default_factory=lambda: ["inbound"])
    custom_parameters: dict[str, str] = Field(default_factory=dict, alias="customParameters")
    media_format: MediaFormat = Field(default_factory=MediaFormat, alias="mediaFormat")


class MediaInfo(_Message):
    track: str = "inbound"
    chunk: int = 0
    timestamp: int = 0
    payload: str

    def audio(self) -> bytes:
        return base64.b64decode(self.payload)


class Connected(_Message):
    event: Literal["connected"]
    protocol: str = "Call"


class Start(_Message):
    event: Literal["start"]
    stream_sid: str = Field(alias="streamSid")
    start: StartInfo


class Media(_Message):
    event: Literal["media"]
    stream_sid: str = Field("", alias="streamSid")
    media: MediaInfo


class DtmfInfo(_Message):
    digit: str


class Dtmf(_Message):
    event: Literal["dtmf"]
    dtmf: DtmfInfo


class MarkInfo(_Message):
    name: str


class Mark(_Message):
    event: Literal["mark"]
    mark: MarkInfo


class Stop(_Message):
    event: Literal["stop"]


class Clear(_Message):
    """Only ever sent by us; parsed by the simulator playing Twilio's part."""

    event: Literal["clear"]


TwilioMessage = Annotated[Connected | Start | Media | Dtmf | Mark | Stop | Clear, Field(discriminator="event")]
_ADAPTER: TypeAdapter[TwilioMessage] = TypeAdapter(TwilioMessage)
T = TypeVar("T")


class ProtocolError(ValueError):
    """A frame that is not a Twilio Media Streams message (the connection is closed with a policy error)."""


def media_payload(text: str | bytes) -> bytes | None:
    """The fast path for the 50-a-second ``media`` messages: their audio, or None for any other message.

    Plain ``json`` + dict access costs half of a full model validation; malformed media falls through to
    :func:`parse`, which names the bad field.
    """
    try:
        data = json.loads(text)
        if data.get("event") == "media":
            return base64.b64decode(data["media"]["payload"], validate=True)
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    return None


def validate_message(adapter: TypeAdapter[T], text: str | bytes, protocol: str) -> T:
    """Validate one JSON message; a bad one raises ProtocolError naming the first bad field."""
    try:
        return adapter.validate_json(text)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "message"
        raise ProtocolError(f"invalid {protocol} message: {field}: {first['msg']}") from None


def parse(text: str | bytes) -> TwilioMessage:
    return validate_message(_ADAPTER, text, "Twilio media")


def _dump(message: dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"))


# --- what the server (we) sends ---
def media_message(stream_sid: str, mulaw: bytes) -> str:
    return _dump({"event": "media", "streamSid": stream_sid, "media": {"payload": base64.b64encode(mulaw).decode()}})


def mark_message(stream_sid: str, name: str) -> str:
    return _dump({"event": "mark", "streamSid": stream_sid, "mark": {"name": name}})


def clear_message(stream_sid: str) -> str:
    return _dump({"event": "clear", "streamSid": stream_sid})


# --- what Twilio sends (the caller simulator and tests play Twilio) ---
def connected_message() -> str:
    return _dump({"event": "connected", "protocol": "Call", "version": "1.0.0"})


def start_message(stream_sid: str, call_sid: str, parameters: dict[str, str], account_sid: str = "AC0") -> str:
    return _dump(
        {
            "event": "start",
            "sequenceNumber": "1",
            "streamSid": stream_sid,
            "start": {
                "streamSid": stream_sid,
                "accountSid": account_sid,
                "callSid": call_sid,
                "tracks": ["inbound"],
                "customParameters": parameters,
                "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
            },
        }
    )


def inbound_media_message(stream_sid: str, mulaw: bytes, chunk: int) -> str:
    payload = base64.b64encode(mulaw).decode()
    media = {"track": "inbound", "chunk": str(chunk), "timestamp": str(chunk * 20), "payload": payload}
    return _dump({"event": "media", "streamSid": stream_sid, "media": media})


def dtmf_message(stream_sid: str, digit: str) -> str:
    return _dump({"event": "dtmf", "streamSid": stream_sid, "dtmf": {"track": "inbound_track", "digit": digit}})


def stop_message(stream_sid: str, call_sid: str) -> str:
    return _dump({"event": "stop", "streamSid": stream_sid, "stop": {"callSid": call_sid}})
