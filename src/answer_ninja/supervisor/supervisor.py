"""The supervisor: one ManagedProcess per service, started in order, stopped in reverse, with a control API."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from answer_ninja.catalogue import SERVICES, entry_for
from answer_ninja.platform.logging import get_logger
from answer_ninja.platform.machine_secrets import SUPERVISOR_SECRETS
from answer_ninja.platform.settings import Settings
from answer_ninja.supervisor.backoff import BackoffPolicy
from answer_ninja.supervisor.deployments import Deployment, DeploymentBook, RevisionRecord
from answer_ninja.supervisor.process import ManagedProcess, ProcessSpec
from answer_ninja.supervisor.revision_rules import check_config, check_revision

log = get_logger(__name__)

# Standby copies the runbook fails over to (Deployment phone-gateway-backup); they start only when asked.
BACKUPS: dict[str, str] = {"phone-gateway": "phone-gateway-backup"}


def free_loopback_port() -> int:
    """A port for an extra instance (scale-out, backup): the kernel picks one nobody uses."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def service_argv(name: str, port: int) -> list[str]:
    return [sys.executable, "-m", "answer_ninja.platform.server", name, "--port", str(port)]


class Supervisor:
    def __init__(
        self,
        settings: Settings,
        *,
        services: Iterable[str] | None = None,
        env: dict[str, str] | None = None,
        private_env: dict[str, dict[str, str]] | None = None,
    ) -> None:
        self.settings = settings
        self.state_dir = settings.data_dir / "supervisor"
        self.log_dir = settings.data_dir / "logs"
        self.policy = BackoffPolicy(
            initial_seconds=settings.supervisor_backoff_initial_seconds,
            maximum_seconds=settings.supervisor_backoff_max_seconds,
            reset_after_seconds=settings.supervisor_backoff_reset_seconds,
        )
        self.env = dict(env or {})
        # Per service: what only that service gets (SUPERVISOR_TOKEN for the responder); withheld from the others.
        self.private_env = {name: dict(values) for name, values in (private_env or {}).items()}
        self.config_path = self.state_dir / "app-config.json"
        # The local "ConfigMap app-config": settings every service reads from its environment at start.
        self.config: dict[str, str] = json.loads(self.config_path.read_text()) if self.config_path.exists() else {}
        self.processes: dict[str, ManagedProcess] = {}
        names = [entry_for(name).name for name in (services or SERVICES)]  # fail early on a typo
        self.book = DeploymentBook(self.state_dir / "deployments.json", names)
        for name in names:
            self.processes[name] = self._build(name, name, settings.service_port(name))
        # Standby backups and scaled-out replicas: supervised like the others, never started by start_all.
        self.standby: dict[str, ManagedProcess] = {
            backup: self._build(backup, service, free_loopback_port())
            for service, backup in BACKUPS.items()
            if service in self.processes
        }
        self.replicas: dict[str, list[ManagedProcess]] = {name: [] for name in names}

    def add(self, name: str, port: int, *, argv: list[str] | None = None, env: dict[str, str] | None = None) -> None:
        self.processes[name] = self._managed(
            ProcessSpec(
                name=name,
                argv=argv or service_argv(name, port),
                port=port,
                env={**self.env, **(env or {})},
                log_dir=self.log_dir,
                withheld_env=SUPERVISOR_SECRETS,
            )
        )

    def _build(self, instance: str, service: str, port: int) -> ManagedProcess:
        """An instance of ``service`` (named ``instance``) from the service's current revision."""
        spec = ProcessSpec(name=instance, argv=[], port=port, log_dir=self.log_dir)
        self._apply_revision(spec, service)
        return self._managed(spec)

    def _managed(self, spec: ProcessSpec) -> ManagedProcess:
        return ManagedProcess(
            spec,
            self.policy,
            grace_seconds=self.settings.shutdown_grace_seconds,
            on_change=self._save_state,
            config=lambda: dict(self.config),
        )

    def _apply_revision(self, spec: ProcessSpec, service: str) -> None:
        deployment = self.book.get(service)
        record = deployment.current_revision
        spec.argv = list(record.argv) if record.argv else service_argv(service, spec.port)
        spec.env = {**self.env, **self.private_env.get(service, {}), **record.env}
        spec.withheld_env = SUPERVISOR_SECRETS
        spec.revision = record.number
        spec.memory_limit_mb = deployment.memory_limit_mb

    def get(self, name: str) -> ManagedProcess:
        if name in self.processes:
            return self.processes[name]
        if name in self.standby:
            return self.standby[name]
        for replicas in self.replicas.values():
            for process in replicas:
                if process.spec.name == name:
                    return process
        raise KeyError(f"unknown service {name!r}")

    def service_of(self, instance: str) -> str:
        """The service an instance runs (the backup runs phone-gateway's code)."""
        for service, backup in BACKUPS.items():
            if instance == backup:
                return service
        for service, replicas in self.replicas.items():
            if any(process.spec.name == instance for process in replicas):
                return service
        return instance

    def instances(self, service: str) -> list[ManagedProcess]:
        """Every instance of ``service`` (or of a standby backup, by its own name)."""
        if service in self.standby:
            return [self.standby[service]]
        return [self.get(service), *self.replicas.get(service, [])]

    def deployment(self, service: str) -> Deployment:
        return self.book.get(self.service_of(service))

    async def _roll(self, service: str) -> None:
        """Restart every instance of ``service`` on its current revision (a rollout)."""
        for process in self.instances(service):
            self._apply_revision(process.spec, self.service_of(process.spec.name))
            if process.state != "Stopped" or process is self.get(service):
                await process.restart()

    async def deploy(self, service: str, *, env: dict[str, str], argv: list[str] | None, cause: str) -> RevisionRecord:
        """A new revision of ``service`` (a release), rolled out at once; RevisionRefusedError if it would run
        anything but the service's own entry point with settings."""
        check_revision(service, env=env, argv=argv)
        record = self.book.get(service).add_revision(env=env, argv=argv, change_cause=cause)
        self.book.save()
        self.get(service).note("Normal", "Deployed", f"revision {record.number}: {cause}")
        await self._roll(service)
        return record

    async def rollback(self, service: str, *, to: int | None = None) -> RevisionRecord:
        record = self.book.get(service).rollback(to)
        self.book.save()
        self.get(service).note("Normal", "RolledBack", f"to revision {record.number} ({record.change_cause})")
        await self._roll(service)
        return record

    async def set_memory_limit(self, service: str, memory_limit_mb: int | None) -> None:
        self.book.get(service).memory_limit_mb = memory_limit_mb
        self.book.save()
        await self._roll(service)

    async def scale(self, service: str, replicas: int) -> int:
        """Run ``replicas`` instances of ``service``: extra ones on free ports, named ``<service>-2`` ..."""
        if replicas < 1:
            raise ValueError("replicas must be at least 1 (stop the service to run none)")
        extra = self.replicas[service]
        while len(extra) < replicas - 1:
            process = self._build(f"{service}-{len(extra) + 2}", service, free_loopback_port())
            extra.append(process)
            process.start()
        while len(extra) > replicas - 1:
            await extra.pop().stop()
        self.book.get(service).replicas = replicas
        self.book.save()
        return replicas

    def address(self, service: str) -> str:
        """Where the service's traffic goes now (its own port, or its backup's after a switch)."""
        target = self.book.route(service)
        return f"http://127.0.0.1:{self.get(target).spec.port}"

    def switch_traffic(self, service: str, target: str) -> str:
        if target not in (service, BACKUPS.get(service)):
            raise KeyError(f"{service} traffic can go to {service} or {BACKUPS.get(service, 'no backup')}")
        if target == service:
            self.book.routes.pop(service, None)
        else:
            self.book.routes[service] = target
        self.book.save()
        self.get(service).note("Normal", "TrafficSwitched", f"{service} -> {target}")
        return self.address(service)

    def restore_scale(self) -> None:
        """Start the replicas a previous run had scaled out to (deployments.json remembers them)."""
        for service in self.processes:
            wanted = self.book.get(service).replicas
            extra = self.replicas[service]
            while len(extra) < wanted - 1:
                process = self._build(f"{service}-{len(extra) + 2}", service, free_loopback_port())
                extra.append(process)
                process.start()

    def start_all(self) -> None:
        for process in self.processes.values():
            process.start()
        self.restore_scale()
        for service, backup in BACKUPS.items():
            # A backup that takes traffic must keep running across supervisor restarts.
            if self.book.route(service) == backup and backup in self.standby:
                self.standby[backup].start()

    async def stop_all(self) -> None:
        # Reverse order: the front door (phone-gateway) goes last so it can fail calls over until the end.
        extras = [*self.standby.values(), *(p for replicas in self.replicas.values() for p in replicas)]
        await asyncio.gather(*(process.stop() for process in extras))
        await asyncio.gather(*(process.stop() for process in reversed(self.processes.values())))

    def patch_config(self, changes: dict[str, str | None]) -> dict[str, str]:
        """Merge ``changes`` into app-config (None removes a key) and persist it; applies on next restart."""
        check_config(changes)
        for key, value in changes.items():
            if value is None:
                self.config.pop(key, None)
            else:
                self.config[key] = value
        self.state_dir.mkdir(parents=True, exist_ok=True)
        temporary = self.config_path.with_suffix(".tmp")
        temporary.write_text(json.dumps(self.config, indent=1, sort_keys=True))
        temporary.replace(self.config_path)
        return dict(self.config)

    def status(self) -> list[dict[str, Any]]:
        return [process.status() for process in self.processes.values()]

    def node_status(self) -> dict[str, Any]:
        """The machine, as ``kubectl top nodes`` and the node conditions describe it."""
        import psutil

        memory = psutil.virtual_memory()
        disk = psutil.disk_usage(str(self.settings.data_dir.resolve().anchor or "/"))
        load1, _, _ = os.getloadavg()
        cpus = psutil.cpu_count() or 1
        return {
            "name": socket.gethostname(),
            "memory_used_fraction": round(memory.percent / 100, 4),
            "memory_available_mb": round(memory.available / 1_048_576),
            "disk_used_fraction": round(disk.percent / 100, 4),
            "load_per_cpu": round(load1 / cpus, 3),
            "cpus": cpus,
        }

    def _save_state(self, _: ManagedProcess) -> None:
        """Write status to disk so tools can read it even when the control API is unreachable."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        path: Path = self.state_dir / "state.json"
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps({"services": self.status()}, indent=1))
        temporary.replace(path)
