"""realtime-processor (port 3002): carries the call's audio: VAD, speech-to-text, reply, text-to-speech, barge-in."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from fastapi import Depends, FastAPI, WebSocket
from fastapi.responses import JSONResponse

from answer_ninja.platform.app_factory import ServiceContext, ServiceSpec, create_service_app
from answer_ninja.platform.auth.dependencies import Principal, caller
from answer_ninja.platform.auth.keys import is_configured, secret_bytes
from answer_ninja.platform.auth.rules import AccessRule, mark
from answer_ninja.platform.auth.stream_tokens import stream_key
from answer_ninja.platform.logging import get_logger
from answer_ninja.platform.settings import Settings
from answer_ninja.services.realtime_processor import live
from answer_ninja.services.realtime_processor.call_store import load_call
from answer_ninja.services.realtime_processor.carriers import StreamGuard, acs_stream, twilio_stream
from answer_ninja.services.realtime_processor.providers import SpeechProviders, build_providers
from answer_ninja.services.realtime_processor.replies import HttpReplyClient, ReplyClient
from answer_ninja.services.realtime_processor.runtime import VoiceRuntime

log = get_logger(__name__)

SPEC = ServiceSpec(
    name="realtime-processor",
    port=3002,
    description="Carries the call's audio: VAD, speech-to-text, reply, text-to-speech, barge-in.",
    uses_database=True,
    uses_cache=True,
    calls=("conversation-engine",),
    soft_calls=(),
)


def stream_door() -> None:
    """The media sockets' rule: the stream token is checked on the first message (the StreamGuard)."""


mark(stream_door, AccessRule("stream", "a carrier with phone-gateway's signed single-use stream token"))


def _stream_guard(ctx: ServiceContext) -> StreamGuard:
    """Stream tokens are checked with INTERNAL_SECRET's media-stream key; unset, every stream is refused."""
    key = stream_key(secret_bytes(ctx, "internal_secret")) if is_configured(ctx, "internal_secret") else None
    if key is None:
        ctx.health.set_degraded("stream_tokens", "INTERNAL_SECRET is not set: every media stream is refused")
    ctx.health.details["media_streams"] = {
        "stream_tokens": "configured" if key is not None else "not configured",
        "max_sessions": ctx.settings.media_max_sessions,
    }
    return StreamGuard(key=key, cache=ctx.require_cache(), max_sessions=ctx.settings.media_max_sessions)


def make_configure(
    providers: SpeechProviders | None = None, replies: ReplyClient | None = None
) -> Callable[[FastAPI, ServiceContext], None]:
    """``configure`` with the speech providers and reply client given (tests, benchmark) or built from settings."""

    def configure(app: FastAPI, ctx: ServiceContext) -> None:
        async def start(ctx: ServiceContext) -> None:
            loaded = (
                providers
                if providers is not None
                else await asyncio.to_thread(build_providers, ctx.settings, ctx.health)
            )
            client = replies or HttpReplyClient(ctx.require_http(), ctx.settings.conversation_engine_url)
            runtime = VoiceRuntime(ctx.settings, loaded, client, database=ctx.database, http=ctx.http)
            ctx.health.details["voice"] = loaded.voices or {"all": loaded.tts.name}
            ctx.extras["voice"] = runtime
            ctx.extras["stream_guard"] = _stream_guard(ctx)
            ctx.extras["presynthesis"] = asyncio.create_task(runtime.presynthesize(), name="presynthesis")

        async def stop(ctx: ServiceContext) -> None:
            task = ctx.extras.get("presynthesis")
            if task is not None:
                task.cancel()
            runtime: VoiceRuntime | None = ctx.extras.get("voice")
            if runtime is not None:
                await runtime.wait_closed(timeout=ctx.settings.shutdown_grace_seconds)

        ctx.on_startup.append(start)
        ctx.on_shutdown.append(stop)

        # Media streams: no HTTP credential (carriers send none); each stream must present phone-gateway's signed,
        # single-use stream token (Twilio: the start message's customParameters; ACS: the URL's ?token=), checked
        # by the StreamGuard before any call starts.
        stream = [Depends(stream_door)]

        @app.websocket("/media/twilio", dependencies=stream)
        async def twilio_media_stream(websocket: WebSocket) -> None:
            """Twilio Media Streams (bidirectional ``<Connect><Stream>``)."""
            await twilio_stream(websocket, ctx.extras["voice"], ctx.extras["stream_guard"])

        @app.websocket("/media/acs", dependencies=stream)
        async def acs_media_stream(websocket: WebSocket) -> None:
            """Azure Communication Services bidirectional media streaming."""
            await acs_stream(websocket, ctx.extras["voice"], ctx.extras["stream_guard"])

        @app.get(
            "/api/v1/voice/status",
            tags=["voice"],
            summary="Live calls and prepared audio",
            dependencies=[Depends(caller(services=("responder",), operators=True))],
        )
        async def voice_status() -> dict[str, object]:
            runtime: VoiceRuntime = ctx.extras["voice"]
            return {
                "active_calls": len(runtime.sessions),
                "prepared_lines": len(runtime.prepared),
                "presynthesis_done": runtime.presynthesis_done,
                "stt": runtime.providers.stt.name,
                "tts": runtime.providers.tts.name,
                "voices": runtime.providers.voices,
            }

        @app.get("/api/v1/voice/calls/{call_id}", tags=["voice"], summary="A finished call's transcript and timings")
        async def voice_call(
            call_id: str,
            principal: Principal = Depends(caller(services=("responder",), users=True, operators=True)),
        ) -> JSONResponse:
            record = await load_call(ctx.require_database(), call_id)
            # A person sees only their own calls; another's answers 404, as if it did not exist.
            if record is None or (
                principal.kind == "user" and not principal.is_operator and record.user_id != principal.name
            ):
                return JSONResponse(status_code=404, content={"error": f"no call {call_id}", "fields": []})
            return JSONResponse(
                {
                    "call_id": record.id,
                    "status": record.status,
                    "outcome": record.outcome,
                    "duration_seconds": record.duration_seconds,
                    "transcript": record.transcript,
                    "turn_timings": record.turn_timings,
                }
            )

        live.install(app, ctx)  # live call events for the console; ending a call its owner took over

    return configure


configure = make_configure()


def create_app(
    settings: Settings | None = None,
    *,
    providers: SpeechProviders | None = None,
    replies: ReplyClient | None = None,
) -> FastAPI:
    return create_service_app(SPEC, settings=settings, configure=make_configure(providers, replies))
