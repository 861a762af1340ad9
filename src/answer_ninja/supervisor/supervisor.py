"""The supervisor: one ManagedProcess per service, started in order, stopped in reverse, with a control API."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from answer_ninja.platform.logging import get_logger
from answer_ninja.platform.settings import Settings
from answer_ninja.services.registry import SERVICES, entry_for, port_for
from answer_ninja.supervisor.backoff import BackoffPolicy
from answer_ninja.supervisor.process import ManagedProcess, ProcessSpec

log = get_logger(__name__)


def service_argv(name: str, port: int) -> list[str]:
    return [sys.executable, "-m", "answer_ninja", "serve", name, "--port", str(port)]


class Supervisor:
    def __init__(
        self,
        settings: Settings,
        *,
        services: Iterable[str] | None = None,
        env: dict[str, str] | None = None,
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
        self.config_path = self.state_dir / "app-config.json"
        # The local "ConfigMap app-config": settings every service reads from its environment at start.
        self.config: dict[str, str] = json.loads(self.config_path.read_text()) if self.config_path.exists() else {}
        self.processes: dict[str, ManagedProcess] = {}
        for name in services or SERVICES:
            entry_for(name)  # fail early on a typo
            self.add(name, port_for(name, settings))

    def add(self, name: str, port: int, *, argv: list[str] | None = None, env: dict[str, str] | None = None) -> None:
        spec = ProcessSpec(
            name=name,
            argv=argv or service_argv(name, port),
            port=port,
            env={**self.env, **(env or {})},
            log_dir=self.log_dir,
        )
        self.processes[name] = ManagedProcess(
            spec,
            self.policy,
            grace_seconds=self.settings.shutdown_grace_seconds,
            on_change=self._save_state,
            config=lambda: dict(self.config),
        )

    def get(self, name: str) -> ManagedProcess:
        try:
            return self.processes[name]
        except KeyError:
            raise KeyError(f"unknown service {name!r}") from None

    def start_all(self) -> None:
        for process in self.processes.values():
            process.start()

    async def stop_all(self) -> None:
        # Reverse order: the front door (phone-gateway) goes last so it can fail calls over until the end.
        await asyncio.gather(*(process.stop() for process in reversed(self.processes.values())))

    def patch_config(self, changes: dict[str, str | None]) -> dict[str, str]:
        """Merge ``changes`` into app-config (None removes a key) and persist it; applies on next restart."""
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

    def _save_state(self, _: ManagedProcess) -> None:
        """Write status to disk so tools can read it even when the control API is unreachable."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        path: Path = self.state_dir / "state.json"
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps({"services": self.status()}, indent=1))
        temporary.replace(path)
