"""Small builders of the responder's vocabulary for unit tests."""

from __future__ import annotations

from datetime import timedelta

from answer_ninja.ops.diagnose import Observation
from answer_ninja.ops.models import DependencyProbe, Incident, IncidentStatus, ServiceProbe, utc_now
from answer_ninja.ops.platforms.base import Instance, InstanceState, NodeStatus, Revision

HEALTHY = ("phone-gateway", "realtime-processor", "conversation-engine", "profile-analytics")


def ok(service: str) -> ServiceProbe:
    return ServiceProbe(service, True, True)


def dead(service: str, error: str = "ConnectError") -> ServiceProbe:
    return ServiceProbe(service, False, False, health_error=error)


def unready(service: str, *failed: str) -> ServiceProbe:
    return ServiceProbe(service, True, False, ready_failed=failed)


def instance(
    service: str,
    state: InstanceState = InstanceState.RUNNING,
    *,
    code: int | None = None,
    reason: str | None = None,
    crashes: int = 0,
    revision: int = 1,
    ready: bool = True,
) -> Instance:
    return Instance(
        name=service,
        service=service,
        state=state,
        ready=ready,
        restarts=crashes,
        last_exit_code=code,
        last_exit_reason=reason,
        consecutive_crashes=crashes,
        revision=revision,
    )


def observation(*probes: ServiceProbe, **kwargs: object) -> Observation:
    found = {probe.service: probe for probe in probes}
    for name in HEALTHY:
        found.setdefault(name, ok(name))
    return Observation(probes=found, now=utc_now(), **kwargs)  # type: ignore[arg-type]


def revisions(current: int, *, age_seconds: float = 10.0) -> list[Revision]:
    now = utc_now()
    return [
        Revision(number, now - timedelta(seconds=age_seconds if number == current else 3600), "r", number == current)
        for number in range(1, current + 1)
    ]


def node(**pressure: bool) -> NodeStatus:
    return NodeStatus("box", True, details={"load_per_cpu": 5.0}, **pressure)


def down(name: str, kind: str = "database", error: str = "connection refused") -> DependencyProbe:
    return DependencyProbe(name, kind, False, error)


def incident(*services: str, started_seconds_ago: float = 5.0) -> Incident:
    now = utc_now()
    return Incident(
        id="INC-test",
        status=IncidentStatus.DETECTED,
        services=list(services),
        started_at=now - timedelta(seconds=started_seconds_ago),
        detected_at=now - timedelta(seconds=started_seconds_ago - 1.5),
        source="probe",
    )
