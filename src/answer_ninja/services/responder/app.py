"""responder (port 3009): detects, diagnoses, fixes, verifies, escalates and reports outages of the others.

Routes: ``POST /alerts`` (Alertmanager v4 webhook), ``GET /incidents``, ``GET /incidents/{id}``,
``GET /incidents/{id}/postmortem`` (Markdown), ``GET /incidents/{id}/customer-notice``,
``GET /audit``, ``GET /approvals``, ``POST /approvals/{id}``.

``/alerts`` takes only Alertmanager's bearer token (ALERTMANAGER_TOKEN, its ``http_config.authorization``): a
forged alert could otherwise open a "security" incident that stops automatic fixes. Everything else is the
operator's; an approval records who the token says decided, never a name from the body.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from fastapi import Depends, FastAPI, HTTPException
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field

from answer_ninja.ops.alerts import AlertmanagerPayload, signals_from
from answer_ninja.ops.models import Incident
from answer_ninja.ops.notify import render_customer_notice
from answer_ninja.ops.platforms import build_platform
from answer_ninja.ops.report import postmortem
from answer_ninja.ops.responder import Responder
from answer_ninja.ops.store import IncidentStore, incident_to_dict
from answer_ninja.platform.app_factory import ServiceContext, ServiceSpec, create_service_app
from answer_ninja.platform.auth.dependencies import Principal, alertmanager, operator
from answer_ninja.platform.auth.keys import is_configured
from answer_ninja.platform.health import DependencyCheck
from answer_ninja.platform.settings import Settings
from answer_ninja.services.responder import console_api

SPEC = ServiceSpec(
    name="responder",
    port=3009,
    description="The ServiceDown runbook as code: detect, diagnose, remediate, verify, escalate, report.",
)


class Decision(BaseModel):
    approved: bool
    # Kept for older clients and shown in the audit line as their note; the approver is the authenticated caller.
    by: str | None = Field(default=None, max_length=100, description="ignored for identity: the token decides")


def approver(principal: Principal) -> str:
    """The name an approval is recorded under: the operator's machine or the signed-in person's id."""
    return "operator-token" if principal.kind == "machine" else f"{principal.kind}:{principal.name}"


async def _alertmanager_token_check(_: float) -> None:
    raise RuntimeError("ALERTMANAGER_TOKEN is not configured: POST /alerts refuses every alert")


def configure(app: FastAPI, ctx: ServiceContext) -> None:
    settings = ctx.settings
    store = IncidentStore(settings.data_dir / "responder")
    ctx.extras["store"] = store
    stop = asyncio.Event()

    async def start(ctx: ServiceContext) -> None:
        platform = build_platform(settings)
        responder = Responder(platform, store, settings)
        ctx.extras["responder"] = responder
        ctx.extras["platform"] = platform
        ctx.extras["loop"] = asyncio.create_task(responder.run_forever(stop), name="responder-loop")

    async def shutdown(ctx: ServiceContext) -> None:
        stop.set()
        loop = ctx.extras.get("loop")
        if loop is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(loop, timeout=5)
        if "responder" in ctx.extras:
            await ctx.extras["responder"].close()
            await ctx.extras["platform"].close()

    ctx.on_startup.append(start)
    ctx.on_shutdown.append(shutdown)
    if not is_configured(ctx, "alertmanager_token"):
        # Visible, not fatal: the responder still probes by itself; Alertmanager's hints are refused.
        ctx.health.set_degraded("alertmanager_token", "ALERTMANAGER_TOKEN is not set: POST /alerts is refused")
        ctx.checks.append(DependencyCheck("alertmanager-token", "provider", _alertmanager_token_check, required=False))
    console_api.install(app, ctx, store)  # service board, budgets, drills, status page data (the console)

    def incident_or_404(incident_id: str) -> Incident:
        found = store.get(incident_id)
        if found is None:
            raise HTTPException(status_code=404, detail=f"no incident {incident_id}")
        return found

    operators = [Depends(operator)]

    @app.post(
        "/alerts",
        status_code=202,
        tags=["responder"],
        summary="Alertmanager webhook (payload version 4)",
        dependencies=[Depends(alertmanager)],
    )
    async def alerts(payload: AlertmanagerPayload) -> dict[str, Any]:
        signals = signals_from(payload)
        responder: Responder | None = ctx.extras.get("responder")
        if responder is not None:
            for signal in signals:
                responder.receive_alert(signal)
        return {"accepted": len(signals), "services": sorted({s for sig in signals for s in sig.services})}

    @app.get("/incidents", tags=["responder"], dependencies=operators)
    async def incidents(limit: int = 50) -> list[dict[str, Any]]:
        return [incident_to_dict(incident) for incident in store.recent(limit=max(1, min(limit, 500)))]

    @app.get("/incidents/{incident_id}", tags=["responder"], dependencies=operators)
    async def incident(incident_id: str) -> dict[str, Any]:
        found = incident_or_404(incident_id)
        return incident_to_dict(found)

    @app.get(
        "/incidents/{incident_id}/postmortem",
        response_class=PlainTextResponse,
        tags=["responder"],
        dependencies=operators,
    )
    async def incident_postmortem(incident_id: str) -> str:
        found = incident_or_404(incident_id)
        return postmortem(found)

    @app.get(
        "/incidents/{incident_id}/customer-notice",
        response_class=PlainTextResponse,
        tags=["responder"],
        dependencies=operators,
    )
    async def incident_customer_notice(incident_id: str) -> str:
        """The runbook's customer notice template, filled for this incident (for whoever sends it)."""
        found = incident_or_404(incident_id)
        return render_customer_notice(found)

    @app.get("/audit", tags=["responder"], dependencies=operators)
    async def audit(limit: int = 100) -> list[dict[str, Any]]:
        return store.audit_log(limit=max(1, min(limit, 1000)))

    @app.get("/approvals", tags=["responder"], dependencies=operators)
    async def approvals(status: str | None = None) -> list[dict[str, Any]]:
        return store.approvals(status=status)

    @app.post("/approvals/{approval_id}", tags=["responder"])
    async def decide(approval_id: str, decision: Decision, principal: Principal = Depends(operator)) -> dict[str, Any]:
        who = approver(principal)
        if not store.decide_approval(approval_id, approved=decision.approved, by=who):
            raise HTTPException(status_code=404, detail=f"no pending approval {approval_id}")
        note = f" (says: {decision.by})" if decision.by and decision.by != who else ""
        store.audit(
            actor=who,
            action="approval",
            target=approval_id,
            reason="decided by an authenticated operator" + note,
            result="approved" if decision.approved else "rejected",
        )
        return {"id": approval_id, "approved": decision.approved, "by": who}


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(SPEC, settings=settings, configure=configure)
