"""The public status page (no sign-in): each component operational / degraded / down, the open incident with the
runbook's customer notice, and 90 days of history, as HTML (/status) and JSON (/status.json).

The responder knows best (it probes everything and keeps the history); when it cannot be reached the console
probes the services' /health itself and says the picture is partial. Answers are shared for a few seconds, so a
crowd reloading the page during an outage costs one look, not one per visitor.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from answer_ninja.platform.app_factory import ServiceContext, context_of
from answer_ninja.platform.auth.rules import public
from answer_ninja.services.console.backends import BackendError, backends_of
from answer_ninja.services.console.rendering import render
from answer_ninja.services.responder.status_model import CAPABILITIES, SERVICES

router = APIRouter()
Ctx = Depends(context_of)
PUBLIC = [Depends(public("public status page: component states and the customer notice, nothing private"))]
SHARED_SECONDS = 5.0
COMPONENTS = SERVICES + CAPABILITIES


async def _own_probe(ctx: ServiceContext) -> dict[str, Any]:
    """Without the responder: each service's /health from here; capabilities unknown; no history."""

    async def health(client: httpx.AsyncClient, service: str) -> str:
        try:
            response = await client.get(ctx.settings.service_url(service) + "/health")
        except httpx.HTTPError:
            return "down"
        if response.status_code != 200:
            return "down"
        return "degraded" if response.json().get("degraded") else "operational"

    async with httpx.AsyncClient(timeout=ctx.settings.dependency_timeout_seconds) as client:
        states = await asyncio.gather(*(health(client, name) for name in SERVICES))
    components: dict[str, str | None] = dict(zip(SERVICES, states, strict=True))
    components.update({name: None for name in CAPABILITIES})
    known = [state for state in components.values() if state]
    overall = "down" if "down" in known else ("degraded" if "degraded" in known else "operational")
    return {"overall": overall, "components": components, "uptime": {}, "incident": None, "history": [],
            "partial": True}  # fmt: skip


async def current_status(ctx: ServiceContext) -> dict[str, Any]:
    shared = ctx.extras.get("status_shared")
    if isinstance(shared, tuple) and time.monotonic() - shared[0] < SHARED_SECONDS:
        result: dict[str, Any] = shared[1]
        return result
    status: dict[str, Any]
    try:
        status = dict(await backends_of(ctx).console_json("responder", "/status", timeout=5.0))
        status["partial"] = False
    except BackendError:
        status = await _own_probe(ctx)
    status["generated_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    ctx.extras["status_shared"] = (time.monotonic(), status)
    return status


@router.get("/status", dependencies=PUBLIC)
async def status_page(request: Request, ctx: ServiceContext = Ctx) -> Response:
    status = await current_status(ctx)
    return render(request, "status.html", None, status=status, components=COMPONENTS,
                  headers={"Cache-Control": "public, max-age=5"})  # fmt: skip


@router.get("/status.json", dependencies=PUBLIC)
async def status_json(ctx: ServiceContext = Ctx) -> JSONResponse:
    return JSONResponse(await current_status(ctx), headers={"Cache-Control": "public, max-age=5"})
