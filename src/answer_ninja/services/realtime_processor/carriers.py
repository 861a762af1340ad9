"""The media WebSocket endpoints: Twilio Media Streams (/media/twilio) and ACS media streaming (/media/acs)."""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
from collections.abc import Mapping

from fastapi import WebSocket, WebSocketDisconnect
from starlette.websockets import WebSocketState

from answer_ninja.platform.auth.stream_tokens import StreamClaims, StreamTokenError, spend, verify_stream_token
from answer_ninja.platform.cache import Cache, MemoryCache
from answer_ninja.platform.logging import get_logger
from answer_ninja.services.realtime_processor import metrics
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

# WebSocket close codes (RFC 6455 7.4.1): no valid stream token = policy violation; a binary frame on a JSON
# stream = unsupported data; JSON, base64 or a message that is not the protocol's = invalid payload; the
# session cap = try again later (the carrier may retry; the call's fallback takes it meanwhile).
POLICY_VIOLATION = 1008
UNSUPPORTED_DATA = 1003
INVALID_PAYLOAD = 1007
TRY_AGAIN_LATER = 1013
# A carrier sends its start message (Twilio) or audio metadata (ACS) at once; a stream silent longer is refused.
START_TIMEOUT_SECONDS = 10.0


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


class StreamRefusedError(Exception):
    """The stream may not carry a call: closed with ``code`` and counted under ``reason`` (never the token)."""

    def __init__(self, reason: str, message: str, code: int = POLICY_VIOLATION) -> None:
        super().__init__(message)
        self.reason = reason
        self.code = code


class BadFrameError(Exception):
    """A frame that breaks the media protocol: the stream closes cleanly with ``code``; the call record is kept."""

    def __init__(self, kind: str, message: str, code: int) -> None:
        super().__init__(message)
        self.kind = kind
        self.code = code


def _call_request(claims: StreamClaims, params: Mapping[str, str], *, carrier_call_id: str) -> CallRequest:
    """Our call's identity and limits, from the signed claims only. ``params`` (Twilio's <Parameter>s or the ACS
    URL's query) may add the caller's number for the record and, for a probe call with no user whose token leaves
    the language open, the language; nothing else the client sends is read."""
    language = claims.language
    if not language:  # the gateway leaves it open only for a probe call, which has no user
        language = (params.get("language") if claims.user_id is None else None) or "zh-CN"
    return CallRequest(
        call_id=claims.call_id,
        carrier=claims.carrier,
        carrier_call_id=carrier_call_id,
        user_id=claims.user_id,
        persona=claims.persona,
        language=language,
        max_call_seconds=claims.max_call_seconds,
        caller=params.get("caller", ""),
        dialled=params.get("dialled", ""),
    )


class _MediaStream:
    """One carrier connection: the token, the receive loop, protocol errors and the record are the same for every
    carrier."""

    carrier = "media"

    def __init__(self, websocket: WebSocket, runtime: VoiceRuntime, guard: StreamGuard) -> None:
        self.websocket = websocket
        self.runtime = runtime
        self.guard = guard
        self.session: CallSession | None = None
        self.reframer = Reframer()

    async def handle(self, text: str) -> bool:
        """Act on one message; True when the stream is over."""
        raise NotImplementedError

    async def admit(self, token: str | None) -> StreamClaims:
        """The token's claims, spent (single use), or StreamRefusedError."""
        try:
            return await self.guard.admit(token)
        except StreamTokenError as error:
            raise StreamRefusedError(error.reason, str(error)) from None

    async def feed(self, pcm16k: bytes) -> None:
        if self.session is not None:
            for frame in self.reframer.push(pcm16k):
                await self.session.on_audio(frame)

    async def _next_message(self) -> str:
        """The next text frame; before the call starts, only for START_TIMEOUT_SECONDS (an idle connection must
        not hold one of the process's session slots)."""
        if self.session is not None:
            return await self._receive_text()
        try:
            async with asyncio.timeout(START_TIMEOUT_SECONDS):
                return await self._receive_text()
        except TimeoutError:
            raise StreamRefusedError("missing", "no start message: no stream token") from None

    async def _receive_text(self) -> str:
        message = await self.websocket.receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000))
        text = message.get("text")
        if text is None:
            raise BadFrameError("binary_frame", "binary frame on a JSON stream", UNSUPPORTED_DATA)
        return str(text)

    async def serve(self) -> None:
        await self.websocket.accept()
        if not self.guard.take_slot():
            await self._refuse(StreamRefusedError("capacity", "too many media streams here", TRY_AGAIN_LATER))
            return
        try:
            while not await self.handle(await self._next_message()):
                if self.session is not None and self.session.outcome is not None:
                    break
        except StreamRefusedError as refused:
            await self._refuse(refused)
        except (ProtocolError, BadFrameError, binascii.Error, ValueError) as error:
            await self._bad_frame(error)
        except (WebSocketDisconnect, RuntimeError):
            pass  # the carrier went away: the call is over
        finally:
            self.guard.release_slot()
            if self.session is not None:
                await self.runtime.release(self.session)
            if self.websocket.client_state == WebSocketState.CONNECTED:
                with contextlib.suppress(Exception):
                    await self.websocket.close()

    async def _refuse(self, refused: StreamRefusedError) -> None:
        metrics.STREAMS_REFUSED.labels(refused.reason).inc()
        log.warning("stream_refused", carrier=self.carrier, reason=refused.reason, detail=str(refused))
        with contextlib.suppress(Exception):
            await self.websocket.close(code=refused.code, reason=str(refused)[:120])

    async def _bad_frame(self, error: Exception) -> None:
        if isinstance(error, BadFrameError):
            kind, code = error.kind, error.code
        elif isinstance(error, binascii.Error):
            kind, code = "bad_base64", INVALID_PAYLOAD
        else:
            kind, code = "invalid_message", INVALID_PAYLOAD
        metrics.STREAM_PROTOCOL_ERRORS.labels(kind).inc()
        log.warning("media_protocol_error", carrier=self.carrier, kind=kind, error=str(error)[:200])
        if self.session is not None:  # the call ends with a recorded reason; release() writes the record
            await self.session.finish("media_protocol_error", hang_up=False)
        with contextlib.suppress(Exception):
            await self.websocket.close(code=code, reason=str(error)[:120])


class TwilioStream(_MediaStream):
    carrier = "twilio"

    def __init__(self, websocket: WebSocket, runtime: VoiceRuntime, guard: StreamGuard) -> None:
        super().__init__(websocket, runtime, guard)
        self.inbound = MulawInbound()

    async def handle(self, text: str) -> bool:
        if self.session is not None:
            audio = twilio_media.media_payload(text)  # 50 a second: the fast path
            if audio is not None:
                await self.feed(self.inbound.decode(audio))
                return False
        message = twilio_media.parse(text)
        if isinstance(message, twilio_media.Start) and self.session is None:
            params = message.start.custom_parameters
            claims = await self.admit(params.get("token"))
            request = _call_request(claims, params, carrier_call_id=message.start.call_sid)
            self.session = self.runtime.open(request, TwilioOutput(self.websocket, message.stream_sid))
            await self.session.start()
        elif isinstance(message, twilio_media.Connected):
            return False
        elif self.session is None and not isinstance(message, twilio_media.Stop):
            # Nothing but ``connected`` may come before ``start``: a stream carries no call without a token.
            raise StreamRefusedError("missing", f"{message.event} before start: no stream token")
        elif isinstance(message, twilio_media.Media):
            await self.feed(self.inbound.decode(base64.b64decode(message.media.payload, validate=True)))
        elif isinstance(message, twilio_media.Mark) and self.session is not None:
            self.session.on_mark(message.mark.name)
        elif isinstance(message, twilio_media.Dtmf) and self.session is not None:
            await self.session.on_dtmf(message.dtmf.digit)
        return isinstance(message, twilio_media.Stop)


class AcsStream(_MediaStream):
    """ACS connects to the transport URL phone-gateway gave it; the stream token rides in its query string."""

    carrier = "acs"

    async def handle(self, text: str) -> bool:
        message = acs_media.parse(text)
        if isinstance(message, acs_media.AudioMetadata) and self.session is None:
            metadata = message.audio_metadata
            query = self.websocket.query_params
            claims = await self.admit(query.get("token"))
            if metadata.sample_rate != 16000 or metadata.encoding != "PCM":
                raise ProtocolError("audioMetadata: only PCM 16 kHz mono is supported")
            carrier_call_id = query.get("server_call_id") or metadata.subscription_id
            request = _call_request(claims, query, carrier_call_id=carrier_call_id)
            self.session = self.runtime.open(request, AcsOutput(self.websocket))
            await self.session.start()
        elif self.session is None:
            raise StreamRefusedError("missing", f"{message.kind} before audioMetadata: no stream token")
        elif isinstance(message, acs_media.AudioData):
            await self.feed(base64.b64decode(message.audio_data.data, validate=True))
        return False


class StreamGuard:
    """Who may open a media stream: a valid, unused stream token (its jti spent in the shared cache, or in
    process without one), within the process's session cap."""

    def __init__(self, *, key: bytes | None, cache: Cache, max_sessions: int) -> None:
        self.key = key  # None: INTERNAL_SECRET is unset, so no token can be checked and every stream is refused
        self.cache = cache
        self.local: Cache = MemoryCache(max_entries=100_000)
        self.max_sessions = max_sessions
        self.open_streams = 0

    def take_slot(self) -> bool:
        if self.open_streams >= self.max_sessions:
            return False
        self.open_streams += 1
        return True

    def release_slot(self) -> None:
        self.open_streams = max(0, self.open_streams - 1)

    async def admit(self, token: str | None) -> StreamClaims:
        if self.key is None:
            raise StreamTokenError("not_configured", "stream tokens are not configured here (INTERNAL_SECRET unset)")
        claims = verify_stream_token(self.key, token)
        try:
            await spend(self.cache, claims)
        except StreamTokenError:
            raise
        except Exception as error:  # Redis unreachable: this process still refuses replays it has seen itself
            log.warning("stream_token_ledger_unavailable", error_type=type(error).__name__)
            await spend(self.local, claims)
        return claims


async def twilio_stream(websocket: WebSocket, runtime: VoiceRuntime, guard: StreamGuard) -> None:
    await TwilioStream(websocket, runtime, guard).serve()


async def acs_stream(websocket: WebSocket, runtime: VoiceRuntime, guard: StreamGuard) -> None:
    await AcsStream(websocket, runtime, guard).serve()
