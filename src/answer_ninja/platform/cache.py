"""Shared cache and short-lived call state: Redis when REDIS_URL is set, an in-process store otherwise.

Values are JSON documents. Both implementations honour TTLs so call state never outlives a call for long.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import redis.asyncio as aioredis


class Cache(Protocol):
    """What services may ask of the cache. Kept small so the in-process fallback stays honest."""

    kind: str

    async def get_json(self, key: str) -> Any | None: ...

    async def set_json(self, key: str, value: Any, *, ttl_seconds: float | None = None) -> None: ...

    async def delete(self, key: str) -> None: ...

    async def incr(self, key: str, *, ttl_seconds: float | None = None) -> int: ...

    async def add(self, key: str, *, ttl_seconds: float) -> bool:
        """Set ``key`` only if it is absent (Redis SET NX): True for the first caller, False for every other."""
        ...

    async def ping(self, timeout: float) -> None: ...

    async def close(self) -> None: ...


class MemoryCache:
    """In-process cache for the embedded default (one process each, so it is per service, not shared)."""

    kind = "memory"

    def __init__(self, *, max_entries: int = 100_000) -> None:
        self._values: dict[str, tuple[float | None, str]] = {}
        self._max_entries = max_entries

    def _live(self, key: str) -> str | None:
        item = self._values.get(key)
        if item is None:
            return None
        expires_at, raw = item
        if expires_at is not None and expires_at <= time.monotonic():
            del self._values[key]
            return None
        return raw

    def _store(self, key: str, raw: str, ttl_seconds: float | None) -> None:
        if len(self._values) >= self._max_entries and key not in self._values:
            self._evict()
        expires_at = time.monotonic() + ttl_seconds if ttl_seconds else None
        self._values[key] = (expires_at, raw)

    def _evict(self) -> None:
        now = time.monotonic()
        for key in [k for k, (exp, _) in self._values.items() if exp is not None and exp <= now]:
            del self._values[key]
        while len(self._values) >= self._max_entries:
            # Oldest insertion first: dicts keep insertion order.
            del self._values[next(iter(self._values))]

    async def get_json(self, key: str) -> Any | None:
        raw = self._live(key)
        return None if raw is None else json.loads(raw)

    async def set_json(self, key: str, value: Any, *, ttl_seconds: float | None = None) -> None:
        self._store(key, json.dumps(value, ensure_ascii=False), ttl_seconds)

    async def delete(self, key: str) -> None:
        self._values.pop(key, None)

    async def incr(self, key: str, *, ttl_seconds: float | None = None) -> int:
        raw = self._live(key)
        value = (int(raw) if raw is not None else 0) + 1
        item = self._values.get(key)
        keep_expiry = item is not None and item[0] is not None
        if keep_expiry and item is not None:
            self._values[key] = (item[0], str(value))
        else:
            self._store(key, str(value), ttl_seconds)
        return value

    async def add(self, key: str, *, ttl_seconds: float) -> bool:
        if self._live(key) is not None:
            return False
        self._store(key, "1", ttl_seconds)
        return True

    async def ping(self, timeout: float) -> None:
        return None

    async def close(self) -> None:
        self._values.clear()


class RedisCache:
    kind = "redis"

    def __init__(self, url: str, *, timeout: float = 2.0) -> None:
        # Imported here: the embedded default never loads the Redis client (several MB per process).
        import redis.asyncio as aioredis

        self.client: aioredis.Redis = aioredis.Redis.from_url(
            url,
            decode_responses=True,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            health_check_interval=30,
        )

    async def get_json(self, key: str) -> Any | None:
        raw = await self.client.get(key)
        return None if raw is None else json.loads(raw)

    async def set_json(self, key: str, value: Any, *, ttl_seconds: float | None = None) -> None:
        raw = json.dumps(value, ensure_ascii=False)
        if ttl_seconds:
            await self.client.set(key, raw, px=int(ttl_seconds * 1000))
        else:
            await self.client.set(key, raw)

    async def delete(self, key: str) -> None:
        await self.client.delete(key)

    async def incr(self, key: str, *, ttl_seconds: float | None = None) -> int:
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            if ttl_seconds:
                # NX: only the first increment sets the window, as the memory cache does.
                pipe.pexpire(key, int(ttl_seconds * 1000), nx=True)
            results = await pipe.execute()
        return int(results[0])

    async def add(self, key: str, *, ttl_seconds: float) -> bool:
        return bool(await self.client.set(key, "1", px=max(1, int(ttl_seconds * 1000)), nx=True))

    async def ping(self, timeout: float) -> None:
        async with asyncio.timeout(timeout):
            await self.client.ping()

    async def close(self) -> None:
        await self.client.aclose()


def build_cache(redis_url: str | None, *, timeout: float = 2.0) -> Cache:
    return RedisCache(redis_url, timeout=timeout) if redis_url else MemoryCache()
