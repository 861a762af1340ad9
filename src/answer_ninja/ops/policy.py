"""Which remedies to try, in which order, for a diagnosis: one ladder per failure mode (pure)."""

from __future__ import annotations

from collections.abc import Iterable

from answer_ninja.catalogue import CORE_SERVICES
from answer_ninja.ops.models import ActionKind, Cause, Diagnosis, FailureMode, PlannedAction

# Services whose restart applies degraded mode (the runbook's 方案5.1).
DEGRADE_RESTARTS: tuple[str, ...] = ("phone-gateway", "realtime-processor")
# Services with a standby the runbook fails over to (方案5.2).
BACKUPS: dict[str, str] = {"phone-gateway": "phone-gateway-backup"}


def _ladder_for(service: str, cause: Cause, *, has_previous_revision: bool) -> list[PlannedAction]:
    one = (service,)
    restart = PlannedAction(ActionKind.RESTART, one, f"{cause}: restart brings a fresh process")
    rollback = PlannedAction(ActionKind.ROLLBACK, one, f"{cause}: go back to the previous revision")
    steps: list[PlannedAction]
    if cause == Cause.BAD_CONFIG:
        steps = [PlannedAction(ActionKind.RESTORE_CONFIG, one, "app-config changed: restore last known-good"), restart]
    elif cause == Cause.BAD_RELEASE:
        steps = [PlannedAction(ActionKind.ROLLBACK, one, "not ready since a new revision: roll it back"), restart]
    elif cause == Cause.OOM:
        steps = [PlannedAction(ActionKind.RAISE_LIMITS, one, "OOMKilled: double the memory limit"), restart]
    elif cause == Cause.CRASH_LOOP:
        steps = [restart, rollback] if has_previous_revision else [restart]
    else:
        steps = [restart, rollback] if has_previous_revision else [restart]
    if service in BACKUPS:
        steps.append(PlannedAction(ActionKind.FAILOVER, one, "still down: send traffic to the standby"))
    return steps


def plan(diagnosis: Diagnosis, *, with_previous_revision: Iterable[str] = ()) -> list[PlannedAction]:
    """The ladder for ``diagnosis``: try each step until verification passes; degrade is the last resort."""
    previous = set(with_previous_revision)
    degrade = PlannedAction(ActionKind.DEGRADE, DEGRADE_RESTARTS, "keep answering calls with templates")
    if diagnosis.mode == FailureMode.DEPENDENCY:
        # Restarting healthy services does not bring a database back: degrade, and a person takes over.
        return [
            PlannedAction(
                ActionKind.DEGRADE, DEGRADE_RESTARTS, "dependency down: " + ", ".join(diagnosis.dependencies_down)
            )
        ]
    if diagnosis.mode == FailureMode.MULTIPLE_SERVICES:
        ordered = [name for name in CORE_SERVICES if name in diagnosis.services]
        ordered += [name for name in diagnosis.services if name not in ordered]
        steps = [PlannedAction(ActionKind.RESTART_ALL, tuple(ordered), "several services down: restart in order")]
        for name in ordered:
            steps += [
                step
                for step in _ladder_for(
                    name, diagnosis.causes.get(name, Cause.UNKNOWN), has_previous_revision=name in previous
                )
                if step.kind not in (ActionKind.RESTART,)
            ]
        return [*steps, degrade]
    service = diagnosis.services[0]
    cause = diagnosis.causes.get(service, Cause.UNKNOWN)
    return [*_ladder_for(service, cause, has_previous_revision=service in previous), degrade]
