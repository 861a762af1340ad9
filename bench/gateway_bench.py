"""phone-gateway benchmark: incoming-call webhooks -> decisions, with real PostgreSQL + Redis behind it.

Run: .venv/bin/python bench/gateway_bench.py [--runs 3] [--seconds 10] [--connections 16] [--users 100]
     [--big-whitelist]

Starts a throwaway PostgreSQL and Redis, then phone-gateway, user-management and profile-analytics as real
processes (the same entry point the supervisor uses). Seeds users, each with a hosted number and a 200-entry
whitelist imported from CSV, and a few callers reported as spam by three users each who received their calls.
Then wrk (a separate process) posts the generic webhook with a mix of callers (whitelisted, unknown, known spam,
number nobody hosts). Every request is a full decision: cache lookups, the routing rules, and an INSERT of the call
record into PostgreSQL. With --big-whitelist, one user then imports a 30,000-entry whitelist and receives 200 calls
from new callers (half on the list): import time, user-management's /health during it, those decisions' latency.
The script also runs against an older checkout (PYTHONPATH=<checkout>/src) to compare versions in one session.

Prints per run and as medians over runs: decisions/s, HTTP p50/p99 (wrk), and from the stored call records the
decision latency p50/p99 (webhook in -> decision, as recorded) and the whitelist-lookup p50/p99.
Goals (issue 4): >= 1000 decisions/s, decision p99 < 10 ms, whitelist lookup < 5 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.harness.credentials import WebhookSigner
from tests.harness.servers import PostgresServer, RedisServer, free_port, wait_for_port

from answer_ninja.platform.db.migrate import upgrade
from answer_ninja.telephony.webhook_auth import sign_body

SERVICES = ("phone-gateway", "user-management", "profile-analytics")
WHITELIST_SIZE = 200
SPAMMERS = 20
REPORTERS = 3  # distinct reporters a number needs before it is rejected for everyone
OPERATOR_TOKEN = "bench-operator-token-0123456789abcdef"
WEBHOOK_SECRET = "bench-carrier-webhook-secret-0123456789abcdef"
BIG_WHITELIST = 30_000
PASSWORD = "benchmark password"
REAL_NUMBER = "+8613900000001"


def hosted(i: int) -> str:
    return f"+86105{i:07d}"


def whitelisted(i: int) -> str:
    return f"+86138{i:08d}"


def spammer(i: int) -> str:
    return f"+86170{i:08d}"


def unknown(i: int) -> str:
    return f"+86150{i:08d}"


def start_services(env: dict[str, str], ports: dict[str, int], log_dir: Path) -> list[subprocess.Popen[bytes]]:
    processes = []
    for name in SERVICES:
        argv = [sys.executable, "-m", "answer_ninja.platform.server", name, "--port", str(ports[name])]
        log = (log_dir / f"{name}.log").open("wb")
        processes.append(subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT))
    for name in SERVICES:
        wait_for_port(ports[name], timeout=60)
    return processes


async def vouch(client: httpx.AsyncClient, email: str, number: str, purpose: str) -> None:
    """The operator marks a pending number proven (as `answer-ninja numbers verify` does). Older versions had no
    proofs (404 here): nothing to do."""
    response = await client.post(
        "/api/v1/operator/numbers/verified",
        json={"email": email, "number": number, "purpose": purpose},
        headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"},
    )
    if response.status_code != 404:
        response.raise_for_status()


async def seed(urls: dict[str, str], users: int, database_url: str) -> None:
    """Users with proven hosted numbers and whitelists (CSV import), and spam reports from three users per spammer
    who each received a call from it a month ago (so the reports count for everyone)."""
    async with httpx.AsyncClient(base_url=urls["user-management"], timeout=60) as client:
        tokens = []
        for i in range(users):
            email = f"bench{i}@example.com"
            body = {"email": email, "password": PASSWORD, "hosted_numbers": [hosted(i)], "real_number": REAL_NUMBER}
            (await client.post("/api/v1/auth/register", json=body)).raise_for_status()
            await vouch(client, email, hosted(i), "hosted")
            await vouch(client, email, REAL_NUMBER, "forward")
            login = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
            login.raise_for_status()
            token = login.json()["access_token"]
            tokens.append(token)
            rows = (f"c{j},{whitelisted(i * WHITELIST_SIZE + j)}\n" for j in range(WHITELIST_SIZE))
            csv = "name,phone\n" + "".join(rows)
            imported = await client.post(
                "/api/v1/whitelist/import",
                json={"format": "csv", "content": csv},
                headers={"Authorization": f"Bearer {token}"},
            )
            imported.raise_for_status()
    async with httpx.AsyncClient(
        base_url=urls["phone-gateway"], timeout=60, auth=WebhookSigner(WEBHOOK_SECRET)
    ) as gateway:
        for s in range(SPAMMERS):
            for i in range(REPORTERS):
                call = await gateway.post("/webhook/incoming-call", json={"from": spammer(s), "to": hosted(i)})
                call.raise_for_status()
    connection = await asyncpg.connect(database_url.replace("+asyncpg", ""))
    try:
        await connection.execute("update call_records set started_at = started_at - interval '30 days'")
    finally:
        await connection.close()
    async with httpx.AsyncClient(base_url=urls["profile-analytics"], timeout=60) as client:
        for s in range(SPAMMERS):
            for token in tokens[:REPORTERS]:
                response = await client.post(
                    "/api/v1/feedback",
                    json={"number": spammer(s), "verdict": "spam", "category": "loan"},
                    headers={"Authorization": f"Bearer {token}"},
                )
                response.raise_for_status()


async def big_whitelist(urls: dict[str, str], database_url: str) -> dict[str, float]:
    """One user imports a 30,000-entry whitelist (probing user-management's /health meanwhile), then 200 calls
    from new callers (half on that list) reach them, twice: decision latency from the stored records."""
    async with httpx.AsyncClient(base_url=urls["user-management"], timeout=120) as client:
        token = (
            await client.post("/api/v1/auth/login", json={"email": "bench0@example.com", "password": PASSWORD})
        ).json()["access_token"]
        csv = "name,phone\n" + "".join(f"b{n},+86136{n:08d}\n" for n in range(BIG_WHITELIST))
        health: list[float] = []
        done = asyncio.Event()

        async def probe() -> None:
            async with httpx.AsyncClient(base_url=urls["user-management"], timeout=60) as prober:
                while not done.is_set():
                    started = time.perf_counter()
                    await prober.get("/health")
                    health.append((time.perf_counter() - started) * 1000)
                    await asyncio.sleep(0.02)

        task = asyncio.create_task(probe())
        started = time.perf_counter()
        response = await client.post(
            "/api/v1/whitelist/import",
            json={"format": "csv", "content": csv},
            headers={"Authorization": f"Bearer {token}"},
        )
        import_s = time.perf_counter() - started
        done.set()
        await task
        response.raise_for_status()
    since = time.time()
    async with httpx.AsyncClient(
        base_url=urls["phone-gateway"], timeout=60, auth=WebhookSigner(WEBHOOK_SECRET)
    ) as gateway:
        callers = [f"+86136{n * 150:08d}" if n % 2 else f"+86151{n:08d}" for n in range(200)]
        for caller in callers:
            (await gateway.post("/webhook/incoming-call", json={"from": caller, "to": hosted(0)})).raise_for_status()
        first, _, _ = await recorded_latencies(database_url, since)
        since = time.time()
        for caller in callers:
            (await gateway.post("/webhook/incoming-call", json={"from": caller, "to": hosted(0)})).raise_for_status()
        again, _, _ = await recorded_latencies(database_url, since)
    return {
        "import_s": import_s,
        "health_p50": pct(health, 0.5),
        "health_max": max(health),
        "decision_p50": pct(first, 0.5),
        "decision_p99": pct(first, 0.99),
        "again_p50": pct(again, 0.5),
    }


def request_mix(users: int, count: int = 4000) -> list[dict[str, str]]:
    """40% whitelisted, 35% unknown, 20% known spam, 5% a number nobody hosts."""
    bodies = []
    for n in range(count):
        user = n % users
        kind = n % 20
        if kind < 8:
            caller, dialled = whitelisted(user * WHITELIST_SIZE + n % WHITELIST_SIZE), hosted(user)
        elif kind < 15:
            caller, dialled = unknown(n), hosted(user)
        elif kind < 19:
            caller, dialled = spammer(n % SPAMMERS), hosted(user)
        else:
            caller, dialled = unknown(n), "+8610999999999"
        bodies.append({"from": caller, "to": dialled})
    return bodies


def wrk_script(path: Path, bodies: list[dict[str, str]]) -> None:
    """Each body with its carrier signature (X-Webhook-Signature), as a carrier posting the webhook sends it."""
    texts = [json.dumps(body) for body in bodies]
    lines = ",\n".join("  " + json.dumps(text) for text in texts)
    signatures = ",\n".join("  " + json.dumps(sign_body(WEBHOOK_SECRET, text.encode())) for text in texts)
    path.write_text(
        "wrk.method = 'POST'\n"
        "wrk.headers['Content-Type'] = 'application/json'\n"
        f"local bodies = {{\n{lines}\n}}\n"
        f"local signatures = {{\n{signatures}\n}}\n"
        "local i = 0\n"
        "request = function()\n"
        "  i = i % #bodies + 1\n"
        "  local headers = {}\n"
        "  for name, value in pairs(wrk.headers) do headers[name] = value end\n"
        "  headers['X-Webhook-Signature'] = signatures[i]\n"
        "  return wrk.format(nil, '/webhook/incoming-call', headers, bodies[i])\n"
        "end\n"
        "done = function(summary, latency, requests)\n"
        "  io.write(string.format('errors %d %d %d %d\\n', summary.errors.connect, summary.errors.read,"
        " summary.errors.status, summary.errors.timeout))\n"
        "end\n"
    )


def run_wrk(url: str, script: Path, seconds: int, connections: int) -> dict[str, float]:
    output = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    units = {"us": 0.001, "ms": 1.0, "s": 1000.0}

    def percentile(label: str) -> float:
        match = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", output, re.M)
        return float(match[1]) * units[match[2]] if match else float("nan")

    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    errors = re.search(r"errors (\d+) (\d+) (\d+) (\d+)", output)
    total_errors = sum(int(part) for part in errors.groups()) if errors else -1
    return {
        "rps": float(rate[1]) if rate else 0.0,
        "http_p50": percentile("50"),
        "http_p99": percentile("99"),
        "errors": float(total_errors),
    }


async def recorded_latencies(database_url: str, since: float) -> tuple[list[float], list[float], dict[str, int]]:
    connection = await asyncpg.connect(database_url.replace("+asyncpg", ""))
    try:
        rows = await connection.fetch(
            "select decision, decision_latency_ms, details from call_records where started_at >= to_timestamp($1)",
            since,
        )
    finally:
        await connection.close()
    decisions = [float(row["decision_latency_ms"]) for row in rows]
    whitelist = []
    by_decision: dict[str, int] = {}
    for row in rows:
        details = json.loads(row["details"]) if isinstance(row["details"], str) else row["details"]
        if "whitelist_lookup_ms" in details:
            whitelist.append(float(details["whitelist_lookup_ms"]))
        by_decision[row["decision"]] = by_decision.get(row["decision"], 0) + 1
    return decisions, whitelist, by_decision


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--big-whitelist", action="store_true", help=f"also a {BIG_WHITELIST:,}-entry whitelist")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (scripts/system-packages.txt lists it)")

    # Wall-time figures depend on what else runs on the cores; print how busy they were.
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    scratch = Path(tempfile.mkdtemp(prefix="an-gateway-bench-"))
    # Its own top-level directory: PostgreSQL runs as its own user and cannot enter root's 0700 scratch directory.
    pg_directory = Path(tempfile.mkdtemp(prefix="an-gateway-bench-pg-"))
    postgres = PostgresServer(pg_directory).init()
    postgres.start()
    redis = RedisServer()
    redis.start()
    processes: list[subprocess.Popen[bytes]] = []
    try:
        database_url = postgres.create_database("bench")
        upgrade(database_url)
        ports = {name: free_port() for name in SERVICES}
        urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "REDIS_URL": redis.url,
            "JWT_SECRET": "bench-jwt-secret-0123456789abcdef",
            "PROFILE_HASH_SECRET": "bench-hash-secret-0123456789abcdef",
            "INTERNAL_SECRET": "bench-internal-secret-0123456789abcdef",
            "OPERATOR_TOKEN": OPERATOR_TOKEN,
            "CARRIER_WEBHOOK_SECRET": WEBHOOK_SECRET,  # the bench signs each webhook body as a carrier does
            "REGISTER_ADDRESS_LIMIT_PER_HOUR": "100000",  # the seeding registers every user from loopback
            "DATA_DIR": str(scratch),
            "LOG_JSON": "true",
            **{f"{name.upper().replace('-', '_')}_URL": url for name, url in urls.items()},
        }
        env.pop("TWILIO_AUTH_TOKEN", None)
        processes = start_services(env, ports, scratch)
        started = time.perf_counter()
        asyncio.run(seed(urls, args.users, database_url))
        print(
            f"seeded {args.users} users x {WHITELIST_SIZE} whitelist entries, {SPAMMERS} spammers "
            f"in {time.perf_counter() - started:.1f}s"
        )
        script = scratch / "calls.lua"
        wrk_script(script, request_mix(args.users))
        run_wrk(urls["phone-gateway"], script, 3, args.connections)  # warm-up: caches filled, JIT-free but pools open

        gateway = psutil.Process(processes[0].pid)
        results = []
        for run in range(1, args.runs + 1):
            since = time.time()
            cpu_before = sum(gateway.cpu_times()[:2])
            load = run_wrk(urls["phone-gateway"], script, args.seconds, args.connections)
            cpu_seconds = sum(gateway.cpu_times()[:2]) - cpu_before
            decisions, whitelist, by_decision = asyncio.run(recorded_latencies(database_url, since))
            result = {
                **load,
                "stored": len(decisions),
                # CPU the gateway spent per decision: what the machine's other load does not change much.
                "cpu_ms": cpu_seconds * 1000 / max(1, len(decisions)),
                "decision_p50": pct(decisions, 0.50),
                "decision_p99": pct(decisions, 0.99),
                "whitelist_p50": pct(whitelist, 0.50),
                "whitelist_p99": pct(whitelist, 0.99),
            }
            results.append(result)
            print(
                f"run {run}: {load['rps']:.0f} decisions/s ({len(decisions)} records stored, "
                f"{int(load['errors'])} errors, {by_decision}) | gateway CPU {result['cpu_ms']:.2f} ms/decision"
                f" | HTTP p50 {load['http_p50']:.2f} ms "
                f"p99 {load['http_p99']:.2f} ms | decision p50 {result['decision_p50']:.2f} ms "
                f"p99 {result['decision_p99']:.2f} ms | whitelist lookup p50 {result['whitelist_p50']:.2f} ms "
                f"p99 {result['whitelist_p99']:.2f} ms"
            )
            time.sleep(1)

        def median(key: str) -> float:
            return statistics.median(result[key] for result in results)

        big = asyncio.run(big_whitelist(urls, database_url)) if args.big_whitelist else None

        print(
            f"\nmedian of {args.runs} runs x {args.seconds}s, {args.connections} connections, "
            f"{os.cpu_count()} cores shared by wrk, 3 services, PostgreSQL and Redis:\n"
            f"  decisions/s          {median('rps'):8.0f}   (goal >= 1000)\n"
            f"  gateway CPU          {median('cpu_ms'):8.2f} ms per decision"
            f" (= {1000 / median('cpu_ms'):.0f} decisions/s per free core)\n"
            f"  decision latency p50 {median('decision_p50'):8.2f} ms\n"
            f"  decision latency p99 {median('decision_p99'):8.2f} ms (goal < 10)\n"
            f"  whitelist lookup p50 {median('whitelist_p50'):8.2f} ms\n"
            f"  whitelist lookup p99 {median('whitelist_p99'):8.2f} ms (goal < 5)\n"
            f"  HTTP p50 / p99       {median('http_p50'):8.2f} / {median('http_p99'):.2f} ms"
            " (client-side, queueing included)"
        )
        if big is not None:
            print(
                f"  {BIG_WHITELIST:,}-entry whitelist: import {big['import_s']:.1f} s, user-management /health"
                f" during it p50 {big['health_p50']:.1f} ms max {big['health_max']:.1f} ms; that user's decisions"
                " (new callers,"
                f" half listed) p50 {big['decision_p50']:.2f} ms p99 {big['decision_p99']:.2f} ms; the same callers"
                f" again p50 {big['again_p50']:.2f} ms"
            )
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        redis.stop()
        postgres.stop()
        shutil.rmtree(scratch, ignore_errors=True)
        shutil.rmtree(pg_directory, ignore_errors=True)


if __name__ == "__main__":
    main()
