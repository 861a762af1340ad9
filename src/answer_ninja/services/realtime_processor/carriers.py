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
        self.hung_up = False  # we closed the stream on purpose (the AI or the person ended the call)

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
        self.hung_up = True  # before the close frame: phone-gateway may ask how the call ended as soon as it lands
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


class _MediaStream:
    """One carrier connection: the receive loop, protocol errors and the record are the same for every carrier."""

    carrier = "media"

    def __init__(self, websocket: WebSocket, runtime: VoiceRuntime) -> None:
        self.websocket = websocket
        self.runtime = runtime
        self.session: CallSession | None = None
        self.reframer = Reframer()

    async def handle(self, text: str) -> bool:
        """Act on one message; True when the stream is over."""
        raise NotImplementedError

    async def feed(self, pcm16k: bytes) -> None:
        if self.session is not None:
            for frame in self.reframer.push(pcm16k):
                await self.session.on_audio(frame)

    async def serve(self) -> None:
        await self.websocket.accept()
        try:
            while not await self.handle(await self.websocket.receive_text()):
                if self.session is not None and self.session.outcome is not None:
                    break
        except ProtocolError as error:
            log.warning("media_protocol_error", carrier=self.carrier, error=str(error))
            with contextlib.suppress(Exception):
                await self.websocket.close(code=POLICY_VIOLATION, reason=str(error)[:120])
        except (WebSocketDisconnect, RuntimeError):
            pass  # the carrier went away: the call is over
        finally:
            if self.session is not None:
                await self.runtime.release(self.session)
            if self.websocket.client_state == WebSocketState.CONNECTED:
                with contextlib.suppress(Exception):
                    await self.websocket.close()


class TwilioStream(_MediaStream):
    carrier = "twilio"

    def __init__(self, websocket: WebSocket, runtime: VoiceRuntime) -> None:
        super().__init__(websocket, runtime)
        self.inbound = MulawInbound()

    async def handle(self, text: str) -> bool:
        audio = twilio_media.media_payload(text)  # 50 a second: the fast path
        if audio is not None:
            await self.feed(self.inbound.decode(audio))
            return False
        message = twilio_media.parse(text)
        if isinstance(message, twilio_media.Start) and self.session is None:
            params = message.start.custom_parameters
            carrier = params.get("carrier") or "twilio"  # the loopback carrier speaks Twilio's protocol
            request = _call_request(params, carrier=carrier, carrier_call_id=message.start.call_sid)
            self.session = self.runtime.open(request, TwilioOutput(self.websocket, message.stream_sid))
            await self.session.start()
        elif isinstance(message, twilio_media.Media):
            await self.feed(self.inbound.decode(message.media.audio()))
        elif isinstance(message, twilio_media.Mark) and self.session is not None:
            self.session.on_mark(message.mark.name)
        elif isinstance(message, twilio_media.Dtmf) and self.session is not None:
            await self.session.on_dtmf(message.dtmf.digit)
        return isinstance(message, twilio_media.Stop)


class AcsStream(_MediaStream):
    """ACS connects to the transport URL phone-gateway gave it; our call id rides in its query string."""

    carrier = "acs"

    async def handle(self, text: str) -> bool:
        message = acs_media.parse(text)
        if isinstance(message, acs_media.AudioMetadata) and self.session is None:
            metadata = message.audio_metadata
            if metadata.sample_rate != 16000 or metadata.encoding != "PCM":
                raise ProtocolError("audioMetadata: only PCM 16 kHz mono is supported")
            query = self.websocket.query_params
            call_id = query.get("server_call_id") or metadata.subscription_id
            request = _call_request(query, carrier="acs", carrier_call_id=call_id)
            self.session = self.runtime.open(request, AcsOutput(self.websocket))
            await self.session.start()
        elif isinstance(message, acs_media.AudioData):
            await self.feed(message.audio_data.audio())
        return False


async def twilio_stream(websocket: WebSocket, runtime: VoiceRuntime) -> None:
    await TwilioStream(websocket, runtime).serve()


async def acs_stream(websocket: WebSocket, runtime: VoiceRuntime) -> None:
    await AcsStream(websocket, runtime).serve()
