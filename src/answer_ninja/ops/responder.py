"""The responder: the ServiceDown runbook, run by itself.

detect (own probes + Alertmanager) -> confirm (step 1) -> quick health check (step 2) -> classify (step 3)
-> remediate (方案1-5, each a transaction) -> verify (验证) -> escalate (升级) / resolve, notifying at each change
and keeping the incident's timeline. One incident per outage, however many probes and alerts arrive.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
from prometheus_client import Counter, Histogram

from answer_ninja.catalogue import SERVICES
from answer_ninja.ops.diagnose import Observation, diagnose
from answer_ninja.ops.escalate import escalation_reason
from answer_ninja.ops.models import (
    ActionKind,
    ActionOutcome,
    DependencyProbe,
    Diagnosis,
    FailureMode,
    Incident,
    IncidentStatus,
    PlannedAction,
    ServiceProbe,
    TimelineEvent,
    utc_now,
)
from answer_ninja.ops.notify import Notifier
from answer_ninja.ops.platforms.base import Instance, InstanceState, Platform
from answer_ninja.ops.policy import DEGRADE_RESTARTS, plan
from answer_ninja.ops.probe import DependencyChecker, FlapFilter, probe_services
from answer_ninja.ops.remediate import KNOWN_GOOD_CONFIG_KEY, ActionRunner
from answer_ninja.ops.store import IncidentStore
from answer_ninja.ops.verify import verify
from answer_ninja.platform.logging import get_logger
from answer_ninja.platform.settings import Settings

log = get_logger(__name__)

INCIDENTS = Counter("ai_ninja_responder_incidents_total", "Incidents opened, by failure mode.", ["mode"])
ACTIONS = Counter("ai_ninja_responder_actions_total", "Remedies attempted, by kind and outcome.", ["kind", "outcome"])
MTTD = Histogram("ai_ninja_responder_mttd_seconds", "Time from first failure to detection.")
MTTR = Histogram("ai_ninja_responder_mttr_seconds", "Time from first failure to verified recovery.")

# How long a just-started process may take to either get ready or fail before it is judged (startup grace).
STARTUP_GRACE_SECONDS = 5.0
# Who the responder watches: the application's services, never itself.
SELF = "responder"
# Set in an incident's diagnosis while degraded mode it turned on is still on.
DEGRADED_BY_RESPONDER = "degraded_by_responder"


@dataclass
class AlertSignal:
    services: list[str]
    alertname: str
    security: bool = False
    received: float = field(default_factory=time.monotonic)


class Responder:
    def __init__(
        self,
        platform: Platform,
        store: IncidentStore,
        settings: Settings,
        *,
        notifier: Notifier | None = None,
        actor: str = "responder",
    ) -> None:
        self.platform = platform
        self.store = store
        self.settings = settings
        self.notifier = notifier or Notifier(settings)
        self.runner = ActionRunner(platform, store, settings, actor=actor)
        self.flaps = FlapFilter(settings.responder_failures_to_confirm, settings.responder_failure_window_seconds)
        self.dependencies = DependencyChecker(settings, settings.responder_probe_timeout_seconds)
        self.http = httpx.AsyncClient()
        self.down_now: list[str] = []
        self.deps_down_now: list[str] = []
        self._handler: asyncio.Task[None] | None = None
        self._alerts: list[AlertSignal] = []
        self._started = time.monotonic()
        self._seen_healthy: set[str] = set()
        # Steps of the open incident skipped for want of approval: run when a person approves them.
        self._awaiting_approval: list[PlannedAction] = []

    async def close(self) -> None:
        if self._handler is not None:
            self._handler.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._handler
        await self.dependencies.close()
        await self.http.aclose()

    # --- detection ---------------------------------------------------------------------------------
    async def watched(self) -> list[str]:
        return [name for name in await self.platform.services() if name in SERVICES and name != SELF]

    async def observe(self) -> tuple[dict[str, ServiceProbe], list[DependencyProbe]]:
        services = await self.watched()
        urls = {name: await self.platform.service_url(name) for name in services}
        timeout = self.settings.responder_probe_timeout_seconds
        probes, dependencies = await asyncio.gather(
            probe_services(self.http, urls, timeout), self.dependencies.check(self.http)
        )
        return probes, dependencies

    async def observe_steady(
        self, confirmed: set[str], *, retries: int = 2
    ) -> tuple[dict[str, ServiceProbe], list[DependencyProbe]]:
        """Probe once more, re-probing what fails without being confirmed down: one slow answer of a busy but
        healthy service must not make it a suspect (or turn one failed service into "several")."""
        probes, dependencies = await self.observe()
        for _ in range(retries):
            doubtful = [n for n, p in probes.items() if not p.ok and n not in confirmed]
            doubtful_deps = [d.name for d in dependencies if not d.ok and "dependency:" + d.name not in confirmed]
            if not doubtful and not doubtful_deps:
                break
            await asyncio.sleep(0.2)
            again, again_deps = await self.observe()
            probes.update({name: again[name] for name in doubtful if name in again and again[name].ok})
            healed = {d.name for d in again_deps if d.ok and d.name in doubtful_deps}
            dependencies = [DependencyProbe(d.name, d.kind, True) if d.name in healed else d for d in dependencies]
        return probes, dependencies

    def _confirmed(self, incident: Incident | None = None) -> set[str]:
        return (
            set(self.down_now)
            | {"dependency:" + name for name in self.deps_down_now}
            | set(incident.services if incident else ())
        )

    def receive_alert(self, signal: AlertSignal) -> None:
        """An Alertmanager alert: a hint to look now; the platform and probes still confirm it."""
        self._alerts.append(signal)

    async def tick(self) -> Incident | None:
        """One round of probing; opens (or keeps) the one incident of an outage. Returns the open incident."""
        probes, dependencies = await self.observe()
        now = time.monotonic()
        # Overloaded (slow or throttling under load) is not down: no incident, no restart for load.
        results = {name: probe.up for name, probe in probes.items()}
        results.update({"dependency:" + d.name: d.ok for d in dependencies})
        self._seen_healthy.update(name for name, ok in results.items() if ok)
        grace_over = now - self._started >= STARTUP_GRACE_SECONDS * 12
        # Something never seen healthy is still starting (like the rest of `answer-ninja up`), not down; after the
        # grace it counts anyway, so a service that never comes up is still an incident.
        down = {
            name
            for name, ok in results.items()
            if self.flaps.record(name, ok or not (grace_over or name in self._seen_healthy), now)
        }
        self.down_now = [name for name in probes if name in down]
        self.deps_down_now = [d.name for d in dependencies if "dependency:" + d.name in down]
        alerts, self._alerts = self._alerts, []
        open_incident = self.store.open_incident()
        if open_incident is not None and (self._handler is None or self._handler.done()):
            # Left open by an earlier responder process: pick it up again.
            self._start_handler(open_incident)
        if open_incident is not None:
            for alert in alerts:
                self._event(open_incident, "alert", f"alert {alert.alertname} for {', '.join(alert.services)}")
            if alerts:
                self.store.save(open_incident)
            return open_incident
        failing_now = [name for name, probe in probes.items() if not probe.up]
        alerted = [s for alert in alerts for s in alert.services if s in probes and s in failing_now]
        security = any(alert.security for alert in alerts)
        if not (self.down_now or self.deps_down_now or alerted or security):
            if all(probe.ok for probe in probes.values()) and all(d.ok for d in dependencies) and probes:
                await self._remember_good_config()
            return None
        return await self._open(probes, alerts, alerted, security)

    async def _remember_good_config(self) -> None:
        """Config that every healthy instance actually started with is known-good (not one merely patched)."""
        snapshot = await self.platform.read_config()
        stored = self.store.get_value(KNOWN_GOOD_CONFIG_KEY)
        if stored == snapshot.data:
            return
        for service in await self.watched():
            instances = await self.platform.instances(service)
            if any(i.config_version not in (None, snapshot.version) for i in instances):
                return
        self.store.put(KNOWN_GOOD_CONFIG_KEY, snapshot.data)

    async def _open(
        self, probes: dict[str, ServiceProbe], alerts: list[AlertSignal], alerted: list[str], security: bool
    ) -> Incident:
        services = sorted(set(self.down_now) | set(alerted))
        firsts = [self.flaps.first_failure(name) for name in services]
        firsts += [self.flaps.first_failure("dependency:" + name) for name in self.deps_down_now]
        earliest = min((f for f in firsts if f is not None), default=time.monotonic())
        now = utc_now()
        incident = Incident(
            id=IncidentStore.new_id(),
            status=IncidentStatus.DETECTED,
            services=services,
            started_at=now - timedelta(seconds=max(0.0, time.monotonic() - earliest)),
            detected_at=now,
            source="alertmanager" if alerts and not self.down_now and not self.deps_down_now else "probe",
        )
        details = {name: probes[name].summary() for name in services if name in probes}
        self._event(incident, "first_failure", "first failed probe", at=incident.started_at)
        self._event(
            incident,
            "detected",
            f"down: {', '.join(services) or '-'}; dependencies down: {', '.join(self.deps_down_now) or '-'}"
            + (f"; alerts: {', '.join(a.alertname for a in alerts)}" if alerts else ""),
            probes=details,
        )
        if security:
            incident.diagnosis["security_signal"] = True
        self.store.save(incident)
        MTTD.observe(incident.mttd_seconds)
        await self._notify(incident)
        self._start_handler(incident)
        return incident

    def _start_handler(self, incident: Incident) -> None:
        self._handler = asyncio.create_task(self._handle_safely(incident), name=f"incident-{incident.id}")

    async def _handle_safely(self, incident: Incident) -> None:
        try:
            await self.handle(incident)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # the responder must survive its own bugs: escalate, keep probing
            log.exception("incident_handler_failed", incident=incident.id)
            await self._escalate(incident, f"responder error: {type(error).__name__}: {error}")

    # --- the runbook -------------------------------------------------------------------------------
    async def handle(self, incident: Incident) -> None:
        if incident.status in (IncidentStatus.DETECTED, IncidentStatus.CONFIRMED, IncidentStatus.MITIGATING):
            diagnosis = await self._confirm_and_diagnose(incident)
            if diagnosis is None:
                return
            if incident.diagnosis.get("security_signal"):
                await self._escalate(incident, "security signal: a person must look before anything is restarted")
            else:
                await self._remediate(incident, diagnosis)
        await self._until_resolved(incident)

    async def _settled_instances(self, services: list[str], failing: set[str]) -> dict[str, list[Instance]]:
        """Instances of every service, after letting failing ones that are still starting up show what they do.

        A process started a moment ago has not crashed *yet*; judging it now would call a crash loop a hang
        (a startup probe's grace, in Kubernetes words).
        """
        deadline = time.monotonic() + STARTUP_GRACE_SECONDS * 2
        while True:
            lists = await asyncio.gather(*(self.platform.instances(name) for name in services))
            instances = dict(zip(services, lists, strict=True))
            now = utc_now()
            starting = [
                i
                for name in failing
                for i in instances.get(name, [])
                if i.state == InstanceState.RUNNING
                and not i.ready
                and i.started_at is not None
                and (now - i.started_at).total_seconds() < STARTUP_GRACE_SECONDS
            ]
            if not starting or time.monotonic() >= deadline:
                return instances
            await asyncio.sleep(0.25)

    async def _confirm_and_diagnose(self, incident: Incident) -> Diagnosis | None:
        services = await self.watched()
        instances = await self._settled_instances(services, set(incident.services))
        probes, dependencies = await self.observe_steady(self._confirmed(incident))
        states = {name: [f"{i.name} {i.state} ready={i.ready}" for i in found] for name, found in instances.items()}
        if all(p.up for p in probes.values()) and all(d.ok for d in dependencies):
            incident.status = IncidentStatus.FALSE_ALARM
            self._event(incident, "not_confirmed", "every service and dependency healthy again (flap)", states=states)
            self.store.save(incident)
            await self._notify(incident)
            return None
        incident.status = IncidentStatus.CONFIRMED
        self._event(
            incident, "confirmed", "platform state checked (step 1), quick health check (step 2)", states=states
        )
        self.store.save(incident)

        diagnosis = diagnose(await self.gather(probes, dependencies, instances))
        incident.mode = diagnosis.mode
        incident.diagnosis.update(diagnosis.as_dict())
        incident.services = sorted(set(incident.services) | set(diagnosis.services))
        INCIDENTS.labels(str(diagnosis.mode)).inc()
        self._event(
            incident,
            "classified",
            f"mode {diagnosis.mode}: {', '.join(f'{s}={c}' for s, c in diagnosis.causes.items()) or '-'}"
            + (f"; dependencies down: {', '.join(diagnosis.dependencies_down)}" if diagnosis.dependencies_down else ""),
            evidence=diagnosis.evidence,
        )
        self.store.save(incident)
        await self._notify(incident)
        return diagnosis

    async def gather(
        self,
        probes: dict[str, ServiceProbe],
        dependencies: list[DependencyProbe],
        instances: dict[str, list[Instance]],
    ) -> Observation:
        """Everything step 3 looks at: revisions, last logs, node, app-config against the last known-good one."""
        failing = [name for name, probe in probes.items() if not probe.ok]
        revisions = {name: await self.platform.revisions(name) for name in failing}
        logs = {name: await self._logs(name) for name in failing}
        config = await self.platform.read_config()
        known_good: dict[str, str] | None = self.store.get_value(KNOWN_GOOD_CONFIG_KEY)
        changed: list[str] = []
        if known_good is not None:
            changed = sorted(k for k in set(known_good) | set(config.data) if known_good.get(k) != config.data.get(k))
        return Observation(
            probes=probes,
            dependencies=dependencies,
            instances=instances,
            nodes=await self.platform.node_status(),
            revisions=revisions,
            config_changed_keys=changed,
            last_logs=logs,
            now=utc_now(),
            recent_release=timedelta(seconds=self.settings.responder_recent_release_seconds),
        )

    async def diagnose_now(self) -> Diagnosis:
        """Steps 1-3 without opening an incident or acting (``answer-ninja ops diagnose``)."""
        services = await self.watched()
        instance_lists = await asyncio.gather(*(self.platform.instances(name) for name in services))
        probes, dependencies = await self.observe_steady(set())
        return diagnose(await self.gather(probes, dependencies, dict(zip(services, instance_lists, strict=True))))

    async def _logs(self, service: str) -> list[str]:
        try:
            return await self.platform.logs(service, tail=20)
        except Exception:  # logs are evidence, not a requirement
            return []

    async def _remediate(self, incident: Incident, diagnosis: Diagnosis) -> None:
        with_previous = [name for name in diagnosis.services if await self._has_previous_revision(name)]
        ladder = plan(diagnosis, with_previous_revision=with_previous)
        incident.status = IncidentStatus.MITIGATING
        self._event(incident, "planned", " -> ".join(f"{a.kind} {','.join(a.services)}" for a in ladder))
        self.store.save(incident)
        await self._notify(incident)
        if not self.settings.responder_enabled:
            await self._escalate(incident, "responder is in observe-only mode (RESPONDER_ENABLED=false)")
            return
        if diagnosis.mode == FailureMode.DEPENDENCY:
            config = await self.platform.read_config()
            if config.data.get("DEGRADED_MODE") != "true":
                await self._run(incident, ladder[0])
            await self._escalate(
                incident,
                escalation_reason(
                    incident, now=utc_now(), escalate_after=self._escalate_after, down_now=[], diagnosis=diagnosis
                )
                or "dependency down",
            )
            return
        for step in ladder:
            reason = escalation_reason(
                incident,
                now=utc_now(),
                escalate_after=self._escalate_after,
                down_now=self.down_now,
                diagnosis=diagnosis,
            )
            if reason is not None:
                await self._escalate(incident, reason)
                return
            record = await self._run(incident, step)
            if record.outcome == ActionOutcome.SKIPPED and record.detail.startswith("needs approval"):
                self._awaiting_approval.append(step)
            if record.outcome == ActionOutcome.SUCCEEDED and await self._all_healthy():
                return
        await self._escalate(
            incident,
            escalation_reason(
                incident, now=utc_now(), escalate_after=self._escalate_after, down_now=[], ladder_exhausted=True
            )
            or "automatic fixes exhausted",
        )

    async def _has_previous_revision(self, service: str) -> bool:
        revisions = await self.platform.revisions(service)
        current = next((r.number for r in revisions if r.current), 0)
        return any(r.number < current for r in revisions)

    @property
    def _escalate_after(self) -> timedelta:
        return timedelta(seconds=self.settings.responder_escalate_after_seconds)

    async def _run(self, incident: Incident, step: PlannedAction) -> Any:
        self._event(incident, "action_started", step.describe(), action=str(step.kind))
        self.store.save(incident)
        entering_degraded = step.kind == ActionKind.DEGRADE and step.params.get("enable", True)
        was_degraded = entering_degraded and await self._degraded_mode_on()
        record = await self.runner.run(step, incident)
        if entering_degraded and not was_degraded and await self._degraded_mode_on():
            # We turned it on (even if the step then failed and its undo did not take): ours to turn off, and the
            # incident stays open until we have (kept in the incident, so a restarted responder knows too).
            incident.diagnosis[DEGRADED_BY_RESPONDER] = True
        incident.actions.append(record)
        ACTIONS.labels(str(step.kind), str(record.outcome)).inc()
        self._event(
            incident,
            "action_ended",
            f"{step.kind} {','.join(step.services)}: {record.outcome} ({record.detail})",
            action=str(step.kind),
            outcome=str(record.outcome),
            seconds=round(record.seconds, 3),
        )
        self.store.save(incident)
        await self._notify(incident)
        return record

    async def _all_healthy(self) -> bool:
        probes, dependencies = await self.observe()
        return all(p.up for p in probes.values()) and all(d.ok for d in dependencies)

    async def _escalate(self, incident: Incident, reason: str) -> None:
        if incident.status == IncidentStatus.ESCALATED:
            return
        incident.status = IncidentStatus.ESCALATED
        incident.escalated_at = utc_now()
        incident.escalation_reason = reason
        self._event(incident, "escalated", reason)
        self.store.save(incident)
        await self._notify(incident)

    async def _until_resolved(self, incident: Incident) -> None:
        """Wait for every service to be healthy (fixed by us or a person), then verify and resolve."""
        interval = self.settings.responder_probe_interval_seconds
        while True:
            if await self._all_healthy():
                if incident.recovered_at is None:
                    incident.recovered_at = utc_now()
                    if incident.status != IncidentStatus.ESCALATED:
                        incident.status = IncidentStatus.RECOVERED
                    self._event(incident, "recovered", "every service passes /health and /ready")
                    self.store.save(incident)
                    await self._notify(incident)
                if not await self._leave_degraded_mode(incident):
                    await asyncio.sleep(interval)  # not resolved while degraded mode we set is on: try again
                    continue
                report = await verify(self.platform, self.settings, await self.watched())
                summary = "; ".join(f"{'✅' if c.ok else '❌'} {c.name}: {c.detail}" for c in report.checks)
                last = next((e for e in reversed(incident.timeline) if e.kind == "verification_failed"), None)
                # A verification that keeps failing the same way is one timeline line, not one per probe interval.
                if report.ok or last is None or last.message != summary:
                    self._event(incident, "verified" if report.ok else "verification_failed", summary)
                if report.ok:
                    incident.resolved_at = utc_now()
                    incident.status = IncidentStatus.RESOLVED
                    self._event(incident, "resolved", f"MTTR {incident.mttr_seconds:.1f}s")
                    self.store.save(incident)
                    if incident.mttr_seconds is not None:
                        MTTR.observe(incident.mttr_seconds)
                    await self._notify(incident)
                    return
                self.store.save(incident)
                await self._escalate(incident, "verification failed: " + ", ".join(c.name for c in report.failed()))
            elif await self._run_approved(incident):
                continue
            elif (
                incident.status != IncidentStatus.ESCALATED and utc_now() - incident.started_at >= self._escalate_after
            ):
                await self._escalate(
                    incident, f"not recovered after {self._escalate_after.total_seconds() / 60:g} minutes"
                )
            await asyncio.sleep(interval)

    async def _degraded_mode_on(self) -> bool:
        try:
            return (await self.platform.read_config()).data.get("DEGRADED_MODE") == "true"
        except Exception:  # unknown counts as "not ours": never claim a change we cannot see
            return False

    async def _leave_degraded_mode(self, incident: Incident) -> bool:
        """The cause is gone: turn off the degraded mode this incident turned on. True when it is off (or was
        never ours); False leaves the incident open to try again."""
        if not incident.diagnosis.get(DEGRADED_BY_RESPONDER):
            return True
        if await self._degraded_mode_on():
            record = await self._run(
                incident,
                PlannedAction(
                    ActionKind.DEGRADE, DEGRADE_RESTARTS, "cause gone: leave degraded mode", {"enable": False}
                ),
            )
            if record.outcome != ActionOutcome.SUCCEEDED or await self._degraded_mode_on():
                return False
        incident.diagnosis.pop(DEGRADED_BY_RESPONDER, None)
        self._event(incident, "degraded_mode_off", "degraded mode turned off: the cause is gone")
        self.store.save(incident)
        return True

    async def _run_approved(self, incident: Incident) -> bool:
        """Run a step that was waiting for a person's approval, once given; True if one ran."""
        for step in list(self._awaiting_approval):
            if self.runner.guard(step, incident) is None:
                self._awaiting_approval.remove(step)
                self._event(incident, "approved", f"{step.kind} {','.join(step.services)} approved by a person")
                await self._run(incident, step)
                return True
        return False

    # --- bookkeeping -------------------------------------------------------------------------------
    def _event(self, incident: Incident, kind: str, message: str, *, at: Any = None, **data: Any) -> None:
        incident.timeline.append(TimelineEvent(at or utc_now(), kind, message, data))
        log.info("incident_event", incident=incident.id, kind=kind, detail=message)

    async def _notify(self, incident: Incident) -> None:
        error = await self.notifier.notify(incident)
        self._event(incident, "notified", f"{incident.status}" + (f" ({error})" if error else ""))
        self.store.save(incident)

    async def run_forever(self, stop: asyncio.Event) -> None:
        interval = self.settings.responder_probe_interval_seconds
        while not stop.is_set():
            try:
                await self.tick()
            except Exception as error:  # a platform hiccup must not end detection
                log.warning("responder_tick_failed", error=f"{type(error).__name__}: {error}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)
