"""Runbook step 3: which failure mode (A one service, B several / the machine, C a dependency), with evidence.

Pure: takes what was observed (probes, instances, dependencies, node, revisions, config) and returns a
Diagnosis whose evidence lines a person can read and check.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from answer_ninja.ops.models import Cause, DependencyProbe, Diagnosis, FailureMode, ServiceProbe
from answer_ninja.ops.platforms.base import Instance, InstanceState, NodeStatus, Revision

# What a service's /ready calls a dependency, by the responder's name for it.
READY_NAMES = {"postgres": ("postgres", "database"), "redis": ("redis", "cache")}


@dataclass
class Observation:
    """Everything seen during one diagnosis, gathered by the responder from the platform and its probes."""

    probes: dict[str, ServiceProbe]
    dependencies: list[DependencyProbe] = field(default_factory=list)
    instances: dict[str, list[Instance]] = field(default_factory=dict)
    nodes: list[NodeStatus] = field(default_factory=list)
    revisions: dict[str, list[Revision]] = field(default_factory=dict)
    # Keys where app-config differs from the last known-good one (empty: same, or none recorded yet).
    config_changed_keys: list[str] = field(default_factory=list)
    last_logs: dict[str, list[str]] = field(default_factory=dict)
    now: datetime | None = None
    recent_release: timedelta = timedelta(minutes=30)


def failing_services(probes: dict[str, ServiceProbe]) -> list[str]:
    """Services that are down; an overloaded one (slow or throttling under load) is not: nothing to fix."""
    return [name for name, probe in probes.items() if not probe.up]


def root_failures(probes: dict[str, ServiceProbe]) -> tuple[list[str], dict[str, list[str]]]:
    """Failing services minus those failing only because a service they call is down (a cascade)."""
    failing = set(failing_services(probes))
    dead = {name for name in failing if not probes[name].health_ok}
    cascaded: dict[str, list[str]] = {}
    for name in failing:
        probe = probes[name]
        blamed = [dependency for dependency in probe.ready_failed if dependency in dead]
        if probe.health_ok and blamed and len(blamed) == len(probe.ready_failed):
            cascaded[name] = blamed
    roots = [name for name in probes if name in failing and name not in cascaded]
    return roots, cascaded


def _recent_revision(observation: Observation, service: str) -> Revision | None:
    current = next((r for r in observation.revisions.get(service, []) if r.current), None)
    if current is None or current.number <= 1 or current.created_at is None or observation.now is None:
        return None
    return current if observation.now - current.created_at <= observation.recent_release else None


def classify_cause(observation: Observation, service: str, evidence: list[str]) -> Cause:
    probe = observation.probes[service]
    instances = observation.instances.get(service, [])
    for instance in instances:
        exit_text = f"last exit {instance.last_exit_reason or '-'}"
        if instance.last_exit_code is not None:
            exit_text += f" (code {instance.last_exit_code})"
        evidence.append(
            f"{instance.name}: state {instance.state}, restarts {instance.restarts}, "
            f"crash-loop count {instance.consecutive_crashes}, {exit_text}, revision {instance.revision}"
        )
    evidence.append(f"{service}: {probe.summary()}")
    config_drift = bool(observation.config_changed_keys)
    if any(instance.last_exit_reason == "OOMKilled" for instance in instances):
        evidence.append(f"{service}: killed for memory (OOMKilled)")
        return Cause.OOM
    release = _recent_revision(observation, service)
    exited_with_error = any(
        instance.state in (InstanceState.CRASH_LOOP, InstanceState.FAILED) and instance.last_exit_code not in (None, 0)
        for instance in instances
    )
    if exited_with_error and config_drift:
        evidence.append(
            f"app-config differs from the last known-good one in {', '.join(observation.config_changed_keys)}"
        )
        return Cause.BAD_CONFIG
    if release is not None:
        age = (observation.now - release.created_at).total_seconds() if observation.now and release.created_at else 0
        evidence.append(f"{service}: revision {release.number} ({release.change_cause!r}) released {age:.0f}s ago")
        return Cause.BAD_RELEASE
    if exited_with_error:
        return Cause.CRASH_LOOP
    if any(i.state in (InstanceState.CRASH_LOOP, InstanceState.STOPPED, InstanceState.FAILED) for i in instances):
        return Cause.KILLED
    if not probe.health_ok and any(i.state == InstanceState.RUNNING for i in instances):
        return Cause.HANG
    if probe.health_ok:
        return Cause.NOT_READY
    return Cause.UNKNOWN


def diagnose(observation: Observation) -> Diagnosis:
    evidence: list[str] = []
    deps_down = [dep for dep in observation.dependencies if not dep.ok]
    pressure = [
        f"{node.name}: {condition}"
        for node in observation.nodes
        for condition, on in (
            ("MemoryPressure", node.memory_pressure),
            ("DiskPressure", node.disk_pressure),
        )
        if on
    ]
    # CPU load is evidence, not a failure mode: a busy machine still runs healthy services (kubelet has no
    # CPUPressure condition either), and on a shared 2-core box the load average alone would say "B" all day.
    evidence += [
        f"{node.name}: high CPU load {node.details.get('load_per_cpu', 0):.1f} per CPU"
        for node in observation.nodes
        if node.cpu_pressure
    ]
    roots, cascaded = root_failures(observation.probes)
    for name, blamed in cascaded.items():
        evidence.append(f"{name}: not ready only because {', '.join(blamed)} is down (cascade, not a cause)")

    if deps_down:
        causes: dict[str, Cause] = {}
        for dep in deps_down:
            evidence.append(f"dependency {dep.name} ({dep.kind}) is down: {dep.error}")
            aliases = READY_NAMES.get(dep.name, (dep.name,))
            reporters = [
                name for name, probe in observation.probes.items() if any(a in probe.ready_failed for a in aliases)
            ]
            for name in reporters:
                causes[name] = Cause.DEPENDENCY
            if reporters:
                evidence.append(f"/ready of {', '.join(reporters)} names {dep.name}")
        alive = [name for name in failing_services(observation.probes) if observation.probes[name].health_ok]
        if alive:
            evidence.append(f"alive (/health ok) but not ready: {', '.join(alive)}")
        return Diagnosis(
            FailureMode.DEPENDENCY,
            sorted(causes) or failing_services(observation.probes),
            causes,
            evidence,
            [dep.name for dep in deps_down],
            pressure,
        )

    causes = {name: classify_cause(observation, name, evidence) for name in roots}
    for name in roots:
        for line in observation.last_logs.get(name, [])[-3:]:
            evidence.append(f"{name} log: {line[:200]}")
    evidence.extend(f"node condition {item}" for item in pressure)
    mode = FailureMode.SINGLE_SERVICE if len(roots) == 1 and not pressure else FailureMode.MULTIPLE_SERVICES
    return Diagnosis(mode, roots, causes, evidence, [], pressure)
