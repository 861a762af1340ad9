"""user-management under sign-in load: login latency, and /health during a flood of concurrent logins.

Run: .venv/bin/python bench/accounts_bench.py [--flood 62] [--waves 3] [--samples 20]

Starts PostgreSQL, Redis and user-management as a real process (the entry point the supervisor uses), registers
a few users, then prints:
* login latency p50/p95 over sequential sign-ins (right password), known vs unknown email (wrong password);
* a flood: ``--flood`` concurrent sign-ins (a quarter right, the rest wrong, over four accounts), ``--waves`` times,
  while /health and /ready are probed every 20 ms: /health p50/p95/max, /ready failures, responses by status.
The same script runs against an older checkout (PYTHONPATH=<checkout>/src) to compare before/after in one session.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.harness.servers import PostgresServer, RedisServer, free_port, wait_for_port

from answer_ninja.platform.db.migrate import upgrade

PASSWORD = "benchmark password"
USERS = 4


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def run(url: str, flood: int, waves: int, samples: int) -> None:
    limits = httpx.Limits(keepalive_expiry=0.5)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:
        for n in range(USERS):
            response = await client.post(
                "/api/v1/auth/register", json={"email": f"bench{n}@example.com", "password": PASSWORD}
            )
            assert response.status_code in (201, 202), response.text
        right, known_wrong, unknown_wrong = [], [], []
        for n in range(samples):
            for email, password, times in (
                (f"bench{n % USERS}@example.com", PASSWORD, right),
                (f"bench{n % USERS}@example.com", "wrong password", known_wrong),
                (f"nobody{n}@example.com", "wrong password", unknown_wrong),
            ):
                started = time.perf_counter()
                await client.post("/api/v1/auth/login", json={"email": email, "password": password})
                times.append(time.perf_counter() - started)
            await asyncio.sleep(0.3)  # stay under the throttles: this part measures one sign-in's cost
        print(
            f"login (right password)   p50 {pct(right, 0.5) * 1000:7.1f} ms  p95 {pct(right, 0.95) * 1000:7.1f} ms\n"
            f"wrong, known email       p50 {pct(known_wrong, 0.5) * 1000:7.1f} ms  "
            f"p95 {pct(known_wrong, 0.95) * 1000:7.1f} ms\n"
            f"wrong, unknown email     p50 {pct(unknown_wrong, 0.5) * 1000:7.1f} ms  "
            f"p95 {pct(unknown_wrong, 0.95) * 1000:7.1f} ms  (ratio unknown/known "
            f"{statistics.median(unknown_wrong) / statistics.median(known_wrong):.2f})"
        )

    async with (
        httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as flooder,
        httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as prober,
    ):
        quiet = []
        for _ in range(50):
            started = time.perf_counter()
            await prober.get("/health")
            quiet.append(time.perf_counter() - started)
            await asyncio.sleep(0.02)
        statuses: dict[int, int] = {}
        health: list[float] = []
        unready = 0

        async def login(n: int) -> None:
            password = PASSWORD if n % 4 == 0 else f"wrong {n}"
            try:
                response = await flooder.post(
                    "/api/v1/auth/login", json={"email": f"bench{n % USERS}@example.com", "password": password}
                )
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            except httpx.HTTPError as error:
                statuses[type(error).__name__] = statuses.get(type(error).__name__, 0) + 1  # type: ignore[index]

        async def probe(stop: asyncio.Event) -> None:
            nonlocal unready
            while not stop.is_set():
                started = time.perf_counter()
                try:
                    await prober.get("/health")
                    health.append(time.perf_counter() - started)
                    unready += (await prober.get("/ready")).status_code != 200
                except httpx.HTTPError:
                    health.append(time.perf_counter() - started)
                    unready += 1
                await asyncio.sleep(0.02)

        stop = asyncio.Event()
        task = asyncio.create_task(probe(stop))
        started = time.perf_counter()
        for _ in range(waves):
            await asyncio.gather(*(login(n) for n in range(flood)))
        elapsed = time.perf_counter() - started
        stop.set()
        await task
        print(
            f"/health quiet            p50 {pct(quiet, 0.5) * 1000:7.1f} ms  p95 {pct(quiet, 0.95) * 1000:7.1f} ms\n"
            f"/health during the flood p50 {pct(health, 0.5) * 1000:7.1f} ms  p95 {pct(health, 0.95) * 1000:7.1f} ms"
            f"  max {max(health) * 1000:7.1f} ms  ({len(health)} probes; /ready not 200: {unready})\n"
            f"flood: {waves} x {flood} concurrent sign-ins in {elapsed:.1f} s; "
            f"responses {dict(sorted(statuses.items(), key=str))}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--flood", type=int, default=62)
    parser.add_argument("--waves", type=int, default=3)
    parser.add_argument("--samples", type=int, default=20)
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    scratch = Path(tempfile.mkdtemp(prefix="an-accounts-bench-"))
    pg_directory = Path(tempfile.mkdtemp(prefix="an-accounts-bench-pg-"))
    postgres = PostgresServer(pg_directory).init()
    postgres.start()
    redis = RedisServer()
    redis.start()
    process = None
    try:
        database_url = postgres.create_database("bench")
        upgrade(database_url)
        port = free_port()
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "REDIS_URL": redis.url,
            "JWT_SECRET": "bench-jwt-secret-0123456789abcdef",
            "INTERNAL_SECRET": "bench-internal-secret-0123456789abcdef",
            "DATA_DIR": str(scratch),
            "USER_MANAGEMENT_URL": f"http://127.0.0.1:{port}",
        }
        log = (scratch / "user-management.log").open("wb")
        argv = [sys.executable, "-m", "answer_ninja.platform.server", "user-management", "--port", str(port)]
        process = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
        wait_for_port(port, timeout=60)
        asyncio.run(run(f"http://127.0.0.1:{port}", args.flood, args.waves, args.samples))
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=15)
        redis.stop()
        postgres.stop()
        shutil.rmtree(scratch, ignore_errors=True)
        shutil.rmtree(pg_directory, ignore_errors=True)
    print(f"load average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
