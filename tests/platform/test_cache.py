from __future__ import annotations

import asyncio

import pytest

from answer_ninja.platform.cache import Cache, MemoryCache, RedisCache


async def _exercise(cache: Cache) -> None:
    await cache.set_json("call:1", {"stage": "initial", "text": "您好"})
    assert await cache.get_json("call:1") == {"stage": "initial", "text": "您好"}
    await cache.delete("call:1")
    assert await cache.get_json("call:1") is None
    assert await cache.incr("count", ttl_seconds=60) == 1
    assert await cache.incr("count", ttl_seconds=60) == 2
    await cache.set_json("short", 1, ttl_seconds=0.05)
    await asyncio.sleep(0.1)
    assert await cache.get_json("short") is None


async def test_memory_cache_round_trips_and_expires() -> None:
    await _exercise(MemoryCache())


async def test_memory_cache_evicts_oldest_when_full() -> None:
    cache = MemoryCache(max_entries=2)
    for key in ("a", "b", "c"):
        await cache.set_json(key, key)
    assert await cache.get_json("a") is None
    assert await cache.get_json("c") == "c"


@pytest.mark.integration
async def test_redis_cache_round_trips_and_expires(redis_url: str) -> None:
    cache = RedisCache(redis_url)
    try:
        await cache.client.flushdb()
        await _exercise(cache)
        await cache.ping(1.0)
    finally:
        await cache.close()
