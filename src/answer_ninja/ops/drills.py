"""Fire drills (每月进行故障演练): inject one fault into the running local stack and measure the responder.

Each drill injects its fault at a known moment, then follows the incident the responder opens through its API
until it is resolved (or escalated, for the faults only a person can fix), and reports the failure mode found,
the actions taken, MTTD (fault -> detection) and MTTR (fault -> verified recovery).
"""

from __future__ import annotations

import asyncio
import shlex
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from answer_ninja.ops.models import FailureMode
from answer_ninja.ops.platforms.base import ResourceLimits
from answer_ninja.ops.platforms.local import LocalPlatform
from answer_ninja.supervisor.supervisor import free_loopback_port, service_argv


@dataclass(frozen=True)
class Fault:
    name: str
    expected_mode: FailureMode
    description: str
    default_services: tuple[str, ...] = ("phone-gateway",)
    dependency: bool = False  # only a person (here: the restore command) can fix it: expect escalation


FAULTS: dict[str, Fault] = {
    fault.name: fault
    for fault in (
        Fault("kill", FailureMode.SINGLE_SERVICE, "SIGKILL the service's process"),
        Fault("crash-loop", FailureMode.SINGLE_SERVICE, "bad app-config value (LOG_LEVEL=LOUD), then restart"),
        Fault("hang", FailureMode.SINGLE_SERVICE, "SIGSTOP: alive but not answering"),
        Fault("bad-release", FailureMode.SINGLE_SERVICE, "deploy a revision that never gets ready"),
        Fault("oom", FailureMode.SINGLE_SERVICE, "a memory limit the service cannot live in (16Mi)"),
        Fault(
            "two-down",
            FailureMode.MULTIPLE_SERVICES,
            "SIGKILL two services at once",
            ("phone-gateway", "conversation-engine"),
        ),
        Fault("postgres-down", FailureMode.DEPENDENCY, "stop PostgreSQL", (), dependency=True),
        Fault("redis-down", FailureMode.DEPENDENCY, "stop Redis", (), dependency=True),
        Fault("llm-down", FailureMode.DEPENDENCY, "stop the LLM provider", (), dependency=True),
    )
}


def never_ready_argv(service: str) -> list[str]:
    """The bad release: the service's own entry point, listening on a port nobody is sent to, so the revision
    never gets ready where it should (a revision may change flags, never run another program)."""
    return [*service_argv(service, free_loopback_port())]


BAD_CONFIG = {"LOG_LEVEL": "LOUD"}
TOO_LITTLE_MEMORY = "16Mi"


@dataclass
class DrillResult:
    fault: str
    services: list[str]
    expected_mode: str
    injected_at: datetime
    incident: dict[str, Any] | None = None
    restored_at: datetime | None = None  # when the drill brought a dependency back
    notes: list[str] = field(default_factory=list)

    @property
    def mode(self) -> str | None:
        return None if self.incident is None else self.incident.get("mode")

    @property
    def actions(self) -> list[str]:
        return [] if self.incident is None else [a["kind"] for a in self.incident["actions"]]

    def _since_injection(self, key: str) -> float | None:
        if self.incident is None or self.incident.get(key) is None:
            return None
        return (datetime.fromisoformat(self.incident[key]) - self.injected_at).total_seconds()

    @property
    def mttd_seconds(self) -> float | None:
        return self._since_injection("detected_at")

    @property
    def mttr_seconds(self) -> float | None:
        """Fault -> verified recovery; for dependency faults, from the dependency's return."""
        resolved = self._since_injection("resolved_at")
        if resolved is None or self.restored_at is None:
            return resolved
        return resolved - (self.restored_at - self.injected_at).total_seconds()

    @property
    def escalated(self) -> bool:
        return self.incident is not None and self.incident.get("escalated_at") is not None

    @property
    def passed(self) -> bool:
        recovered = self.incident is not None and self.incident["status"] == "resolved"
        return self.mode == self.expected_mode and recovered and (self.escalated or not FAULTS[self.fault].dependency)

    def as_dict(self) -> dict[str, Any]:
        return {
            "fault": self.fault,
            "services": self.services,
            "expected_mode": self.expected_mode,
            "mode": self.mode,
            "actions": self.actions,
            "escalated": self.escalated,
            "status": None if self.incident is None else self.incident["status"],
            "incident": None if self.incident is None else self.incident["id"],
            "mttd_seconds": None if self.mttd_seconds is None else round(self.mttd_seconds, 2),
            "mttr_seconds": None if self.mttr_seconds is None else round(self.mttr_seconds, 2),
            "passed": self.passed,
            "notes": self.notes,
        }


Hook = Callable[[], Awaitable[None]]


def shell_hook(command: str | None) -> Hook | None:
    """A drill hook that runs ``command`` (no shell) and fails if it does."""
    if not command:
        return None

    async def run() -> None:
        await _shell(command)

    return run


async def _shell(command: str) -> None:
    process = await asyncio.create_subprocess_exec(
        *shlex.split(command), stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    _, stderr = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"{command!r} exited {process.returncode}: {stderr.decode(errors='replace')[-300:]}")


async def inject(fault: Fault, platform: LocalPlatform, services: list[str], stop: Hook | None) -> None:
    if fault.name in ("kill", "two-down"):
        for service in services:
            await platform.signal(service, "SIGKILL")
    elif fault.name == "hang":
        await platform.signal(services[0], "SIGSTOP")
    elif fault.name == "crash-loop":
        await platform.patch_config(dict(BAD_CONFIG))
        await platform.restart(services[0])
    elif fault.name == "oom":
        await platform.set_resource_limits(services[0], ResourceLimits(memory=TOO_LITTLE_MEMORY))
    elif fault.name == "bad-release":
        await platform.deploy(
            services[0],
            env={},
            argv=never_ready_argv(services[0]),
            change_cause="drill: release that never gets ready",
        )
    elif fault.dependency:
        if stop is None:
            raise ValueError(f"drill {fault.name} needs --stop-command (and --start-command to bring it back)")
        await stop()


async def _incident_after(
    client: httpx.AsyncClient, responder_url: str, since: datetime, done: tuple[str, ...], timeout: float
) -> dict[str, Any] | None:
    """The first incident that started after ``since``, once its status is one of ``done``."""
    deadline = time.monotonic() + timeout
    found: dict[str, Any] | None = None
    while time.monotonic() < deadline:
        try:
            incidents = (await client.get(responder_url + "/incidents", params={"limit": 20})).json()
        except (httpx.HTTPError, ValueError):
            incidents = []
        fresh = [i for i in incidents if datetime.fromisoformat(i["detected_at"]) >= since]
        if fresh:
            found = min(fresh, key=lambda i: i["detected_at"])
            if found["status"] in done:
                return found
        await asyncio.sleep(0.2)
    return found


async def run_drill(
    fault_name: str,
    *,
    platform: LocalPlatform,
    responder_url: str,
    responder_headers: dict[str, str] | None = None,
    services: list[str] | None = None,
    stop: Hook | None = None,
    start: Hook | None = None,
    timeout: float = 120.0,
) -> DrillResult:
    fault = FAULTS[fault_name]
    targets = list(services or fault.default_services)
    injected_at = datetime.now(UTC)
    result = DrillResult(fault.name, targets, str(fault.expected_mode), injected_at)
    await inject(fault, platform, targets, stop)
    async with httpx.AsyncClient(timeout=5.0, headers=responder_headers) as client:
        if not fault.dependency:
            result.incident = await _incident_after(
                client, responder_url, injected_at, ("resolved", "escalated"), timeout
            )
            return result
        escalated = await _incident_after(client, responder_url, injected_at, ("escalated", "resolved"), timeout)
        result.incident = escalated
        if start is not None:
            await start()
            result.restored_at = datetime.now(UTC)
            result.incident = await _incident_after(client, responder_url, injected_at, ("resolved",), timeout)
        else:
            result.notes.append("no --start-command: the dependency stays down, the incident stays escalated")
    return result
