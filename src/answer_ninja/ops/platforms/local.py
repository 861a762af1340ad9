"""The Platform of ``answer-ninja up``: every runbook command becomes a call to the supervisor's control API."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from answer_ninja.ops.platforms.base import (
    ConfigSnapshot,
    Instance,
    InstanceState,
    NodeStatus,
    PlatformEvent,
    ResourceLimits,
    Revision,
)
from answer_ninja.platform.settings import Settings
from answer_ninja.supervisor.client import SupervisorClient
from answer_ninja.supervisor.process import config_digest

# The node conditions kubelet would report, from what psutil measures here.
MEMORY_PRESSURE_FRACTION = 0.95
DISK_PRESSURE_FRACTION = 0.95
CPU_PRESSURE_LOAD_PER_CPU = 4.0
READY_POLL_SECONDS = 0.2


def _parse_memory(quantity: str) -> int:
    """Kubernetes memory quantity ("512Mi", "2Gi", "300M") -> MiB."""
    units = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024, "K": 1 / 1048.576, "M": 1 / 1.048576, "G": 1000 / 1.048576}
    for suffix, factor in sorted(units.items(), key=lambda item: -len(item[0])):
        if quantity.endswith(suffix):
            return max(1, round(float(quantity.removesuffix(suffix)) * factor))
    return max(1, round(int(quantity) / 1_048_576))


class LocalPlatform:
    name = "local"

    def __init__(self, settings: Settings, *, supervisor_url: str | None = None) -> None:
        self.settings = settings
        self.supervisor = SupervisorClient.for_settings(settings, supervisor_url)
        self._http = httpx.AsyncClient(timeout=settings.responder_probe_timeout_seconds)

    async def close(self) -> None:
        await self.supervisor.close()
        await self._http.aclose()

    # --- observe ---
    async def services(self) -> list[str]:
        return [row["name"] for row in await self.supervisor.services()]

    async def instances(self, service: str) -> list[Instance]:
        try:
            rows = await self.supervisor.instances(service)
        except httpx.HTTPStatusError as error:
            if error.response.status_code == 404:
                return []
            raise
        ready = await asyncio.gather(*(self._ready(row["port"]) for row in rows))
        return [self._instance(service, row, is_ready) for row, is_ready in zip(rows, ready, strict=True)]

    async def _ready(self, port: int) -> bool:
        try:
            response = await self._http.get(f"http://127.0.0.1:{port}/ready", timeout=1.0)
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    @staticmethod
    def _instance(service: str, row: dict[str, Any], ready: bool) -> Instance:
        last_exit = row.get("last_exit") or {}
        started_at = None
        if row.get("uptime_seconds") is not None:
            started_at = datetime.now(UTC) - timedelta(seconds=row["uptime_seconds"])
        try:
            state = InstanceState(row["state"])
        except ValueError:
            state = InstanceState.UNKNOWN
        return Instance(
            name=row["name"],
            service=service,
            state=state,
            ready=ready,
            restarts=row["restarts"],
            started_at=started_at,
            last_exit_code=last_exit.get("code"),
            last_exit_reason=last_exit.get("reason"),
            address=f"http://127.0.0.1:{row['port']}",
            consecutive_crashes=row.get("consecutive_crashes", 0),
            revision=row.get("revision"),
            pid=row.get("pid"),
            config_version=row.get("config_digest"),
        )

    async def events(self, service: str | None = None, *, limit: int = 20) -> list[PlatformEvent]:
        names = [service] if service else await self.services()
        collected: list[PlatformEvent] = []
        for name in names:
            for raw in await self.supervisor.events(name):
                collected.append(
                    PlatformEvent(datetime.fromisoformat(raw["at"]), name, raw["type"], raw["reason"], raw["message"])
                )
        collected.sort(key=lambda event: event.at)
        return collected[-limit:]

    async def logs(self, service: str, *, tail: int = 50) -> list[str]:
        return await self.supervisor.logs(service, tail=tail)

    async def service_url(self, service: str) -> str:
        routes = await self.supervisor.routes()
        return routes.get(service) or self.settings.service_url(service)

    async def node_status(self) -> list[NodeStatus]:
        node = await self.supervisor.node()
        return [
            NodeStatus(
                name=node["name"],
                ready=True,
                memory_pressure=node["memory_used_fraction"] >= MEMORY_PRESSURE_FRACTION,
                disk_pressure=node["disk_used_fraction"] >= DISK_PRESSURE_FRACTION,
                cpu_pressure=node["load_per_cpu"] >= CPU_PRESSURE_LOAD_PER_CPU,
                details={key: float(value) for key, value in node.items() if isinstance(value, int | float)},
            )
        ]

    # --- change ---
    async def restart(self, service: str) -> None:
        await self.supervisor.restart(service)

    async def wait_ready(self, service: str, *, timeout: float = 120.0) -> bool:
        """``kubectl rollout status``: every instance Running and answering /ready, or False at the timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            instances = await self.instances(service)
            if instances and all(i.state == InstanceState.RUNNING and i.ready for i in instances):
                return True
            await asyncio.sleep(READY_POLL_SECONDS)
        return False

    async def replicas(self, service: str) -> int:
        return int((await self.supervisor.revisions(service))["replicas"])

    async def scale(self, service: str, replicas: int) -> None:
        await self.supervisor.scale(service, replicas)

    async def resource_limits(self, service: str) -> ResourceLimits:
        memory = (await self.supervisor.revisions(service))["memory_limit_mb"]
        return ResourceLimits(memory=None if memory is None else f"{memory}Mi")

    async def set_resource_limits(self, service: str, limits: ResourceLimits) -> None:
        # CPU is not limited locally (no cgroups for an unprivileged supervisor); memory is watched.
        await self.supervisor.set_limits(service, None if limits.memory is None else _parse_memory(limits.memory))

    async def read_config(self) -> ConfigSnapshot:
        data = await self.supervisor.config()
        return ConfigSnapshot(data=data, taken_at=datetime.now(UTC), version=config_digest(data))

    async def patch_config(self, changes: dict[str, str | None]) -> ConfigSnapshot:
        data = await self.supervisor.patch_config(changes)
        return ConfigSnapshot(data=data, taken_at=datetime.now(UTC), version=config_digest(data))

    async def restore_config(self, snapshot: ConfigSnapshot) -> None:
        current = await self.supervisor.config()
        changes: dict[str, str | None] = {key: None for key in current if key not in snapshot.data}
        changes.update(snapshot.data)
        await self.supervisor.patch_config(changes)

    async def revisions(self, service: str) -> list[Revision]:
        raw = await self.supervisor.revisions(service)
        return [
            Revision(
                number=record["number"],
                created_at=datetime.fromisoformat(record["created_at"]),
                change_cause=record["change_cause"],
                current=record["number"] == raw["current"],
            )
            for record in raw["revisions"]
        ]

    async def rollback(self, service: str, *, to_revision: int | None = None) -> None:
        await self.supervisor.rollback(service, to=to_revision)

    async def traffic_target(self, service: str) -> str:
        routes = await self.supervisor.routes()
        backup = f"{service}-backup"
        backup_rows = await self.supervisor.instances(backup) if service == "phone-gateway" else []
        if backup_rows and routes.get(service) == f"http://127.0.0.1:{backup_rows[0]['port']}":
            return backup
        return service

    async def switch_traffic(self, service: str, *, to: str) -> None:
        if to != service:
            # The backup Deployment must be running before traffic goes to it (a Service selector does not start pods).
            await self.supervisor.start(to)
            if not await self.wait_ready(to, timeout=self.settings.responder_ready_timeout_seconds):
                raise RuntimeError(f"{to} did not get ready; traffic left on {service}")
        await self.supervisor.switch_route(service, to)

    # --- local-only tools for drills (not part of the Platform interface) ---
    async def signal(self, service: str, signal_name: str) -> None:
        await self.supervisor.signal(service, signal_name)

    async def deploy(
        self, service: str, *, env: dict[str, str], change_cause: str, argv: list[str] | None = None
    ) -> int:
        record = await self.supervisor.deploy(service, env=env, change_cause=change_cause, argv=argv)
        return int(record["number"])
