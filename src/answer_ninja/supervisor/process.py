"""One supervised process: start, watch, capture its log lines, restart with back-off, stop gracefully."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import signal
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import psutil

from answer_ninja.platform.logging import get_logger
from answer_ninja.supervisor.backoff import BackoffPolicy, CrashTracker

log = get_logger(__name__)

LOG_LINES_KEPT = 200
EVENTS_KEPT = 100
# How often the memory watch samples a limited process's RSS: fast enough to catch a leak before the machine does.
MEMORY_WATCH_INTERVAL_SECONDS = 0.25


class ProcessState(StrEnum):
    """Named after what ``kubectl get pods`` shows, so the runbook's words mean the same thing locally."""

    PENDING = "Pending"
    RUNNING = "Running"
    CRASH_LOOP = "CrashLoopBackOff"
    TERMINATING = "Terminating"
    STOPPED = "Stopped"


@dataclass
class ExitInfo:
    code: int | None
    signal: str | None
    reason: str  # Completed | Error | Killed
    at: str
    ran_for_seconds: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "signal": self.signal,
            "reason": self.reason,
            "at": self.at,
            "ran_for_seconds": round(self.ran_for_seconds, 3),
        }


@dataclass
class Event:
    at: str
    type: str  # Normal | Warning
    reason: str  # Started | Killing | BackOff | Exited | Restarting ...
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"at": self.at, "type": self.type, "reason": self.reason, "message": self.message}


def config_digest(data: dict[str, str]) -> str:
    """Short fingerprint of app-config, so a reader can tell which config an instance started with."""
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:12]


def _now_iso() -> str:
    return datetime.now(UTC).isoformat()


def describe_exit(returncode: int, ran_for: float) -> ExitInfo:
    if returncode < 0:
        name = signal.Signals(-returncode).name
        return ExitInfo(None, name, "Killed", _now_iso(), ran_for)
    return ExitInfo(returncode, None, "Completed" if returncode == 0 else "Error", _now_iso(), ran_for)


@dataclass
class ProcessSpec:
    """How to start one instance. ``env`` is layered over the supervisor's own environment."""

    name: str
    argv: list[str]
    port: int
    env: dict[str, str] = field(default_factory=dict)
    log_dir: Path | None = None
    # The local "resources.limits.memory": over it the process is killed and its exit reads OOMKilled.
    memory_limit_mb: int | None = None
    revision: int = 1
    # Names removed from the supervisor's own environment before ``env`` is layered on: secrets this instance
    # must not inherit (only the responder is given SUPERVISOR_TOKEN, through ``env``).
    withheld_env: tuple[str, ...] = ()


class ManagedProcess:
    """Keeps one process running the way a kubelet keeps a container running (restartPolicy: Always)."""

    def __init__(
        self,
        spec: ProcessSpec,
        policy: BackoffPolicy,
        *,
        grace_seconds: float = 10.0,
        on_change: Callable[[ManagedProcess], None] | None = None,
        config: Callable[[], dict[str, str]] | None = None,
    ) -> None:
        self.spec = spec
        # Read at every start, like a ConfigMap consumed as environment: a change applies on restart.
        self._config = config
        self.grace_seconds = grace_seconds
        self.crashes = CrashTracker(policy)
        self.state = ProcessState.PENDING
        self.restarts = 0
        self.last_exit: ExitInfo | None = None
        self.started_at: float | None = None
        self.next_start_at: float | None = None
        self.logs: deque[str] = deque(maxlen=LOG_LINES_KEPT)
        self.events: deque[Event] = deque(maxlen=EVENTS_KEPT)
        self._process: asyncio.subprocess.Process | None = None
        self._runner: asyncio.Task[None] | None = None
        self._wanted = False
        self._wake = asyncio.Event()
        self._on_change = on_change
        self._oom_killed = False
        self.config_digest: str | None = None

    # ----- observation -------------------------------------------------------------------------------
    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process and self._process.returncode is None else None

    @property
    def uptime_seconds(self) -> float | None:
        if self.state != ProcessState.RUNNING or self.started_at is None:
            return None
        return time.monotonic() - self.started_at

    def status(self) -> dict[str, Any]:
        backoff_remaining = None
        if self.state == ProcessState.CRASH_LOOP and self.next_start_at is not None:
            backoff_remaining = max(0.0, self.next_start_at - time.monotonic())
        return {
            "name": self.spec.name,
            "state": str(self.state),
            "pid": self.pid,
            "port": self.spec.port,
            "restarts": self.restarts,
            "consecutive_crashes": self.crashes.consecutive_crashes,
            "uptime_seconds": None if self.uptime_seconds is None else round(self.uptime_seconds, 3),
            "backoff_remaining_seconds": None if backoff_remaining is None else round(backoff_remaining, 3),
            "last_exit": self.last_exit.as_dict() if self.last_exit else None,
            "revision": self.spec.revision,
            "config_digest": self.config_digest,
            "memory_limit_mb": self.spec.memory_limit_mb,
        }

    def note(self, type_: str, reason: str, message: str) -> None:
        """Record an event about this instance from outside (a deploy, a rollback, a traffic switch)."""
        self._event(type_, reason, message)

    def _event(self, type_: str, reason: str, message: str) -> None:
        self.events.append(Event(_now_iso(), type_, reason, message))
        log.info("process_event", service=self.spec.name, reason=reason, detail=message)

    def _set_state(self, state: ProcessState) -> None:
        self.state = state
        if self._on_change is not None:
            self._on_change(self)

    # ----- control -----------------------------------------------------------------------------------
    def start(self) -> None:
        """Keep the process running from now on."""
        self._wanted = True
        if self._runner is None or self._runner.done():
            self._runner = asyncio.create_task(self._run(), name=f"supervise-{self.spec.name}")

    async def stop(self) -> None:
        """Stop it and do not restart it (graceful: SIGTERM, then SIGKILL after the grace period)."""
        self._wanted = False
        self._wake.set()
        await self._terminate()
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner
            self._runner = None
        self._set_state(ProcessState.STOPPED)

    async def restart(self) -> None:
        """A deliberate restart: new process now, back-off forgotten (as a rollout restart makes a new pod)."""
        self._event("Normal", "Restarting", "restart requested")
        await self.stop()
        self.crashes.reset()
        self.restarts += 1
        self.start()

    def send_signal(self, signum: int) -> bool:
        if self._process is None or self._process.returncode is not None:
            return False
        self._process.send_signal(signum)
        self._event("Warning", "Signal", f"sent {signal.Signals(signum).name}")
        return True

    # ----- internals -----------------------------------------------------------------------------------
    async def _spawn(self) -> asyncio.subprocess.Process:
        config = self._config() if self._config else {}
        self.config_digest = config_digest(config)
        inherited = {key: value for key, value in os.environ.items() if key not in self.spec.withheld_env}
        env = {**inherited, **self.spec.env, **config}
        process = await asyncio.create_subprocess_exec(
            *self.spec.argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=env,
            # Own session: Ctrl-C in the terminal reaches the supervisor only, which stops children in order.
            start_new_session=True,
        )
        self.started_at = time.monotonic()
        self._set_state(ProcessState.RUNNING)
        self._event("Normal", "Started", f"pid {process.pid} on port {self.spec.port}")
        return process

    async def _pump_logs(self, process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None
        log_file = None
        if self.spec.log_dir is not None:
            self.spec.log_dir.mkdir(parents=True, exist_ok=True)
            log_file = (self.spec.log_dir / f"{self.spec.name}.log").open("a", encoding="utf-8")
        try:
            async for raw in process.stdout:
                line = raw.decode("utf-8", "replace").rstrip("\n")
                self.logs.append(line)
                if log_file is not None:
                    log_file.write(line + "\n")
                    log_file.flush()
        finally:
            if log_file is not None:
                log_file.close()

    async def _run(self) -> None:
        while self._wanted:
            self._process = await self._spawn()
            pump = asyncio.create_task(self._pump_logs(self._process))
            watch = asyncio.create_task(self._watch_memory(self._process))
            returncode = await self._process.wait()
            watch.cancel()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(pump, timeout=1.0)
            ran_for = time.monotonic() - (self.started_at or time.monotonic())
            self.last_exit = describe_exit(returncode, ran_for)
            if self._oom_killed:
                self.last_exit.reason = "OOMKilled"
                self._oom_killed = False
            if not self._wanted:
                break
            delay = self.crashes.record_crash(ran_for)
            self.next_start_at = time.monotonic() + delay
            exit_text = self.last_exit.signal or f"code {self.last_exit.code}"
            self._event("Warning", "BackOff", f"exited ({exit_text}) after {ran_for:.1f}s; restarting in {delay:g}s")
            self._set_state(ProcessState.CRASH_LOOP)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=delay)
            if not self._wanted:
                break
            self.restarts += 1

    async def _watch_memory(self, process: asyncio.subprocess.Process) -> None:
        """Kill the process when its RSS passes the limit, as the kernel's cgroup OOM killer does in a pod."""
        limit_mb = self.spec.memory_limit_mb
        if limit_mb is None:
            return
        with contextlib.suppress(psutil.Error):
            watched = psutil.Process(process.pid)
            while process.returncode is None:
                rss_mb = watched.memory_info().rss / 1_048_576
                if rss_mb > limit_mb:
                    self._oom_killed = True
                    self._event("Warning", "OOMKilling", f"rss {rss_mb:.0f}Mi over limit {limit_mb}Mi")
                    process.kill()
                    return
                await asyncio.sleep(MEMORY_WATCH_INTERVAL_SECONDS)

    async def _terminate(self) -> None:
        process = self._process
        if process is None or process.returncode is not None:
            return
        self._set_state(ProcessState.TERMINATING)
        self._event("Normal", "Killing", f"stopping pid {process.pid} (grace {self.grace_seconds:g}s)")
        with contextlib.suppress(ProcessLookupError):
            # A stopped (SIGSTOP) process cannot handle SIGTERM until it is continued.
            process.send_signal(signal.SIGCONT)
            process.terminate()
        try:
            await asyncio.wait_for(process.wait(), timeout=self.grace_seconds)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
