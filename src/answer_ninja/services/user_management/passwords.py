"""Password hashing (argon2id) off the event loop, with a bound on how many hashes run at once.

argon2 costs ~50-150 ms of CPU and 64 MiB per hash by design. On the event loop, 62 sign-ins in a burst kept
/health from answering for seconds (issue 10). Here each hash runs in a small thread pool of its own
(argon2-cffi releases the GIL, so the loop keeps serving), at most ``concurrency`` at once; a request that cannot
get a slot within ``wait_seconds`` is refused with 503 and Retry-After instead of queueing without end.

Unknown emails are checked against a dummy hash made with the same parameters, so a sign-in costs the same
whether the account exists or not (no enumeration by timing).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import HTTPException
from prometheus_client import Counter, Gauge

HASHES_IN_FLIGHT = Gauge("ai_ninja_password_hashes_in_flight", "Password hashes running now.")
HASHES_REFUSED = Counter(
    "ai_ninja_password_hash_busy_total", "Sign-ins/registrations refused (503) because every hashing slot was busy."
)
# Seconds a refused request is asked to wait: a burst drains in about this long at the default bound.
BUSY_RETRY_AFTER_SECONDS = 2

T = TypeVar("T")


class HashingBusyError(Exception):
    """Every hashing slot stayed busy for the whole wait."""


def busy() -> HTTPException:
    HASHES_REFUSED.inc()
    return HTTPException(
        status_code=503,
        detail="password: too many sign-ins being checked right now; retry shortly",
        headers={"Retry-After": str(BUSY_RETRY_AFTER_SECONDS)},
    )


class Passwords:
    def __init__(self, *, concurrency: int, wait_seconds: float, hasher: PasswordHasher | None = None) -> None:
        self.hasher = hasher or PasswordHasher()
        self.wait_seconds = wait_seconds
        self._slots = asyncio.Semaphore(concurrency)
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="argon2")
        self._dummy_hash: str | None = None

    async def _run(self, work: Callable[[], T]) -> T:
        try:
            await asyncio.wait_for(self._slots.acquire(), timeout=self.wait_seconds)
        except TimeoutError:
            raise HashingBusyError from None
        HASHES_IN_FLIGHT.inc()
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, work)
        finally:
            HASHES_IN_FLIGHT.dec()
            self._slots.release()

    async def hash(self, password: str) -> str:
        return await self._run(lambda: self.hasher.hash(password))

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """True when ``password`` matches; with no hash (unknown account) the same work against a dummy, False."""
        target = password_hash if password_hash is not None else await self.dummy_hash()

        def check() -> bool:
            try:
                return self.hasher.verify(target, password)
            except (VerificationError, InvalidHashError):
                return False

        matched = await self._run(check)
        return matched and password_hash is not None

    async def dummy_hash(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = await self._run(lambda: self.hasher.hash(secrets.token_urlsafe(16)))
        return self._dummy_hash

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
