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
import contextlib
import contextvars
import os
import secrets
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import HTTPException
from prometheus_client import Counter, Gauge

HASHES_IN_FLIGHT = Gauge("ai_ninja_password_slots_in_use", "Sign-ins/registrations holding a password-hashing slot.")
HASHES_REFUSED = Counter(
    "ai_ninja_password_hash_busy_total", "Sign-ins/registrations refused (503) because every hashing slot was busy."
)
# Seconds a refused request is asked to wait: a burst drains in about this long at the default bound.
BUSY_RETRY_AFTER_SECONDS = 2

T = TypeVar("T")


# Hashing threads run at a lower CPU priority than the event loop: on a busy machine the loop (and /health,
# /ready, every other request) is scheduled first, and a flood of sign-ins only slows the sign-ins.
HASH_THREAD_NICENESS = 10


def _yield_cpu() -> None:
    """Lower this worker thread's scheduling priority (Linux: a thread is a task with its own nice value)."""
    with contextlib.suppress(AttributeError, OSError):  # not Linux, or not permitted: run at normal priority
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASH_THREAD_NICENESS)


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
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="argon2", initializer=_yield_cpu)
        self._dummy_hash: str | None = None
        self._holder: contextvars.ContextVar[bool] = contextvars.ContextVar(f"password-slot-{id(self)}", default=False)

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one of the ``concurrency`` slots (waiting at most ``wait_seconds``, else HashingBusyError).

        A sign-in holds its slot for the account lookup too, so a flood is bounded before it reaches the database
        pool as well as before argon2."""
        if self._holder.get():
            yield  # already inside this request's slot
            return
        try:
            await asyncio.wait_for(self._slots.acquire(), timeout=self.wait_seconds)
        except TimeoutError:
            raise HashingBusyError from None
        token = self._holder.set(True)
        HASHES_IN_FLIGHT.inc()
        try:
            yield
        finally:
            HASHES_IN_FLIGHT.dec()
            self._holder.reset(token)
            self._slots.release()

    async def _run(self, work: Callable[[], T]) -> T:
        async with self.slot():
            return await asyncio.get_running_loop().run_in_executor(self._pool, work)

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
