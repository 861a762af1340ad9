"""The media WebSocket endpoints: Twilio Media Streams (/media/twilio) and ACS media streaming (/media/acs)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Mapping

from fastapi import WebSocket, WebSocketDisconnect
from starlette.websockets import WebSocketState

from answer_ninja.platform.logging import get_logger
from answer_ninja.services.realtime_processor.runtime import CallRequest, VoiceRuntime
from answer_ninja.services.realtime_processor.session import CallSession
from answer_ninja.telephony import acs_media, twilio_media
from answer_ninja.telephony.codec import (
    MULAW_FRAME_BYTES,
    PCM_FRAME_BYTES,
    MulawInbound,
    Reframer,
    frames,
    pcm16k_to_mulaw8k,
)
from answer_ninja.telephony.twilio_media import ProtocolError

log = get_logger(__name__)

# WebSocket close code for a peer that breaks the protocol (RFC 6455 "policy violation").
POLICY_VIOLATION = 1008


class _WebSocketOutput:
    def __init__(self, websocket: WebSocket) -> None:
        self.websocket = websocket
        self.closed = False

    async def _send(self, text: str) -> None:
        if self.closed:
            return
        try:
            await self.websocket.send_text(text)
        except (WebSocketDisconnect, RuntimeError):
            self.closed = True

    async def hangup(self) -> None:
        """Closing the stream ends a ``<Connect><Stream>`` call (no TwiML follows it) and an ACS media session."""
        if self.closed:
            return
        self.closed = True
        with contextlib.suppress(Exception):
            await self.websocket.close(code=1000)


# Outbound audio goes in 100 ms messages: Twilio plays media of any length in order, and five times fewer
# messages is five times less WebSocket work per reply (the receiver is not paced by our message size).
OUTBOUND_MESSAGE_MS = 100


class TwilioOutput(_WebSocketOutput):
    supports_marks = True

    def __init__(self, websocket: WebSocket, stream_sid: str) -> None:
        super().__init__(websocket)
        self.stream_sid = stream_sid

    async def send_audio(self, pcm16k: bytes) -> None:
        chunk = MULAW_FRAME_BYTES * OUTBOUND_MESSAGE_MS // 20
        for frame in frames(pcm16k_to_mulaw8k(pcm16k), chunk, pad=b"\xff"):
            await self._send(twilio_media.media_message(self.stream_sid, frame))

    async def send_mark(self, name: str) -> None:
        await self._send(twilio_media.mark_message(self.stream_sid, name))

    async def clear(self) -> None:
        await self._send(twilio_media.clear_message(self.stream_sid))


class AcsOutput(_WebSocketOutput):
    supports_marks = False

    async def send_audio(self, pcm16k: bytes) -> None:
        for frame in frames(pcm16k, PCM_FRAME_BYTES * OUTBOUND_MESSAGE_MS // 20):
            await self._send(acs_media.audio_message(frame))

    async def send_mark(self, name: str) -> None:
        return None

    async def clear(self) -> None:
        await self._send(acs_media.stop_audio_message())


def _float_or_none(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


def _call_request(params: Mapping[str, str], *, carrier: str, carrier_call_id: str) -> CallRequest:
    """Our call's identity, from Twilio's <Parameter>s or the ACS transport URL's query (same names)."""
    return CallRequest(
        call_id=params.get("call_id") or uuid.uuid4().hex,
        carrier=carrier,
        carrier_call_id=carrier_call_id,
        user_id=params.get("user_id") or None,
        persona=params.get("persona") or "polite",
        language=params.get("language") or "zh-CN",
        max_call_seconds=_float_or_none(params.get("max_call_seconds")),
        caller=params.get("caller", ""),
        dialled=params.get("dialled", ""),
    )


async def twilio_stream(websocket: WebSocket, runtime: VoiceRuntime) -> None:
    await websocket.accept()
    session: CallSession | None = None
    inbound = MulawInbound()
    reframer = Reframer()
    try:
        while True:
            text = await websocket.receive_text()
            audio = twilio_media.media_payload(text)
            if audio is not None:
                if session is not None:
                    for frame in reframer.push(inbound.decode(audio)):
                        await session.on_audio(frame)
                    if session.outcome is not None:
                        break
                continue
            message = twilio_media.parse(text)
            if isinstance(message, twilio_media.Start) and session is None:
                start = message.start
                params = start.custom_parameters
                carrier = params.get("carrier") or "twilio"  # the loopback carrier speaks Twilio's protocol
                request = _call_request(params, carrier=carrier, carrier_call_id=start.call_sid)
                session = runtime.open(request, TwilioOutput(websocket, message.stream_sid))
                await session.start()
            elif isinstance(message, twilio_media.Media) and session is not None:
                for frame in reframer.push(inbound.decode(message.media.audio())):
                    await session.on_audio(frame)
            elif isinstance(message, twilio_media.Mark) and session is not None:
                session.on_mark(message.mark.name)
            elif isinstance(message, twilio_media.Dtmf) and session is not None:
                await session.on_dtmf(message.dtmf.digit)
            elif isinstance(message, twilio_media.Stop):
                break
            if session is not None and session.outcome is not None:
                break
    except ProtocolError as error:
        log.warning("twilio_protocol_error", error=str(error))
        with contextlib.suppress(Exception):
            await websocket.close(code=POLICY_VIOLATION, reason=str(error)[:120])
    except (WebSocketDisconnect, RuntimeError):
        pass  # the carrier went away: the call is over
    finally:
        if session is not None:
            await runtime.release(session)
        if websocket.client_state == WebSocketState.CONNECTED:
            with contextlib.suppress(Exception):
                await websocket.close()


async def acs_stream(websocket: WebSocket, runtime: VoiceRuntime) -> None:
    """ACS connects to the transport URL phone-gateway gave it; our call id rides in its query string."""
    await websocket.accept()
    query = websocket.query_params
    session: CallSession | None = None
    reframer = Reframer()
    try:
        while True:
            message = acs_media.parse(await websocket.receive_text())
            if isinstance(message, acs_media.AudioMetadata) and session is None:
                if message.audio_metadata.sample_rate != 16000 or message.audio_metadata.encoding != "PCM":
                    raise ProtocolError("audioMetadata: only PCM 16 kHz mono is supported")
                call_id = query.get("server_call_id") or message.audio_metadata.subscription_id
                request = _call_request(query, carrier="acs", carrier_call_id=call_id)
                session = runtime.open(request, AcsOutput(websocket))
                await session.start()
            elif isinstance(message, acs_media.AudioData) and session is not None:
                for frame in reframer.push(message.audio_data.audio()):
                    await session.on_audio(frame)
            if session is not None and session.outcome is not None:
                break
    except ProtocolError as error:
        log.warning("acs_protocol_error", error=str(error))
        with contextlib.suppress(Exception):
            await websocket.close(code=POLICY_VIOLATION, reason=str(error)[:120])
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        if session is not None:
            await runtime.release(session)
        if websocket.client_state == WebSocketState.CONNECTED:
            with contextlib.suppress(Exception):
                await websocket.close()
