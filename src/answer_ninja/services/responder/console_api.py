"""The responder's API for the console's operator pages and the public status page.

* ``GET /services`` (operator): each service's instances (state, restarts, pid, uptime) and probe (/health, /ready).
* ``GET /budgets`` (operator): the action budgets and how much of each the last hour used.
* ``POST /drills`` (operator): inject one fault into the local stack, confirmed by naming the target service;
  recorded in the audit log with who asked. The responder then handles it like any outage.
* ``GET /status`` (the console, or an operator): each component's state now, the open incident with the
  runbook's customer notice, and 90 days of history (``status_history.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import timedelta
from typing import Any

from fastapi import Depends, FastAPI, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from answer_ninja.ops.drills import FAULTS, inject
from answer_ninja.ops.models import ActionKind
from answer_ninja.ops.notify import render_customer_notice
from answer_ninja.ops.platforms.local import LocalPlatform
from answer_ninja.ops.responder import Responder
from answer_ninja.ops.store import IncidentStore, incident_to_dict
from answer_ninja.platform.app_factory import ServiceContext
from answer_ninja.platform.auth.dependencies import Principal, caller, operator
from answer_ninja.platform.logging import get_logger
from answer_ninja.services.responder.status_history import StatusHistory
from answer_ninja.services.responder.status_model import COMPONENTS, Observation, component_states, overall

log = get_logger(__name__)

# How often the status is observed (in the background: /status answers at once from the latest observation, even
# while a hung service makes a probe round take its full timeout), and how often a sample goes into the history.
STATUS_OBSERVE_SECONDS = 5.0
STATUS_SAMPLE_SECONDS = 30.0
# Faults a drill from the console may inject: those that need no outside command to undo them.
CONSOLE_DRILLS = tuple(name for name, fault in FAULTS.items() if not fault.dependency)


class DrillRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fault: str = Field(min_length=1, max_length=40)
    service: str = Field(min_length=1, max_length=40)
    confirm: str = Field(min_length=1, max_length=40, description="the target service's name again")


def _who(principal: Principal) -> str:
    if principal.kind == "machine":
        return "operator-token"
    return f"user:{principal.name}"


def install(app: FastAPI, ctx: ServiceContext, store: IncidentStore) -> None:
    history = StatusHistory(ctx.settings.data_dir / "responder")
    ctx.extras["status_history"] = history
    cached: dict[str, Any] = {}

    def responder() -> Responder:
        found = ctx.extras.get("responder")
        if not isinstance(found, Responder):
            raise HTTPException(status_code=503, detail="responder: starting")
        return found

    async def observe() -> dict[str, Any]:
        """Component states now: one probe round of the responder's own probes."""
        active = responder()
        probes, dependencies = await active.observe()
        incident = store.open_incident()
        observation = Observation(
            probes=probes,
            dependencies=tuple(dependencies),
            confirmed_down=frozenset(active.down_now),
            incident_services=frozenset(incident.services if incident else ()),
        )
        states = component_states(observation)
        cached.update(at=time.monotonic(), states=states)
        return dict(states)

    async def latest() -> dict[str, Any]:
        if not cached:
            await observe()
        return dict(cached["states"])

    async def sample_forever() -> None:
        last_sample = time.monotonic()
        while True:
            await asyncio.sleep(STATUS_OBSERVE_SECONDS)
            try:
                states = await observe()
                if time.monotonic() - last_sample >= STATUS_SAMPLE_SECONDS:
                    history.record(states, seconds=time.monotonic() - last_sample)
                    last_sample = time.monotonic()
            except Exception as error:  # a missed observation is a gap in the history, never a crash
                log.warning("status_observation_failed", error=type(error).__name__)

    async def start(ctx: ServiceContext) -> None:
        ctx.extras["status_sampler"] = asyncio.create_task(sample_forever(), name="status-history")

    async def stop(ctx: ServiceContext) -> None:
        task = ctx.extras.pop("status_sampler", None)
        if isinstance(task, asyncio.Task):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    ctx.on_startup.append(start)
    ctx.on_shutdown.insert(0, stop)
    operators = [Depends(operator)]

    @app.get("/services", tags=["console"], dependencies=operators)
    async def services() -> list[dict[str, Any]]:
        active = responder()
        probes, _ = await active.observe()
        rows = []
        for name in await active.watched():
            instances = await active.platform.instances(name)
            probe = probes.get(name)
            rows.append(
                {
                    "service": name,
                    "instances": [
                        {
                            "name": instance.name,
                            "state": str(instance.state),
                            "ready": instance.ready,
                            "restarts": instance.restarts,
                            "pid": instance.pid,
                            "started_at": instance.started_at.isoformat() if instance.started_at else None,
                            "url": instance.address,
                        }
                        for instance in instances
                    ],
                    "health": None if probe is None else probe.health_ok,
                    "ready": None if probe is None else probe.ready_ok,
                    "degraded": None if probe is None else probe.degraded,
                    "summary": None if probe is None else probe.summary(),
                    "latency_ms": None if probe is None else round(probe.latency_ms, 1),
                    "confirmed_down": name in active.down_now,
                }
            )
        return rows

    @app.get("/budgets", tags=["console"], dependencies=operators)
    async def budgets() -> dict[str, Any]:
        settings = ctx.settings
        watched = await responder().watched()
        hour = timedelta(hours=1)
        used = {
            name: sum(store.count_actions(action=str(kind), target=name, since=hour)
                      for kind in (ActionKind.RESTART, ActionKind.RESTART_ALL))
            for name in watched
        }  # fmt: skip
        return {
            "restarts_per_service_hour": settings.responder_max_restarts_per_service_hour,
            "services_per_incident": settings.responder_max_services_per_incident,
            "approval_required": [a for a in settings.responder_approval_required.split(",") if a.strip()],
            "escalate_after_seconds": settings.responder_escalate_after_seconds,
            "enabled": settings.responder_enabled,
            "restarts_last_hour": used,
        }

    @app.get("/drills", tags=["console"], dependencies=operators)
    async def drills() -> dict[str, Any]:
        recent = [entry for entry in store.audit_log(limit=500) if entry["action"] == "drill"][:20]
        local = isinstance(ctx.extras.get("platform"), LocalPlatform)
        return {
            "faults": {name: FAULTS[name].description for name in CONSOLE_DRILLS},
            "default_services": {name: list(FAULTS[name].default_services) for name in CONSOLE_DRILLS},
            "available": local,
            "recent": recent,
        }

    @app.post("/drills", status_code=202, tags=["console"])
    async def run_drill(body: DrillRequest, principal: Principal = Depends(operator)) -> dict[str, Any]:
        """Inject the fault now; the drill is what the responder does next (watch the incident it opens)."""
        if body.fault not in CONSOLE_DRILLS:
            raise HTTPException(status_code=422, detail=f"fault: choose from {', '.join(CONSOLE_DRILLS)}")
        active = responder()
        if body.service not in await active.watched():
            raise HTTPException(status_code=422, detail=f"service: not a service the responder watches: {body.service}")
        if body.confirm != body.service:
            raise HTTPException(status_code=422, detail="confirm: type the service's name to confirm the drill")
        platform = ctx.extras.get("platform")
        if not isinstance(platform, LocalPlatform):
            raise HTTPException(status_code=409, detail="fault: drills run on the local platform only")
        fault = FAULTS[body.fault]
        targets = [body.service, *(s for s in fault.default_services[1:] if s != body.service)]
        who = _who(principal)
        store.audit(actor=who, action="drill", target=",".join(targets), reason=fault.description, result="started")
        try:
            await inject(fault, platform, targets, None)
        except Exception as error:  # the supervisor refused: nothing was injected, the audit log says so
            store.audit(actor=who, action="drill", target=",".join(targets), reason=str(error)[:200], result="failed")
            raise HTTPException(status_code=502, detail=f"fault: could not inject: {type(error).__name__}") from None
        log.info("drill_injected", fault=body.fault, services=targets, by=who)
        return {"fault": body.fault, "services": targets, "by": who, "injected_at": time.time()}

    @app.get(
        "/status",
        tags=["console"],
        dependencies=[Depends(caller(services=("console",), operators=True))],
    )
    async def status() -> dict[str, Any]:
        states = await latest()
        incident = store.open_incident()
        days = history.days()
        return {
            "overall": overall(states),
            "components": {name: states.get(name, "down") for name in COMPONENTS},
            "uptime": {name: history.uptime(name, days) for name in COMPONENTS},
            "incident": None
            if incident is None
            else {**_public_incident(incident_to_dict(incident)), "notice": render_customer_notice(incident)},
            "history": days,
        }


def _public_incident(incident: dict[str, Any]) -> dict[str, Any]:
    """What the public may read of an incident: when, which services, where it stands (no evidence, no logs)."""
    return {key: incident[key] for key in ("id", "status", "services", "started_at", "detected_at", "recovered_at")}
