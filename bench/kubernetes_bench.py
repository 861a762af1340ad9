"""Kubernetes benchmark: MTTD and MTTR of a crash-looping service on the harness (real kube-apiserver and
controllers, simulated pods), two ways.

1. The alert path (the issue's goal, MTTR < 60 s): first failed scrape -> ServiceDown (the runbook's `for: 30s`)
   -> Alertmanager webhook -> the responder service (RESPONDER_PLATFORM=kubernetes) -> rollout restart ->
   verified recovery. Real Prometheus (1 s scrape/evaluation) and Alertmanager with deploy/'s rules and routes.
2. The responder's own probes (0.5 s interval, 3 failures to confirm): fault -> detection -> verified recovery.

Run: .venv/bin/python bench/kubernetes_bench.py [--alert-runs 3] [--probe-runs 5]
Needs the harness binaries (scripts/install.d/50-kubernetes.sh). Everything binds to 127.0.0.1 on free ports.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.harness.kube import Behaviour, shared_cluster
from tests.harness.kube_fixtures import Kube, close_namespace, open_namespace
from tests.harness.monitoring import alerting_pipeline, wait_for

from answer_ninja.ops.models import IncidentStatus
from answer_ninja.ops.platforms.kubernetes import KubernetesPlatform
from answer_ninja.ops.responder import Responder
from answer_ninja.ops.store import IncidentStore
from answer_ninja.platform.logging import configure_logging
from answer_ninja.platform.settings import load_settings

APPS = ("phone-gateway", "phone-gateway-backup", "realtime-processor", "conversation-engine")
VICTIM = "conversation-engine"


def first_failed_scrape(series: list[dict[str, Any]], after: float) -> float:
    """Wall-clock time of the first `up == 0` sample of any of the victim's pods after the fault."""
    return min(float(at) for one in series for at, value in one["values"] if value == "0" and float(at) >= after - 1)


def alert_run(kube: Kube, directory: Path) -> dict[str, float]:
    ns = open_namespace(kube, directory, APPS)
    try:
        with alerting_pipeline(
            directory / "pipeline",
            namespace=ns.name,
            kubeconfig=ns.responder_kubeconfig,
            service_url_template=kube.proxy.url_template,
            write_targets=lambda path: kube.simulator.write_scrape_targets(path, ns.name),
        ) as pipeline:
            prometheus = pipeline.prometheus
            wait_for(lambda: len(prometheus.query(f'up{{job="{VICTIM}"}} == 1')) == 2, 60, "victim scraped")
            time.sleep(2)
            injected_wall, injected = time.time(), time.monotonic()
            kube.simulator.break_pods(ns.name, VICTIM, Behaviour.CRASH_LOOP)
            incident = wait_for(
                lambda: next((i for i in pipeline.incidents() if i["status"] == "resolved"), None), 150, "resolved"
            )
            wait_for(lambda: pipeline.notifications("ServiceDown", "resolved"), 90, "resolved notification")
            webhook = pipeline.notifications("ServiceDown", "firing")[0]
            resolved_note = pipeline.notifications("ServiceDown", "resolved")[0]
            samples = prometheus.query(f'up{{job="{VICTIM}"}}[5m]')
            first_fail = first_failed_scrape(samples, injected_wall)
            resolved_at = datetime.fromisoformat(incident["resolved_at"]).timestamp()
            return {
                "scrape_lag": first_fail - injected_wall,
                "mttd": (webhook - injected) - (first_fail - injected_wall),
                "mttr": resolved_at - first_fail,
                "resolved_notification": (resolved_note - injected) - (first_fail - injected_wall),
            }
    finally:
        close_namespace(ns)


async def probe_run(kube: Kube, directory: Path) -> dict[str, float]:
    ns = await asyncio.to_thread(open_namespace, kube, directory, APPS)
    settings = load_settings(
        kubeconfig=ns.responder_kubeconfig,
        kube_namespace=ns.name,
        kube_service_url_template=kube.proxy.url_template,
        data_dir=directory,
        responder_probe_interval_seconds=0.5,
        responder_probe_timeout_seconds=1.0,
        responder_failures_to_confirm=3,
        responder_ready_timeout_seconds=30,
        responder_synthetic_call=False,
    )
    platform = KubernetesPlatform(settings)
    store = IncidentStore(directory / f"responder-{ns.name}")
    responder = Responder(platform, store, settings)
    stop = asyncio.Event()
    await responder.tick()
    task = asyncio.create_task(responder.run_forever(stop))
    try:
        injected = time.time()
        kube.simulator.break_pods(ns.name, VICTIM, Behaviour.CRASH_LOOP)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            found = store.recent(limit=1)
            if found and found[0].status == IncidentStatus.RESOLVED:
                incident = found[0]
                assert incident.resolved_at is not None
                return {
                    "mttd": incident.detected_at.timestamp() - injected,
                    "mttr": incident.resolved_at.timestamp() - injected,
                }
            await asyncio.sleep(0.2)
        raise TimeoutError("incident not resolved within 120 s")
    finally:
        stop.set()
        await task
        await responder.close()
        await platform.close()
        close_namespace(ns)


def summary(name: str, values: list[float]) -> str:
    shown = ", ".join(f"{v:.1f}" for v in values)
    median = statistics.median(values)
    return f"  {name:<28} median {median:6.1f} s   min {min(values):5.1f}   max {max(values):5.1f}   [{shown}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--alert-runs", type=int, default=3)
    parser.add_argument("--probe-runs", type=int, default=5)
    args = parser.parse_args()
    configure_logging(level="WARNING", json=True)  # the responder's incident log would drown the figures
    started = time.monotonic()
    cluster, simulator, proxy = shared_cluster()
    kube = Kube(cluster, simulator, proxy)
    print(f"harness up in {time.monotonic() - started:.1f} s (etcd, kube-apiserver 1.20, controller-manager)")
    scratch = Path(tempfile.mkdtemp(prefix="an-kube-bench-"))

    probe = [asyncio.run(probe_run(kube, scratch / f"probe-{i}")) for i in range(args.probe_runs)]
    print(f"\nresponder probes, crash-looping {VICTIM} ({args.probe_runs} runs; fault -> ...):")
    print(summary("MTTD (detected)", [r["mttd"] for r in probe]))
    print(summary("MTTR (verified recovery)", [r["mttr"] for r in probe]))

    alert = [alert_run(kube, scratch / f"alert-{i}") for i in range(args.alert_runs)]
    print(f"\nalert path, crash-looping {VICTIM} ({args.alert_runs} runs; from the first failed scrape ...):")
    print(summary("first failed scrape lag", [r["scrape_lag"] for r in alert]))
    print(summary("MTTD (webhook at responder)", [r["mttd"] for r in alert]))
    print(summary("MTTR (verified recovery)", [r["mttr"] for r in alert]))
    print(summary("resolved notification", [r["resolved_notification"] for r in alert]))
    worst = max(r["mttr"] for r in alert)
    print(
        f"\ngoal: MTTR < 60 s with the runbook's 30 s `for` included -> worst {worst:.1f} s: "
        + ("met" if worst < 60 else "NOT met")
    )


if __name__ == "__main__":
    main()
