"""The responder's own eyes: /health and /ready of every service, and the dependencies themselves.

Runbook step 2 ("快速健康检查", all services in parallel with timeouts) and the checks of mode C
(pg_isready, redis-cli ping, curl -I the providers), so it works with no Prometheus at all.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass, field

import httpx

from answer_ninja.ops.models import DependencyProbe, ServiceProbe
from answer_ninja.platform.cache import build_cache
from answer_ninja.platform.db.engine import Database
from answer_ninja.platform.health import describe_error
from answer_ninja.platform.logging import redact_text
from answer_ninja.platform.settings import Settings


async def probe_service(client: httpx.AsyncClient, service: str, base_url: str, timeout: float) -> ServiceProbe:
    started = time.perf_counter()

    async def get(path: str) -> httpx.Response | BaseException:
        try:
            return await client.get(base_url + path, timeout=timeout)
        except (httpx.HTTPError, OSError) as error:
            return error

    health, ready = await asyncio.gather(get("/health"), get("/ready"))
    latency = (time.perf_counter() - started) * 1000
    if isinstance(health, BaseException) or health.status_code != 200:
        error = describe_error(health) if isinstance(health, BaseException) else f"HTTP {health.status_code}"
        if isinstance(health, httpx.TimeoutException):
            error = "timed out"
        busy = not isinstance(health, BaseException) and is_throttling(health)
        return ServiceProbe(service, False, False, health_error=error, latency_ms=latency, overloaded=busy)
    degraded = bool(_json(health).get("degraded"))
    if isinstance(ready, BaseException):
        # /health answered but /ready did not in time: a busy service (its checks queue behind the load), not a
        # dead one; an unreachable /ready with a live /health is a failure.
        slow = isinstance(ready, httpx.TimeoutException)
        failed_ready = ("timed out",) if slow else ("unreachable",)
        return ServiceProbe(
            service, True, False, ready_failed=failed_ready, degraded=degraded, latency_ms=latency, overloaded=slow
        )
    reported = _json(ready).get("failed", [])
    failed = tuple(str(name) for name in reported) if isinstance(reported, list) else ()
    return ServiceProbe(
        service, True, ready.status_code == 200, None, failed, degraded, latency, overloaded=is_throttling(ready)
    )


def is_throttling(response: httpx.Response) -> bool:
    """429, or 503 with Retry-After: the service says "too much now, come back later", i.e. load, not failure."""
    return response.status_code == 429 or (response.status_code == 503 and "retry-after" in response.headers)


def _json(response: httpx.Response) -> dict[str, object]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


async def probe_services(client: httpx.AsyncClient, urls: dict[str, str], timeout: float) -> dict[str, ServiceProbe]:
    probes = await asyncio.gather(*(probe_service(client, name, url, timeout) for name, url in urls.items()))
    return {probe.service: probe for probe in probes}


@dataclass
class DependencyChecker:
    """Checks the shared dependencies directly, with long-lived clients (no new pool per probe)."""

    settings: Settings
    timeout: float
    _database: Database | None = None
    _providers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.settings.database_kind == "postgres":
            self._database = Database(self.settings.database_url, connect_timeout=self.timeout)
        self._cache = build_cache(self.settings.redis_url, timeout=self.timeout) if self.settings.redis_url else None
        self._providers = parse_provider_checks(self.settings.responder_provider_checks)
        if self.settings.llm_base_url:
            # The OpenAI-compatible server conversation-engine uses; /models answers without spending tokens.
            self._providers.setdefault("llm", self.settings.llm_base_url + "/models")
        if self.settings.azure_openai_endpoint:
            self._providers.setdefault("azure-openai", self.settings.azure_openai_endpoint)

    async def check(self, client: httpx.AsyncClient) -> list[DependencyProbe]:
        checks = []
        if self._database is not None:
            checks.append(self._run("postgres", "database", self._database.ping(self.timeout)))
        if self._cache is not None:
            checks.append(self._run("redis", "cache", self._cache.ping(self.timeout)))
        for name, url in self._providers.items():
            checks.append(self._run(name, "provider", _reachable(client, url, self.timeout)))
        return list(await asyncio.gather(*checks))

    async def _run(self, name: str, kind: str, probe: object) -> DependencyProbe:
        try:
            async with asyncio.timeout(self.timeout):
                await probe  # type: ignore[misc]
        except Exception as error:  # every failure is evidence, never a crash of the responder
            return DependencyProbe(name, kind, False, redact_text(describe_error(error)))
        return DependencyProbe(name, kind, True)

    async def close(self) -> None:
        if self._database is not None:
            await self._database.close()
        if self._cache is not None:
            await self._cache.close()


async def _reachable(client: httpx.AsyncClient, url: str, timeout: float) -> None:
    """``curl -I``: any HTTP answer below 500 means the provider is there."""
    response = await client.get(url, timeout=timeout)
    if response.status_code >= 500:
        raise RuntimeError(f"HTTP {response.status_code}")


def parse_provider_checks(text: str) -> dict[str, str]:
    """``"llm=http://h/v1/models,speech=http://h/"`` -> {name: url}."""
    providers: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, _, url = item.partition("=")
        if not name or not url.startswith(("http://", "https://")):
            raise ValueError(f"RESPONDER_PROVIDER_CHECKS item {item!r} must be name=http(s)://url")
        providers[name.strip()] = url.strip()
    return providers


class FlapFilter:
    """A service counts as down after ``failures`` consecutive failed probes within ``window`` seconds.

    One failed probe among good ones (a flapping probe) is never an incident.
    """

    def __init__(self, failures: int, window_seconds: float) -> None:
        self.failures = failures
        self.window = window_seconds
        self._streaks: dict[str, deque[float]] = {}

    def record(self, name: str, ok: bool, now: float) -> bool:
        """Add one probe result; return True while ``name`` is confirmed down."""
        streak = self._streaks.setdefault(name, deque())
        if ok:
            streak.clear()
            return False
        streak.append(now)
        while streak and now - streak[0] > self.window:
            streak.popleft()
        return len(streak) >= self.failures

    def first_failure(self, name: str) -> float | None:
        streak = self._streaks.get(name)
        return streak[0] if streak else None
