"""Throttles with back-off on the in-process cache (the Redis one is exercised by the integration tests)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi import HTTPException

from answer_ninja.platform.cache import MemoryCache
from answer_ninja.services.user_management.throttle import Quota, Throttle, ThrottleRule, too_many

RULE = ThrottleRule("login-account", "failed sign-ins for this account", 3, 900, 2, 60)


def test_waits_double_after_the_free_failures_and_are_capped() -> None:
    assert [RULE.wait_after(n) for n in range(1, 10)] == [0, 0, 0, 2, 4, 8, 16, 32, 60]
    assert RULE.wait_after(10_000) == 60  # no overflow however many


async def test_a_throttle_counts_failures_and_makes_the_caller_wait() -> None:
    throttle = Throttle(MemoryCache(), RULE)
    for _ in range(3):
        assert await throttle.failed("a@example.com") == 0
        assert await throttle.retry_after("a@example.com") == 0
    assert await throttle.failed("a@example.com") == 2
    assert 1.5 < await throttle.retry_after("a@example.com") <= 2
    assert await throttle.retry_after("b@example.com") == 0  # per subject
    await throttle.reset("a@example.com")
    assert await throttle.retry_after("a@example.com") == 0


async def test_keys_never_hold_the_subject_in_clear() -> None:
    cache = MemoryCache()
    await Throttle(cache, RULE).failed("secret@example.com")
    assert all("secret" not in key for key in cache._values)


def test_the_429_names_what_is_throttled_and_when_to_return() -> None:
    error = too_many(RULE, 12.2, "email")
    assert error.status_code == 429
    assert error.headers == {"Retry-After": "13"}
    assert "email: too many failed sign-ins for this account" in str(error.detail)


async def test_a_quota_refuses_past_its_limit() -> None:
    quota = Quota(MemoryCache(), ThrottleRule("register-address", "registrations from this address", 0, 3600, 1, 1), 2)
    await quota.take("127.0.0.1", "register")
    await quota.take("127.0.0.1", "register")
    with pytest.raises(HTTPException) as refused:
        await quota.take("127.0.0.1", "register")
    assert refused.value.status_code == 429
    await quota.take("10.0.0.1", "register")  # another address has its own


class BrokenCache(MemoryCache):
    async def get_json(self, key: str) -> Any:
        raise ConnectionError("redis down")

    async def incr(self, key: str, *, ttl_seconds: float | None = None) -> int:
        raise ConnectionError("redis down")


async def test_a_failing_cache_leaves_the_door_open_rather_than_locking_everyone_out() -> None:
    throttle = Throttle(BrokenCache(), RULE)
    started = time.monotonic()
    assert await throttle.failed("a@example.com") == 0
    assert await throttle.retry_after("a@example.com") == 0
    assert time.monotonic() - started < 1
