"""argon2 off the event loop, bounded: the loop keeps running during hashes; past the bound, a clear refusal."""

from __future__ import annotations

import asyncio
import threading

import pytest
from argon2 import PasswordHasher

from answer_ninja.services.user_management.passwords import HashingBusyError, Passwords

# Cheap parameters: these tests are about scheduling, not about argon2's cost.
FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


async def test_hash_and_verify() -> None:
    passwords = Passwords(concurrency=2, wait_seconds=1, hasher=FAST)
    stored = await passwords.hash("correct horse")
    assert await passwords.verify(stored, "correct horse")
    assert not await passwords.verify(stored, "wrong horse")
    assert not await passwords.verify("not a hash", "correct horse")
    passwords.close()


async def test_an_unknown_account_costs_a_real_verification_and_never_matches() -> None:
    passwords = Passwords(concurrency=1, wait_seconds=1, hasher=FAST)
    dummy = await passwords.dummy_hash()
    assert dummy.startswith("$argon2")
    assert not await passwords.verify(None, "anything")
    passwords.close()


class RecordingHasher(PasswordHasher):
    """The real argon2 parameters, noting which thread each hash ran on."""

    threads: list[str]

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        self.threads.append(threading.current_thread().name)
        return super().hash(password, salt=salt)


async def test_hashes_run_in_their_own_threads_while_the_event_loop_keeps_running() -> None:
    hasher = RecordingHasher()
    hasher.threads = []
    passwords = Passwords(concurrency=2, wait_seconds=30, hasher=hasher)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.001)
            ticks += 1

    task = asyncio.create_task(ticker())
    await asyncio.gather(*(passwords.hash("pw") for _ in range(4)))
    task.cancel()
    assert len(hasher.threads) == 4
    assert all(name.startswith("argon2") for name in hasher.threads)
    assert threading.current_thread().name not in hasher.threads
    assert ticks >= 4  # on the loop, the ticker could not have run while the hashes did
    passwords.close()


async def test_past_the_bound_a_request_waits_then_is_refused() -> None:
    passwords = Passwords(concurrency=1, wait_seconds=0.05, hasher=FAST)
    await passwords._slots.acquire()  # every slot busy
    with pytest.raises(HashingBusyError):
        await passwords.hash("pw")
    passwords._slots.release()
    assert await passwords.hash("pw")  # a slot frees: work goes on
    passwords.close()
