"""Each runbook remedy as a transaction: snapshot -> act -> wait -> verify -> undo if verification fails.

Guarded by dry-run, budgets that live in the incident store (so they survive restarts of the responder),
approvals for the risky ones, and an audit line for every attempt: who, what, why, result.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

import httpx

from answer_ninja.ops.models import (
    ActionKind,
    ActionOutcome,
    ActionRecord,
    Incident,
    PlannedAction,
    utc_now,
)
from answer_ninja.ops.platforms.base import ConfigSnapshot, InstanceState, Platform, ResourceLimits
from answer_ninja.ops.policy import BACKUPS
from answer_ninja.ops.probe import probe_service
from answer_ninja.ops.store import IncidentStore
from answer_ninja.platform.logging import get_logger
from answer_ninja.platform.settings import Settings

log = get_logger(__name__)

KNOWN_GOOD_CONFIG_KEY = "known_good_config"
DEFAULT_RAISED_MEMORY = "1Gi"
RESTARTING_KINDS = (ActionKind.RESTART, ActionKind.RESTART_ALL)

Undo = Callable[[], Awaitable[None]]


@dataclass
class Guard:
    """Why an action may not run now; None when it may."""

    reason: str
    detail: str


class ActionRunner:
    def __init__(
        self,
        platform: Platform,
        store: IncidentStore,
        settings: Settings,
        *,
        actor: str = "responder",
        dry_run: bool = False,
    ) -> None:
        self.platform = platform
        self.store = store
        self.settings = settings
        self.actor = actor
        self.dry_run = dry_run
        self.approval_required = {
            item.strip() for item in settings.responder_approval_required.split(",") if item.strip()
        }

    # --- guards ---
    def guard(self, action: PlannedAction, incident: Incident | None) -> Guard | None:
        incident_id = incident.id if incident else None
        if str(action.kind) in self.approval_required:
            target = ",".join(action.services)
            if not self.store.is_approved(incident_id=incident_id, action=str(action.kind), target=target):
                approval = self.store.request_approval(incident_id=incident_id, action=str(action.kind), target=target)
                return Guard("approval", f"needs approval {approval} (answer-ninja ops approve {approval})")
        if action.kind in RESTARTING_KINDS:
            limit = self.settings.responder_max_restarts_per_service_hour
            for service in action.services:
                done = sum(
                    self.store.count_actions(action=str(kind), target=service, since=timedelta(hours=1))
                    for kind in RESTARTING_KINDS
                )
                if done >= limit:
                    return Guard("budget", f"{service} restarted {done} times in the last hour (limit {limit})")
        if incident is not None:
            touched = {s for record in incident.actions if record.outcome in _RAN for s in record.services}
            wanted = touched | set(action.services)
            limit = self.settings.responder_max_services_per_incident
            if len(wanted) > limit:
                return Guard("budget", f"would touch {len(wanted)} services in one incident (limit {limit})")
        return None

    # --- the transaction ---
    async def run(self, action: PlannedAction, incident: Incident | None = None) -> ActionRecord:
        started = utc_now()
        incident_id = incident.id if incident else None
        guard = self.guard(action, incident)
        if guard is not None or self.dry_run:
            outcome = ActionOutcome.DRY_RUN if self.dry_run and guard is None else ActionOutcome.SKIPPED
            detail = guard.detail if guard else "dry run: " + action.describe()
            self._audit(action, outcome, detail, incident_id)
            return ActionRecord(action.kind, action.services, action.reason, outcome, started, utc_now(), detail)
        log.info("action_started", action=str(action.kind), services=list(action.services), reason=action.reason)
        try:
            undo = await self._act(action)
            ok, detail = await self._wait_and_verify(action)
        except Exception as error:  # a failed step is a result to record, never the end of the responder
            ok, detail, undo = False, f"{type(error).__name__}: {error}", None
        if not ok and undo is not None:
            try:
                await undo()
                detail += "; undone"
            except Exception as error:  # the undo failing is worth telling a person
                detail += f"; undo failed: {type(error).__name__}: {error}"
        outcome = ActionOutcome.SUCCEEDED if ok else ActionOutcome.FAILED
        self._audit(action, outcome, detail, incident_id)
        log.info("action_ended", action=str(action.kind), outcome=str(outcome), detail=detail)
        return ActionRecord(action.kind, action.services, action.reason, outcome, started, utc_now(), detail)

    def _audit(self, action: PlannedAction, outcome: ActionOutcome, detail: str, incident_id: str | None) -> None:
        for target in action.services or ("-",):
            self.store.audit(
                actor=self.actor,
                action=str(action.kind),
                target=target,
                reason=f"{action.reason}; {detail}"[:1000],
                result=str(outcome),
                incident_id=incident_id,
                dry_run=outcome == ActionOutcome.DRY_RUN,
            )

    async def _restart_in_order(self, services: tuple[str, ...], *, until_ready: bool = True) -> None:
        """The runbook's batch restart: one service at a time, waiting for each (120 s timeout).

        ``until_ready=False`` waits for /health only: in degraded mode a dependency may still be down.
        """
        timeout = self.settings.responder_ready_timeout_seconds
        for service in services:
            await self.platform.restart(service)
            if until_ready:
                await self.platform.wait_ready(service, timeout=timeout)
            else:
                await self._alive(service, timeout)

    async def _act(self, action: PlannedAction) -> Undo | None:
        """Take the snapshot, make the change, return how to undo it (None: nothing to undo)."""
        services = action.services
        kind = action.kind
        if kind in RESTARTING_KINDS:
            for service in services:
                await self.platform.restart(service)
                if kind == ActionKind.RESTART_ALL:
                    await self.platform.wait_ready(service, timeout=self.settings.responder_ready_timeout_seconds)
            return None
        if kind == ActionKind.RESTORE_CONFIG:
            before = await self.platform.read_config()
            known_good = self.store.get_value(KNOWN_GOOD_CONFIG_KEY)
            if known_good is None:
                raise RuntimeError("no known-good app-config recorded yet")
            await self.platform.restore_config(ConfigSnapshot(data=dict(known_good), taken_at=utc_now()))
            await self._restart_in_order(services)
            return lambda: self._restore_and_restart(before, services)
        if kind == ActionKind.ROLLBACK:
            revisions = await self.platform.revisions(services[0])
            current = next(r.number for r in revisions if r.current)
            await self.platform.rollback(services[0], to_revision=action.params.get("to_revision"))
            return lambda: self.platform.rollback(services[0], to_revision=current)
        if kind == ActionKind.SCALE:
            before_replicas = await self.platform.replicas(services[0])
            await self.platform.scale(services[0], int(action.params["replicas"]))
            return lambda: self.platform.scale(services[0], before_replicas)
        if kind == ActionKind.RAISE_LIMITS:
            before_limits = await self.platform.resource_limits(services[0])
            raised = action.params.get("memory") or _double(before_limits.memory)
            await self.platform.set_resource_limits(services[0], ResourceLimits(memory=raised, cpu=before_limits.cpu))
            return lambda: self.platform.set_resource_limits(services[0], before_limits)
        if kind == ActionKind.DEGRADE:
            before = await self.platform.read_config()
            enable = action.params.get("enable", True)
            await self.platform.patch_config({"DEGRADED_MODE": "true" if enable else None})
            present = set(await self.platform.services())
            await self._restart_in_order(tuple(s for s in services if s in present), until_ready=False)
            return lambda: self._restore_and_restart(before, services, until_ready=False)
        if kind == ActionKind.FAILOVER:
            service = services[0]
            target = action.params.get("to") or BACKUPS.get(service)
            if target is None:
                raise RuntimeError(f"{service} has no backup to fail over to")
            before_target = await self.platform.traffic_target(service)
            await self.platform.switch_traffic(service, to=target)
            return lambda: self.platform.switch_traffic(service, to=before_target)
        raise ValueError(f"unknown action {kind}")

    async def _restore_and_restart(
        self, snapshot: ConfigSnapshot, services: tuple[str, ...], *, until_ready: bool = True
    ) -> None:
        await self.platform.restore_config(snapshot)
        present = set(await self.platform.services())
        await self._restart_in_order(tuple(s for s in services if s in present), until_ready=until_ready)

    async def _wait_and_verify(self, action: PlannedAction) -> tuple[bool, str]:
        timeout = self.settings.responder_ready_timeout_seconds
        present = set(await self.platform.services())
        targets = [s for s in action.services if s in present]
        if action.kind == ActionKind.DEGRADE:
            # Degraded mode keeps services answering; their dependencies may still be down, so /health, not /ready.
            results = await asyncio.gather(*(self._alive(service, timeout) for service in targets))
            failed = [service for service, ok in zip(targets, results, strict=True) if not ok]
            return not failed, "alive in degraded mode" if not failed else f"not answering: {', '.join(failed)}"
        if action.kind == ActionKind.FAILOVER:
            url = await self.platform.service_url(targets[0])
            async with httpx.AsyncClient() as client:
                probe = await probe_service(client, targets[0], url, self.settings.responder_probe_timeout_seconds)
            return probe.ok, f"traffic for {targets[0]} now at {url}: {probe.summary()}"
        results = await asyncio.gather(*(self.platform.wait_ready(s, timeout=timeout) for s in targets))
        failed = [service for service, ok in zip(targets, results, strict=True) if not ok]
        if failed:
            return False, f"not ready within {timeout:g}s: {', '.join(failed)}"
        return True, f"ready: {', '.join(targets)}"

    async def _alive(self, service: str, timeout: float) -> bool:
        """/health answers and every instance is Running (verification checks both).

        Through a Kubernetes Service the old pods keep answering /health while a rollout is still starting the new
        ones: /health alone would end the action with pods Pending or Terminating, and verification would fail.
        """
        url = await self.platform.service_url(service)
        deadline = asyncio.get_running_loop().time() + timeout
        async with httpx.AsyncClient() as client:
            while asyncio.get_running_loop().time() < deadline:
                probe = await probe_service(client, service, url, self.settings.responder_probe_timeout_seconds)
                if probe.health_ok:
                    instances = await self.platform.instances(service)
                    if instances and all(i.state is InstanceState.RUNNING for i in instances):
                        return True
                await asyncio.sleep(0.2)
        return False


_RAN = (ActionOutcome.SUCCEEDED, ActionOutcome.FAILED)


def _double(memory: str | None) -> str:
    """Twice the limit, and at least 1Gi: a limit low enough to OOM a service rarely fits in twice itself."""
    if memory is not None and memory.endswith("Gi"):
        return f"{max(1, int(memory.removesuffix('Gi')) * 2)}Gi"
    if memory is not None and memory.endswith("Mi"):
        return f"{max(1024, int(memory.removesuffix('Mi')) * 2)}Mi"
    return DEFAULT_RAISED_MEMORY
