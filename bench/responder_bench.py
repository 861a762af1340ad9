"""MTTD and MTTR per drill on the local platform (`answer-ninja up` + the responder), with the mode found.

Each fault runs ``--runs`` times on its own fresh stack (probe interval 0.5 s, 3 failures to confirm);
PostgreSQL and Redis are real servers started here. Prints medians and worst cases, and whether each run
passed (right mode, recovered, escalated when only a person can fix it).

    .venv/bin/python bench/responder_bench.py [--runs 3] [--faults kill,hang]
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.harness.servers import PostgresServer, RedisServer
from tests.ops.drill_support import ProviderStandIn, drill, drill_stack, hook

from answer_ninja.ops.drills import FAULTS, DrillResult
from answer_ninja.platform.db.migrate import upgrade

GOALS = "goals: MTTD < 10 s, MTTR < 30 s for one failed service, correct mode in every drill"


@contextlib.contextmanager
def dependency_for(fault: str, scratch: Path) -> Iterator[tuple[dict[str, str], dict[str, Any]]]:
    """The stack's environment and the drill's stop/start hooks for a dependency fault."""
    if fault == "postgres-down":
        server = PostgresServer(Path(tempfile.mkdtemp(prefix="bench-pg-"))).init()
        server.start()
        try:
            url = server.create_database("bench")
            upgrade(url)
            yield {"DATABASE_URL": url}, {"stop": hook(server.stop), "start": hook(server.start)}
        finally:
            with contextlib.suppress(Exception):
                server.stop()
            shutil.rmtree(server.directory, ignore_errors=True)
    elif fault == "redis-down":
        redis = RedisServer()
        redis.start()
        try:
            yield {"REDIS_URL": redis.url}, {"stop": hook(redis.stop), "start": hook(redis.start)}
        finally:
            redis.stop()
    elif fault == "llm-down":
        provider = ProviderStandIn()
        provider.start()
        try:
            yield {"LLM_BASE_URL": provider.base_url}, {"stop": hook(provider.stop), "start": hook(provider.start)}
        finally:
            provider.stop()
    else:
        yield {}, {}


def run_fault(fault: str, runs: int, scratch: Path) -> list[DrillResult]:
    results = []
    for run in range(runs):
        with dependency_for(fault, scratch) as (env, hooks):
            services = ["phone-gateway", "conversation-engine", "responder"]
            with drill_stack(scratch / f"{fault}-{run}", env, services) as stack:
                results.append(drill(stack, fault, **hooks))
        outcome = results[-1].as_dict()
        print(
            f"  {fault:<14} run {run + 1}: mode {outcome['mode']} actions {outcome['actions']} "
            f"MTTD {outcome['mttd_seconds']} s MTTR {outcome['mttr_seconds']} s passed {outcome['passed']}",
            flush=True,
        )
    return results


def _fmt(values: list[float]) -> str:
    if not values:
        return "-"
    return f"{statistics.median(values):5.2f} / {max(values):5.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--faults", default=",".join(FAULTS))
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="responder-bench-"))
    started = time.perf_counter()
    table: list[tuple[str, list[DrillResult]]] = []
    try:
        for fault in args.faults.split(","):
            table.append((fault, run_fault(fault, args.runs, scratch)))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    print(f"\nresponder drills on the local platform, {args.runs} run(s) each ({time.perf_counter() - started:.0f} s)")
    print(GOALS)
    print("MTTR of dependency drills counts from the dependency's return (only a person can bring it back).\n")
    print(f"{'drill':<14} {'expected':>8} {'modes':>8} {'MTTD med/max s':>16} {'MTTR med/max s':>16}  actions  passed")
    for fault, results in table:
        modes = "".join(sorted({str(r.mode) for r in results}))
        mttd = [r.mttd_seconds for r in results if r.mttd_seconds is not None]
        mttr = [r.mttr_seconds for r in results if r.mttr_seconds is not None]
        actions = sorted({",".join(r.actions) for r in results})
        passed = sum(r.passed for r in results)
        print(
            f"{fault:<14} {FAULTS[fault].expected_mode!s:>8} {modes:>8} {_fmt(mttd):>16} {_fmt(mttr):>16}  "
            f"{'|'.join(actions)}  {passed}/{len(results)}"
        )


if __name__ == "__main__":
    main()
