"""Liveness, degradation and readiness bookkeeping for one service process."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from answer_ninja.platform.logging import redact_text

DependencyKind = Literal["database", "cache", "service", "provider"]


@dataclass(frozen=True)
class DependencyCheck:
    """One thing /ready checks. ``probe`` raises when the dependency is unusable."""

    name: str
    kind: DependencyKind
    probe: Callable[[float], Awaitable[None]]
    # A soft dependency is reported but does not make the service unready (it has a fallback for it).
    required: bool = True


@dataclass
class CheckResult:
    name: str
    kind: DependencyKind
    ok: bool
    latency_ms: float
    error: str | None = None
    required: bool = True

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "ok": self.ok,
            "required": self.required,
            "latency_ms": round(self.latency_ms, 2),
            "error": self.error,
        }


@dataclass
class HealthState:
    """Why the service is degraded (if it is), and whether it is shutting down."""

    degraded_reasons: dict[str, str] = field(default_factory=dict)
    # What the service wants /health to show about itself (e.g. the voice realtime-processor speaks with).
    details: dict[str, Any] = field(default_factory=dict)
    shutting_down: bool = False
    started_monotonic: float = field(default_factory=time.monotonic)
    loop_lag_seconds: float = 0.0

    def set_degraded(self, key: str, reason: str) -> None:
        self.degraded_reasons[key] = reason

    def clear_degraded(self, key: str) -> None:
        self.degraded_reasons.pop(key, None)

    @property
    def degraded(self) -> bool:
        return bool(self.degraded_reasons)

    @property
    def uptime_seconds(self) -> float:
        return time.monotonic() - self.started_monotonic


def describe_error(error: BaseException) -> str:
    if isinstance(error, TimeoutError):
        return "timed out"
    text = str(error) or type(error).__name__
    return f"{type(error).__name__}: {text}"[:300]


async def run_check(check: DependencyCheck, timeout: float) -> CheckResult:
    started = time.perf_counter()
    try:
        async with asyncio.timeout(timeout):
            await check.probe(timeout)
    except Exception as error:  # any failure of a dependency is reported, never raised
        elapsed_ms = (time.perf_counter() - started) * 1000
        return CheckResult(
            check.name, check.kind, False, elapsed_ms, redact_text(describe_error(error)), check.required
        )
    return CheckResult(check.name, check.kind, True, (time.perf_counter() - started) * 1000, None, check.required)


async def run_checks(checks: list[DependencyCheck], timeout: float) -> list[CheckResult]:
    """All checks in parallel, each bounded by ``timeout``."""
    return list(await asyncio.gather(*(run_check(check, timeout) for check in checks)))
