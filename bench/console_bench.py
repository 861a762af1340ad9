"""Console figures, on a real local stack (``answer-ninja up`` on free ports, all traffic on loopback):

1. time to first byte of each page (p50/p95 over N sequential requests) for a person with 1,000 calls in their
   history (seeded straight into the database), and the public status page;
2. live transcript lag: a scripted caller (``answer-ninja call --script loan-zh``) talks to the AI while the bench
   watches the call's live page stream; for every transcript line, the time from the moment the voice loop knew
   the text (the event's publish time, the same moment the call record's turn gets it) to the moment the browser
   stream delivered it; and, for the caller's lines, how far that is behind the caller's last word (end-of-turn
   wait + speech-to-text, from the voice loop's own turn timings);
3. the console's memory (RSS/USS) after all that.

Usage: .venv/bin/python bench/console_bench.py [--requests 50] [--calls 1000] [--no-call]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.harness.console import ConsoleClient, verify_number
from tests.harness.credentials import service_headers
from tests.harness.stack import LocalStack

HOSTED, REAL = "+8610012348888", "+8613900000088"
EMAIL = "bench@example.com"
INTENTS = ("loan", "sales", "investment", "insurance", "telecom", "survey", "scam", "legitimate", "unknown")


def percentile(values: list[float], share: float) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[round(share * 100) - 1]


def seed_calls(database: Path, user_id: str, count: int) -> str:
    """``count`` finished calls over the last 30 days, each with a short transcript; returns one call's id."""
    now = datetime.now(UTC)
    rows, turns = [], []
    for index in range(count):
        call_id = uuid.uuid4().hex
        started = now - timedelta(minutes=43 * index)
        decision = ("ai", "ai", "ai", "reject", "transfer")[index % 5]
        intent = INTENTS[index % len(INTENTS)]
        transcript = [{"turn": 1, "speaker": "caller", "text": "您好，我们这边有低息贷款"},
                      {"turn": 1, "speaker": "ai", "text": "谢谢，不需要。"}]  # fmt: skip
        summary = {"intent": intent, "turns": 1, "outcome": "goodbye", "duration_seconds": 31.0,
                   "key_lines": transcript}  # fmt: skip
        rows.append((call_id, user_id, "twilio", "CA" + call_id, f"+86138{index:08d}", HOSTED, decision,
                     "default_ai", 1.0, "completed", "goodbye", intent, started.isoformat(),
                     (started + timedelta(seconds=31)).isoformat(), 31.0, json.dumps(transcript, ensure_ascii=False),
                     "[]", json.dumps(summary, ensure_ascii=False), "{}"))  # fmt: skip
        turns.append((uuid.uuid4().hex, call_id, 1, "caller", transcript[0]["text"], "{}", 0, started.isoformat()))
        turns.append((uuid.uuid4().hex, call_id, 1, "ai", transcript[1]["text"], '{"voice_to_voice": 420.0}', 0,
                      started.isoformat()))  # fmt: skip
    with sqlite3.connect(database) as db:
        db.executemany(
            "INSERT INTO call_records (id, user_id, carrier, carrier_call_id, caller_number, dialled_number, decision,"
            " decision_reason, decision_latency_ms, status, outcome, intent, started_at, ended_at, duration_seconds,"
            " transcript, turn_timings, summary, details) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            rows,
        )
        db.executemany(
            "INSERT INTO conversation_turns (id, call_id, turn_index, speaker, text, timings_ms, interrupted, "
            "created_at) VALUES (?,?,?,?,?,?,?,?)",
            turns,
        )
    return str(rows[len(rows) // 2][0])


def ttfb(client: httpx.Client, path: str, count: int) -> list[float]:
    times = []
    for _ in range(count):
        started = time.perf_counter()
        with client.stream("GET", path) as response:
            next(response.iter_raw(1), b"")
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (path, response.status_code)
    return times


def watch_call(stack: LocalStack, console: ConsoleClient, lags: dict[str, list[float]], done: threading.Event) -> None:
    """Follow the person's stream for the call id, then the call's live stream; note each line's lag."""
    call_id = None
    with console.http.stream("GET", "/live/events", headers={"accept": "text/event-stream"}, timeout=None) as feed:
        event = None
        for line in feed.iter_lines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and event == "calls":
                call_id = line[6:].strip()
                break
    if call_id is None:
        return
    timings: dict[int, float] = {}

    def voice_loop_timings() -> None:  # the caller lines' end-of-turn + speech-to-text, from the voice loop itself
        url = stack.url("realtime-processor") + "/internal/v1/live/events"
        headers = service_headers("console", "realtime-processor")
        with httpx.stream("GET", url, headers=headers, timeout=None) as stream:
            for raw in stream.iter_lines():
                if done.is_set():
                    return
                if raw.startswith("{"):
                    item = json.loads(raw)
                    if item.get("call_id") == call_id and item.get("type") == "caller":
                        timings[item["turn"]] = sum(item.get("timings", {}).values())

    threading.Thread(target=voice_loop_timings, daemon=True).start()
    pattern = re.compile(r'id="turn-(\d+)-(caller|ai)"[^>]*data-at="([0-9.]+)"')
    with console.http.stream("GET", f"/calls/{call_id}/events", headers={"accept": "text/event-stream"},
                             timeout=None) as stream:  # fmt: skip
        for line in stream.iter_lines():
            received = time.time()
            for turn, speaker, at in pattern.findall(line):
                lags["relay_" + speaker].append((received - float(at)) * 1000)
                if speaker == "caller":
                    time.sleep(0.05)
                    behind = timings.get(int(turn))
                    if behind is not None:
                        lags["behind_audio"].append(behind + (received - float(at)) * 1000)
            if line.startswith("event: ended"):
                break
    done.set()


def silent_call_lags(stack: LocalStack, console: ConsoleClient, calls: int, seconds: float) -> list[float]:
    """The relay alone, without speech recognition: callers who stay silent hear the AI's prompt after a few seconds
    of silence; each such line's lag from the voice loop's publish to the call's live stream."""
    import asyncio

    import websockets

    from answer_ninja.telephony import twilio_media
    from answer_ninja.telephony.codec import MULAW_FRAME_BYTES

    lags: list[float] = []
    pattern = re.compile(r'data-at="([0-9.]+)"')

    def watch(call_id: str, stop: threading.Event) -> None:
        with ConsoleClient(stack.url("console")) as viewer:
            viewer.http.cookies.update(console.http.cookies)
            with viewer.http.stream("GET", f"/calls/{call_id}/events", headers={"accept": "text/event-stream"},
                                    timeout=seconds + 30) as stream:  # fmt: skip
                for line in stream.iter_lines():
                    for at in pattern.findall(line):
                        lags.append((time.time() - float(at)) * 1000)
                    if stop.is_set() or line.startswith("event: ended"):
                        return

    async def caller(call_id: str, parameters: dict[str, str]) -> None:
        url = stack.url("realtime-processor").replace("http://", "ws://") + "/media/twilio"
        async with websockets.connect(url) as ws:
            await ws.send(twilio_media.start_message("MZ" + call_id, "CA" + call_id, parameters))
            silence = b"\xff" * MULAW_FRAME_BYTES
            started = time.monotonic()
            while time.monotonic() - started < seconds:
                await ws.send(twilio_media.media_message("MZ" + call_id, silence))
                await asyncio.sleep(0.02)

    async def all_calls() -> None:
        jobs = []
        for index in range(calls):
            status, body = stack.post(
                stack.url("phone-gateway") + "/webhook/incoming-call", {"from": f"+8613700{index:06d}", "to": HOSTED}
            )  # the operator's token; fmt: skip
            assert status == 200, body
            assert body["decision"] == "ai", body
            stop = threading.Event()
            threading.Thread(target=watch, args=(body["call_id"], stop), daemon=True).start()
            await asyncio.sleep(0.5)  # the live stream is open before the call starts talking
            jobs.append(caller(body["call_id"], body["parameters"]))
        await asyncio.gather(*jobs)

    asyncio.run(all_calls())
    time.sleep(1.0)
    return lags


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--no-call", action="store_true", help="skip the scripted call (speech recognition)")
    parser.add_argument("--silent-calls", type=int, default=4, help="silent callers for the relay lag alone")
    args = parser.parse_args()
    print(f"load before: {os.getloadavg()}")
    with tempfile.TemporaryDirectory(prefix="console-bench-") as scratch:
        # The responder observes but never acts: on a machine this busy it takes slow services for dead and restarts
        # them mid-measurement (its own figures are responder_bench's).
        stack = LocalStack(Path(scratch), env={"RESPONDER_ENABLED": "false"}).start(timeout=300)
        try:
            run(stack, args)
        finally:
            stack.stop()
    print(f"load after: {os.getloadavg()}")


def run(stack: LocalStack, args: argparse.Namespace) -> None:
    console = ConsoleClient(stack.url("console"))
    console.sign_up(EMAIL, hosted_number=HOSTED, real_number=REAL)
    # Numbers stay pending until proven: the operator vouches for both (a person would type the code they got).
    cli_env = {**stack.env, "PYTHONUNBUFFERED": "1"}
    verify_number(cli_env, EMAIL, HOSTED)
    verify_number(cli_env, EMAIL, REAL, forward=True)
    with sqlite3.connect(stack.data_dir / "answer_ninja.db") as db:
        user_id = db.execute("SELECT id FROM users WHERE email = ?", (EMAIL,)).fetchone()[0]
    one_call = seed_calls(stack.data_dir / "answer_ninja.db", user_id, args.calls)
    older = re.search(r'href="/calls\?before=([^"]+)"', console.http.get("/calls").text)
    pages = {
        "/calls": "/calls",
        "/calls (page 2)": f"/calls?before={older.group(1)}" if older else "/calls",
        "/calls/{id}": f"/calls/{one_call}",
        "/stats (30 days)": "/stats",
        "/whitelist": "/whitelist",
        "/settings": "/settings",
        "/status (public)": "/status",
        "/login (public)": "/login",
    }
    print(f"\ntime to first byte, {args.calls} calls in the history, {args.requests} requests each (ms)")
    print(f"{'page':<20} {'p50':>7} {'p95':>7} {'max':>7}")
    everything: list[float] = []
    anonymous = httpx.Client(base_url=stack.url("console"), timeout=30.0)
    for name, path in pages.items():
        client = anonymous if "(public)" in name else console.http
        ttfb(client, path, 3)  # warm
        times = ttfb(client, path, args.requests)
        everything += times
        print(f"{name:<20} {statistics.median(times):7.1f} {percentile(times, 0.95):7.1f} {max(times):7.1f}")
    print(f"{'all pages':<20} {statistics.median(everything):7.1f} {percentile(everything, 0.95):7.1f}")

    if not args.no_call:
        lags: dict[str, list[float]] = {"relay_caller": [], "relay_ai": [], "behind_audio": []}
        done = threading.Event()
        watcher = threading.Thread(target=watch_call, args=(stack, console, lags, done), daemon=True)
        watcher.start()
        time.sleep(1.0)
        result = subprocess.run(
            [sys.executable, "-m", "answer_ninja", "call", "--script", "loan-zh", "--to", HOSTED],
            env=stack.env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        done.wait(timeout=30)
        if result.returncode != 0:
            print(result.stdout[-800:], result.stderr[-800:])
        print("\nlive transcript (ms): line published by the voice loop -> delivered on the call's live stream")
        for name, values in lags.items():
            if values:
                print(f"{name:<14} n={len(values):<3} p50 {statistics.median(values):7.1f} "
                      f"p95 {percentile(values, 0.95):7.1f} max {max(values):7.1f}")  # fmt: skip

    if args.silent_calls:
        relay = silent_call_lags(stack, console, args.silent_calls, seconds=20.0)
        if relay:
            print(f"\nrelay only ({args.silent_calls} silent calls, the AI's prompts; ms): n={len(relay)} "
                  f"p50 {statistics.median(relay):.1f} p95 {percentile(relay, 0.95):.1f} "
                  f"max {max(relay):.1f}")  # fmt: skip

    _status, row = stack.get(f"{stack.supervisor_url}/services/console")
    process = psutil.Process(int(row["pid"]))
    memory = process.memory_full_info()
    print(f"\nconsole memory: RSS {memory.rss / 1e6:.1f} MB, USS {memory.uss / 1e6:.1f} MB")
    console.close()


if __name__ == "__main__":
    main()
