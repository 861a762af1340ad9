"""Throttling with back-off, in the cache (Redis when REDIS_URL is set, so every replica sees the same counts).

A rule allows ``free`` failures per key within ``window_seconds``; each failure past them sets a wait of
``base_seconds`` x 2^(failures past the free ones - 1), capped at ``max_seconds``. While a wait runs, the caller is
refused (429 with Retry-After) without the work being done. Keys are hashed: the cache never holds an email or
an address in clear.

Why not a library: ``limits`` counts requests in windows, but not "free failures, then doubling waits"; this is
three cache operations the ``Cache`` protocol already has (``incr`` with a window, a JSON value with a TTL).
When the cache itself fails, the door stays open (logged): refusing every sign-in because Redis blinked would
hurt everyone, and the bound on concurrent password hashing still protects the service.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from fastapi import HTTPException
from prometheus_client import Counter

from answer_ninja.platform.cache import Cache
from answer_ninja.platform.logging import get_logger

log = get_logger(__name__)

THROTTLED = Counter("ai_ninja_throttled_total", "Requests refused by a throttle (429), by rule.", ["rule"])


@dataclass(frozen=True)
class ThrottleRule:
    name: str  # part of the cache key and of the message: "account", "address", "register" ...
    what: str  # what is throttled, for people: "failed sign-ins for this account"
    free: int
    window_seconds: float
    base_seconds: float
    max_seconds: float

    def wait_after(self, failures: int) -> float:
        """Seconds to wait after the ``failures``-th failure in the window (0 while within the free ones)."""
        past = failures - self.free
        if past <= 0:
            return 0.0
        return float(min(self.max_seconds, self.base_seconds * 2 ** min(past - 1, 40)))


def too_many(rule: ThrottleRule, retry_after: float, field: str) -> HTTPException:
    """A 429 naming what is throttled and when to come back."""
    seconds = max(1, int(retry_after + 0.999))
    THROTTLED.labels(rule.name).inc()
    return HTTPException(
        status_code=429,
        detail=f"{field}: too many {rule.what}; retry in {seconds} s",
        headers={"Retry-After": str(seconds)},
    )


class Throttle:
    def __init__(self, cache: Cache, rule: ThrottleRule) -> None:
        self.cache = cache
        self.rule = rule

    def _key(self, kind: str, subject: str) -> str:
        digest = hashlib.sha256(subject.encode()).hexdigest()[:32]
        return f"throttle:{self.rule.name}:{kind}:{digest}"

    async def retry_after(self, subject: str) -> float:
        """Seconds until ``subject`` may try again (0: now)."""
        try:
            wait = await self.cache.get_json(self._key("wait", subject))
        except Exception as error:
            log.warning("throttle_cache_unavailable", rule=self.rule.name, error=type(error).__name__)
            return 0.0
        if not isinstance(wait, dict):
            return 0.0
        return max(0.0, float(wait.get("until", 0)) - time.time())

    async def failed(self, subject: str) -> float:
        """Count one failure; returns the wait it starts (0 while within the free failures)."""
        try:
            failures = await self.cache.incr(self._key("count", subject), ttl_seconds=self.rule.window_seconds)
            wait = self.rule.wait_after(failures)
            if wait > 0:
                await self.cache.set_json(self._key("wait", subject), {"until": time.time() + wait}, ttl_seconds=wait)
            return wait
        except Exception as error:
            log.warning("throttle_cache_unavailable", rule=self.rule.name, error=type(error).__name__)
            return 0.0

    async def reset(self, subject: str) -> None:
        try:
            await self.cache.delete(self._key("count", subject))
            await self.cache.delete(self._key("wait", subject))
        except Exception as error:
            log.warning("throttle_cache_unavailable", rule=self.rule.name, error=type(error).__name__)


class Quota:
    """At most ``limit`` events per ``window_seconds`` per subject (a plain fixed window): registrations per
    address, codes sent per user."""

    def __init__(self, cache: Cache, rule: ThrottleRule, limit: int) -> None:
        self.throttle = Throttle(cache, rule)
        self.limit = limit

    async def take(self, subject: str, field: str) -> None:
        """Count one event, or raise 429 when the window's quota is used up."""
        throttle = self.throttle
        try:
            used = await throttle.cache.incr(throttle._key("quota", subject), ttl_seconds=throttle.rule.window_seconds)
        except Exception as error:
            log.warning("throttle_cache_unavailable", rule=throttle.rule.name, error=type(error).__name__)
            return
        if used > self.limit:
            raise too_many(throttle.rule, throttle.rule.window_seconds, field)
