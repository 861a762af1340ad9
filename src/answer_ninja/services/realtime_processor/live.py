"""Live calls seen and steered from outside the voice loop.

* ``GET /internal/v1/live/events`` (the console): this process's call events as newline-delimited JSON, for stacks
  without Redis (with Redis the console listens on pub/sub and never calls this).
* ``GET /internal/v1/calls/{call_id}/ending`` (phone-gateway): how a call's stream ended, when the carrier asks
  what next (``<Connect action>``): on purpose (the AI or the person hung up: the call ends) or not (the fallback).
* ``POST /internal/v1/calls/{call_id}/end`` (phone-gateway): end a live call now with an outcome, because its
  owner took it over (the carrier is transferring it) or asked to hang up. ``hang_up`` closes the media stream
  (the loopback carrier and a hang-up); a carrier that moves the call itself (Twilio's REST update, ACS transfer)
  closes it on its own.
"""

from __future__ import annotations

import asyncio
import io
import json
import wave
from collections.abc import AsyncIterator
from typing import Literal

from fastapi import Depends, FastAPI, HTTPException, Query, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict

from answer_ninja.calls.samples import persona_sample
from answer_ninja.platform.app_factory import ServiceContext
from answer_ninja.platform.auth.dependencies import caller, service_caller
from answer_ninja.platform.logging import get_logger
from answer_ninja.services.realtime_processor.events import LiveEvents
from answer_ninja.services.realtime_processor.runtime import VoiceRuntime, hung_up_on_purpose
from answer_ninja.services.user_management.schemas import id_path

log = get_logger(__name__)

# A comment line every so often keeps idle connections (and proxies) from timing the stream out.
KEEPALIVE_SECONDS = 15.0


class EndCall(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: Literal["taken_over", "hung_up_by_user"]
    hang_up: bool = True


def install(app: FastAPI, ctx: ServiceContext) -> None:
    async def start(ctx: ServiceContext) -> None:
        runtime: VoiceRuntime = ctx.extras["voice"]
        runtime.events = LiveEvents(ctx.cache)
        runtime.events.start()

    async def stop(ctx: ServiceContext) -> None:
        runtime: VoiceRuntime | None = ctx.extras.get("voice")
        if runtime is not None:
            await runtime.events.stop()

    ctx.on_startup.append(start)
    ctx.on_shutdown.insert(0, stop)

    @app.get(
        "/internal/v1/live/events",
        tags=["internal"],
        summary="Live call events (NDJSON), for the console when there is no Redis",
        dependencies=[Depends(service_caller("console"))],
    )
    async def live_events() -> StreamingResponse:
        runtime: VoiceRuntime = ctx.extras["voice"]

        async def lines() -> AsyncIterator[bytes]:
            yield b": live\n"
            async for event in _with_keepalive(runtime.events):
                yield (json.dumps(event, ensure_ascii=False) + "\n").encode() if event else b": keepalive\n"

        return StreamingResponse(lines(), media_type="application/x-ndjson", headers={"Cache-Control": "no-store"})

    @app.get(
        "/api/v1/voice/sample",
        tags=["voice"],
        summary="A persona's first line, spoken (WAV), for the settings page",
        response_class=Response,
        dependencies=[Depends(caller(users=True, operators=True))],
    )
    async def sample_audio(
        persona: str = Query(pattern="^(polite|direct|humorous|professional)$"),
        language: str = Query(default="zh-CN", pattern="^(zh-CN|en-US)$"),
    ) -> Response:
        runtime: VoiceRuntime = ctx.extras["voice"]
        text = persona_sample(persona, language)
        audio = runtime.prepared.get(text, language)  # template lines are pre-synthesised at start-up
        if audio is None:
            audio = b"".join([chunk async for chunk in runtime.providers.tts.synthesize(text, language)])
        return Response(wav(audio), media_type="audio/wav", headers={"Cache-Control": "private, max-age=86400"})

    @app.post(
        "/internal/v1/calls/{call_id}/end",
        status_code=204,
        tags=["internal"],
        response_class=Response,
        dependencies=[Depends(service_caller("phone-gateway"))],
    )
    async def end_call(body: EndCall, call_id: str = id_path()) -> Response:
        runtime: VoiceRuntime = ctx.extras["voice"]
        session = runtime.sessions.get(call_id)
        if session is None:
            raise HTTPException(status_code=404, detail="call_id: no live call here")
        log.info("call_ended_from_outside", call_id=call_id, outcome=body.outcome, hang_up=body.hang_up)
        await session.finish(body.outcome, hang_up=body.hang_up)
        return Response(status_code=204)

    @app.get(
        "/internal/v1/calls/{call_id}/ending",
        tags=["internal"],
        summary="How a call's stream ended: on purpose (the AI or the person hung up) or not",
        dependencies=[Depends(service_caller("phone-gateway"))],
    )
    async def call_ending(call_id: str = id_path()) -> dict[str, object]:
        """phone-gateway asks when the carrier reports the stream over: ``hung_up`` true -> the call ends; anything
        else (still live here, closed by the other side, unknown: 404) -> the person's fallback."""
        runtime: VoiceRuntime = ctx.extras["voice"]
        session = runtime.sessions.get(call_id)
        if session is not None:
            return {"call_id": call_id, "live": session.outcome is None, "outcome": session.outcome,
                    "hung_up": hung_up_on_purpose(session)}  # fmt: skip
        ending = runtime.endings.get(call_id)
        if ending is None:
            raise HTTPException(status_code=404, detail="call_id: no such call here")
        return {"call_id": call_id, "live": False, "outcome": ending.outcome, "hung_up": ending.hung_up}


def wav(pcm16k: bytes) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(pcm16k)
    return buffer.getvalue()


async def _with_keepalive(events: LiveEvents) -> AsyncIterator[dict[str, object] | None]:
    """The bus's events, with None every KEEPALIVE_SECONDS of silence."""
    stream = events.subscribe()
    pending: asyncio.Task[dict[str, object]] | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(stream.__anext__())
            done, _ = await asyncio.wait({pending}, timeout=KEEPALIVE_SECONDS)
            if not done:
                yield None
                continue
            event = pending.result()
            pending = None
            yield event
    finally:
        if pending is not None:
            pending.cancel()
        await stream.aclose()
