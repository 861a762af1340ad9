"""Foundation benchmark: `answer-ninja up` start-up time, idle RSS per service, /health throughput and p99.

Run: .venv/bin/python bench/foundation_bench.py [--runs 3] [--seconds 10]
Everything binds to 127.0.0.1 on free ports, in a scratch data directory; nothing else is touched.
Goals (issue 2): all five ready in < 5 s after install; idle RSS < 80 MB each; /health p99 and requests/s printed.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.harness.stack import LocalStack

FIVE = ["phone-gateway", "realtime-processor", "conversation-engine", "profile-analytics", "user-management"]


def start_stack() -> tuple[LocalStack, float]:
    stack = LocalStack(Path(tempfile.mkdtemp(prefix="an-bench-")), services=FIVE)
    started = time.perf_counter()
    stack.start(timeout=120)
    return stack, time.perf_counter() - started


def idle_memory_mb(stack: LocalStack) -> dict[str, tuple[float, float]]:
    """(RSS, USS) per service. USS leaves out pages shared with the other four (the interpreter, libraries)."""
    time.sleep(3)  # idle: let start-up work settle
    memory = {}
    for name in FIVE:
        info = psutil.Process(stack.service_status(name)["pid"]).memory_full_info()
        memory[name] = (info.rss / 2**20, info.uss / 2**20)
    return memory


def stop_stack(stack: LocalStack) -> None:
    stack.stop()
    shutil.rmtree(stack.data_dir, ignore_errors=True)


def health_load(url: str, seconds: int, connections: int) -> dict[str, float]:
    """wrk (a separate process) against /health; returns requests/s and latency percentiles in ms."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    output = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", url + "/health"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    units = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))}  # type: ignore[union-attr]
    for percentile in ("50", "90", "99"):
        value, unit = re.search(rf"\s{percentile}%\s+([\d.]+)(us|ms|s)", output).groups()  # type: ignore[union-attr]
        result[f"p{percentile}_ms"] = float(value) * units[unit]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()

    startup: list[float] = []
    rss: dict[str, list[float]] = {name: [] for name in FIVE}
    uss: dict[str, list[float]] = {name: [] for name in FIVE}
    for run in range(args.runs):
        stack, seconds = start_stack()
        startup.append(seconds)
        for name, (resident, unique) in idle_memory_mb(stack).items():
            rss[name].append(resident)
            uss[name].append(unique)
        if run < args.runs - 1:
            stop_stack(stack)
    try:
        print(f"== answer-ninja up -> all five ready ({args.runs} runs, goal < 5 s)")
        print(f"   median {statistics.median(startup):.2f} s   min {min(startup):.2f} s   max {max(startup):.2f} s")
        print("== idle memory per service (goal: RSS < 80 MB each; median over runs)")
        for name in FIVE:
            value = statistics.median(rss[name])
            verdict = "ok" if value < 80 else "OVER"
            print(f"   {name:<20} RSS {value:6.1f} MB {verdict:<4}  USS {statistics.median(uss[name]):6.1f} MB")
        print(f"== /health of conversation-engine: wrk, {args.connections} connections, {args.seconds} s, 3 runs")
        runs = [health_load(stack.url("conversation-engine"), args.seconds, args.connections) for _ in range(3)]
        for key in ("rps", "p50_ms", "p90_ms", "p99_ms"):
            values = [run[key] for run in runs]
            print(f"   {key:<7} median {statistics.median(values):9.2f}   runs {', '.join(f'{v:.2f}' for v in values)}")
    finally:
        stop_stack(stack)


if __name__ == "__main__":
    main()
