"""The one interface the responder drives, whether the services run locally (``answer-ninja up``) or on Kubernetes.

Every runbook command maps to one method here, named after what it does, not how a platform spells it:

| runbook (kubectl)                                   | Platform method                       |
|-----------------------------------------------------|---------------------------------------|
| get pods -l app=<svc>                               | ``instances(service)``                |
| get events ... involvedObject.name=<svc>            | ``events(service)``                   |
| logs deployment/<svc> --tail=50                     | ``logs(service, tail=50)``            |
| rollout restart + rollout status --timeout=120s     | ``restart(service)`` + ``wait_ready`` |
| scale deployment <svc> --replicas=N                 | ``scale(service, replicas)``          |
| patch deployment ... resources.limits               | ``set_resource_limits``               |
| get/patch configmap app-config; apply backup        | ``read_config``/``patch_config``/``restore_config`` |
| rollout history / rollout undo [--to-revision]      | ``revisions`` / ``rollback``          |
| patch service phone-gateway selector -> backup      | ``switch_traffic``                    |
| get nodes / top nodes                               | ``node_status``                       |

Implementations: ``local.py`` (the supervisor's control API) and ``kubernetes.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol


class InstanceState(StrEnum):
    RUNNING = "Running"
    PENDING = "Pending"
    CRASH_LOOP = "CrashLoopBackOff"
    TERMINATING = "Terminating"
    STOPPED = "Stopped"
    FAILED = "Error"
    UNKNOWN = "Unknown"


@dataclass(frozen=True)
class Instance:
    """One running copy of a service: a pod, or a process under the local supervisor."""

    name: str
    service: str
    state: InstanceState
    ready: bool
    restarts: int
    started_at: datetime | None = None
    last_exit_code: int | None = None
    last_exit_reason: str | None = None  # Completed | Error | Killed | OOMKilled
    address: str | None = None  # base URL to probe this instance directly
    # Added by the responder (additive): crash-loop count, the revision it runs, its process id.
    consecutive_crashes: int = 0
    revision: int | None = None
    pid: int | None = None
    config_version: str | None = None  # which app-config it started with (ConfigSnapshot.version)


@dataclass(frozen=True)
class PlatformEvent:
    at: datetime
    service: str
    type: str  # Normal | Warning
    reason: str
    message: str


@dataclass(frozen=True)
class Revision:
    number: int
    created_at: datetime | None
    change_cause: str
    current: bool


@dataclass(frozen=True)
class ResourceLimits:
    memory: str | None = None  # Kubernetes quantity, e.g. "2Gi"
    cpu: str | None = None  # e.g. "1000m"


@dataclass(frozen=True)
class ConfigSnapshot:
    """app-config at one moment, restorable as it was."""

    data: dict[str, str]
    taken_at: datetime
    version: str | None = None  # resourceVersion on Kubernetes, a digest locally


@dataclass(frozen=True)
class NodeStatus:
    name: str
    ready: bool
    memory_pressure: bool = False
    disk_pressure: bool = False
    cpu_pressure: bool = False
    details: dict[str, float] = field(default_factory=dict)  # e.g. memory_used_fraction, disk_used_fraction


class Platform(Protocol):
    """What the responder may observe and change. Every change is one the runbook names."""

    name: str

    # --- observe ---
    async def services(self) -> list[str]:
        """The services deployed on this platform (the responder watches these)."""
        ...

    async def instances(self, service: str) -> list[Instance]: ...

    async def events(self, service: str | None = None, *, limit: int = 20) -> list[PlatformEvent]: ...

    async def logs(self, service: str, *, tail: int = 50) -> list[str]: ...

    async def service_url(self, service: str) -> str: ...

    async def node_status(self) -> list[NodeStatus]: ...

    # --- change, each waiting as the runbook does ---
    async def restart(self, service: str) -> None: ...

    async def wait_ready(self, service: str, *, timeout: float = 120.0) -> bool: ...

    async def replicas(self, service: str) -> int: ...

    async def scale(self, service: str, replicas: int) -> None: ...

    async def resource_limits(self, service: str) -> ResourceLimits: ...

    async def set_resource_limits(self, service: str, limits: ResourceLimits) -> None: ...

    async def read_config(self) -> ConfigSnapshot: ...

    async def patch_config(self, changes: dict[str, str | None]) -> ConfigSnapshot: ...

    async def restore_config(self, snapshot: ConfigSnapshot) -> None: ...

    async def revisions(self, service: str) -> list[Revision]: ...

    async def rollback(self, service: str, *, to_revision: int | None = None) -> None: ...

    async def traffic_target(self, service: str) -> str: ...

    async def switch_traffic(self, service: str, *, to: str) -> None: ...

    async def close(self) -> None: ...
