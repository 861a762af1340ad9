"""The responder's vocabulary, defined once: probes, failure modes, evidence, actions, incidents."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


def utc_now() -> datetime:
    return datetime.now(UTC)


class FailureMode(StrEnum):
    """The runbook's step 3."""

    SINGLE_SERVICE = "A"  # one service failing
    MULTIPLE_SERVICES = "B"  # several services, or the machine itself
    DEPENDENCY = "C"  # PostgreSQL, Redis, a speech/LLM provider: services alive but not ready


class Cause(StrEnum):
    """What the evidence says happened to a failing service; picks the first rung of the ladder."""

    KILLED = "killed"  # exited / killed, the platform is bringing it back
    CRASH_LOOP = "crash_loop"  # exits at every start
    BAD_CONFIG = "bad_config"  # crash loop after app-config changed from the last known-good one
    HANG = "hang"  # running, but /health does not answer
    BAD_RELEASE = "bad_release"  # not ready since a recent new revision
    OOM = "oom"  # killed for memory
    NOT_READY = "not_ready"  # alive, /ready fails, no dependency to blame
    DEPENDENCY = "dependency"
    UNKNOWN = "unknown"


class IncidentStatus(StrEnum):
    DETECTED = "detected"
    CONFIRMED = "confirmed"
    MITIGATING = "mitigating"
    RECOVERED = "recovered"  # services back, verification running
    RESOLVED = "resolved"  # verified
    ESCALATED = "escalated"  # a person must act
    FALSE_ALARM = "false_alarm"  # not confirmed: flapping or already gone


class ActionKind(StrEnum):
    """The runbook's remedies (方案1-5)."""

    RESTART = "restart"
    RESTART_ALL = "restart_all"
    RESTORE_CONFIG = "restore_config"
    SCALE = "scale"
    RAISE_LIMITS = "raise_limits"
    ROLLBACK = "rollback"
    DEGRADE = "degrade"
    FAILOVER = "failover"


class ActionOutcome(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # verification failed, undone
    SKIPPED = "skipped"  # budget, approval or dry-run
    DRY_RUN = "dry_run"


@dataclass(frozen=True)
class ServiceProbe:
    """One service's /health and /ready, seen from the responder."""

    service: str
    health_ok: bool
    ready_ok: bool
    health_error: str | None = None
    ready_failed: tuple[str, ...] = ()  # what /ready names as failed (dependencies)
    degraded: bool = False
    latency_ms: float = 0.0
    # Slow or throttling because of load (/ready timed out while /health answered, or 429/503 with Retry-After):
    # not down. A restart would only drop the work in flight and let the flood hit a cold process.
    overloaded: bool = False

    @property
    def ok(self) -> bool:
        return self.health_ok and self.ready_ok

    @property
    def up(self) -> bool:
        """Not down: healthy, or only overloaded (the responder does not act on load)."""
        return self.ok or self.overloaded

    def summary(self) -> str:
        if self.ok:
            return "ok (degraded)" if self.degraded else "ok"
        if self.overloaded:
            return "overloaded (slow or throttling under load; not down)"
        if not self.health_ok:
            return f"/health failed: {self.health_error or 'error'}"
        return "/ready failed: " + (", ".join(self.ready_failed) or "not ready")


@dataclass(frozen=True)
class DependencyProbe:
    """A dependency checked by the responder itself (pg_isready, redis-cli ping, curl -I)."""

    name: str
    kind: str  # database | cache | provider
    ok: bool
    error: str | None = None


@dataclass
class Diagnosis:
    mode: FailureMode
    services: list[str]
    causes: dict[str, Cause]
    evidence: list[str]
    dependencies_down: list[str] = field(default_factory=list)
    node_pressure: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "mode": str(self.mode),
            "services": self.services,
            "causes": {name: str(cause) for name, cause in self.causes.items()},
            "evidence": self.evidence,
            "dependencies_down": self.dependencies_down,
            "node_pressure": self.node_pressure,
        }


@dataclass(frozen=True)
class PlannedAction:
    kind: ActionKind
    services: tuple[str, ...]
    reason: str
    params: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        target = ", ".join(self.services) or "-"
        extra = " ".join(f"{key}={value}" for key, value in self.params.items())
        return f"{self.kind} {target} {extra}".strip() + f"  ({self.reason})"


@dataclass
class ActionRecord:
    kind: ActionKind
    services: tuple[str, ...]
    reason: str
    outcome: ActionOutcome
    started_at: datetime
    ended_at: datetime
    detail: str = ""

    @property
    def seconds(self) -> float:
        return (self.ended_at - self.started_at).total_seconds()


@dataclass(frozen=True)
class TimelineEvent:
    at: datetime
    kind: str  # detected, confirmed, classified, action_started, action_ended, recovered, verified, ...
    message: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Incident:
    id: str
    status: IncidentStatus
    services: list[str]
    started_at: datetime  # first failed probe or alert
    detected_at: datetime  # confirmed by the flap rule / alert
    source: str  # probe | alertmanager | manual
    mode: FailureMode | None = None
    diagnosis: dict[str, Any] = field(default_factory=dict)
    recovered_at: datetime | None = None
    resolved_at: datetime | None = None
    escalated_at: datetime | None = None
    escalation_reason: str | None = None
    timeline: list[TimelineEvent] = field(default_factory=list)
    actions: list[ActionRecord] = field(default_factory=list)

    @property
    def mttd_seconds(self) -> float:
        return (self.detected_at - self.started_at).total_seconds()

    @property
    def mttr_seconds(self) -> float | None:
        end = self.resolved_at or self.recovered_at
        return None if end is None else (end - self.started_at).total_seconds()
