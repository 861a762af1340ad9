"""The responder's drills on Kubernetes: the real Responder, driving KubernetesPlatform as its ServiceAccount,
against the harness (real API server and controllers, simulated pods reached through the Service's Endpoints).

Each drill injects one fault, lets the responder run, and asserts the objects' final state and the incident's
timeline: crash loop, not-ready pods, bad rollout (undo), degraded mode (dependency down), failover to the backup.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from answer_ninja.ops.models import Incident, IncidentStatus
from answer_ninja.ops.platforms.kubernetes import KubernetesPlatform
from answer_ninja.ops.responder import Responder
from answer_ninja.ops.store import IncidentStore
from answer_ninja.platform.settings import load_settings
from tests.harness.kube import Behaviour
from tests.harness.kube_fixtures import KubeNamespace
from tests.ops.drill_support import ProviderStandIn

pytestmark = pytest.mark.integration
APPS = ("phone-gateway", "phone-gateway-backup", "realtime-processor", "conversation-engine")
# Probe every 0.5 s and confirm after 3 failures (as the local drills); a rollout here takes a few seconds.
FAST = {
    "responder_probe_interval_seconds": 0.5,
    "responder_probe_timeout_seconds": 1.0,
    "responder_failures_to_confirm": 3,
    "responder_ready_timeout_seconds": 15.0,
    "responder_synthetic_call": False,
    "kube_rollout_timeout_seconds": 30.0,
}


@dataclass
class Drill:
    ns: KubeNamespace
    platform: KubernetesPlatform
    responder: Responder
    store: IncidentStore

    def kubectl(self, *args: str) -> str:
        return self.ns.kube.cluster.kubectl("-n", self.ns.name, *args, timeout=90).stdout

    async def incident(self, until: Callable[[Incident], bool], timeout: float = 90) -> Incident:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.store.recent(limit=1)
            if found and until(found[0]):
                return found[0]
            await asyncio.sleep(0.3)
        raise AssertionError(f"no incident reached the expected state in {timeout}s: {self.store.recent(limit=1)}")


def settled(incident: Incident) -> bool:
    return incident.status in (IncidentStatus.RESOLVED, IncidentStatus.ESCALATED)


def timeline(incident: Incident) -> list[str]:
    return [event.kind for event in incident.timeline]


async def run_drill(ns: KubeNamespace, tmp_path: Path, **overrides: object) -> AsyncIterator[Drill]:
    settings = load_settings(
        kubeconfig=ns.responder_kubeconfig,
        kube_namespace=ns.name,
        kube_service_url_template=ns.kube.proxy.url_template,
        data_dir=tmp_path,
        **{**FAST, **overrides},
    )
    platform = KubernetesPlatform(settings)
    store = IncidentStore(tmp_path / "responder")
    responder = Responder(platform, store, settings)
    stop = asyncio.Event()
    # A first healthy round records the known-good app-config, as a running responder would have.
    await responder.tick()
    task = asyncio.create_task(responder.run_forever(stop))
    try:
        yield Drill(ns, platform, responder, store)
    finally:
        stop.set()
        await task
        await responder.close()
        await platform.close()


@pytest.fixture
async def drill(kube_namespace: Callable[..., KubeNamespace], tmp_path: Path) -> AsyncIterator[Drill]:
    async for running in run_drill(kube_namespace(APPS), tmp_path):
        yield running


async def test_crash_loop_drill_restarts_and_resolves(drill: Drill) -> None:
    before = set(drill.kubectl("get", "pods", "-l", "app=phone-gateway", "-o", "name").split())
    drill.ns.kube.simulator.break_pods(drill.ns.name, "phone-gateway", Behaviour.CRASH_LOOP)
    incident = await drill.incident(settled)
    assert incident.status == IncidentStatus.RESOLVED, timeline(incident)
    assert incident.mode is not None
    assert incident.mode.value == "A"
    assert incident.services == ["phone-gateway"]
    assert [a.kind.value for a in incident.actions] == ["restart"]
    assert {"detected", "recovered", "verified", "resolved"} <= set(timeline(incident))
    after = set(drill.kubectl("get", "pods", "-l", "app=phone-gateway", "-o", "name").split())
    assert after
    assert not before & after  # a rollout restart replaced every pod
    assert "kubectl.kubernetes.io/restartedAt" in drill.kubectl("get", "deployment", "phone-gateway", "-o", "yaml")
    assert incident.mttr_seconds is not None
    assert incident.mttr_seconds < 60


async def test_not_ready_drill_restarts_the_pods(drill: Drill) -> None:
    drill.ns.kube.simulator.break_pods(drill.ns.name, "conversation-engine", Behaviour.NOT_READY)
    incident = await drill.incident(settled)
    assert incident.status == IncidentStatus.RESOLVED, timeline(incident)
    assert incident.services == ["conversation-engine"]
    assert incident.actions[0].kind.value == "restart"
    assert [r.number for r in await drill.platform.revisions("conversation-engine")] == [1, 2]
    assert all(i.ready for i in await drill.platform.instances("conversation-engine"))


async def test_bad_rollout_drill_undoes_the_release(drill: Drill) -> None:
    simulator = drill.ns.kube.simulator
    bad = "ai-answer-ninja:bad-release"
    drill.kubectl("set", "image", "deployment/phone-gateway", f"phone-gateway={bad}")
    drill.kubectl("rollout", "status", "deployment/phone-gateway", "--timeout=60s")
    simulator.set_image(bad, Behaviour.NOT_READY)  # passes its probes at first, then stops being ready under load
    incident = await drill.incident(settled)
    assert incident.status == IncidentStatus.RESOLVED, timeline(incident)
    kinds = [a.kind.value for a in incident.actions]
    assert "rollback" in kinds, kinds
    image = drill.kubectl("get", "deployment/phone-gateway", "-o", "jsonpath={.spec.template.spec.containers[0].image}")
    assert image == "ai-answer-ninja:latest"
    assert all(i.ready for i in await drill.platform.instances("phone-gateway"))


async def test_failover_drill_moves_traffic_to_the_backup(drill: Drill) -> None:
    # Every phone-gateway pod fails, new ones too, and there is no earlier revision: restart cannot help.
    drill.ns.kube.simulator.set_app("phone-gateway", Behaviour.CRASH_LOOP, namespace=drill.ns.name)
    incident = await drill.incident(lambda i: any(a.kind.value == "failover" for a in i.actions), timeout=120)
    selector = json.loads(drill.kubectl("get", "service", "phone-gateway", "-o", "jsonpath={.spec.selector}"))
    assert selector == {"app": "phone-gateway-backup"}
    failover = next(a for a in incident.actions if a.kind.value == "failover")
    assert failover.outcome.value == "succeeded", failover
    endpoints = drill.kubectl("get", "endpoints", "phone-gateway", "-o", "jsonpath={.subsets[0].addresses[*].ip}")
    backup_ips = drill.kubectl(
        "get", "pods", "-l", "app=phone-gateway-backup", "-o", "jsonpath={.items[*].status.podIP}"
    )
    assert set(endpoints.split()) == set(backup_ips.split())
    assert "restart" in [a.kind.value for a in incident.actions]


async def test_degraded_mode_drill_on_dependency_loss(
    kube_namespace: Callable[..., KubeNamespace], tmp_path: Path
) -> None:
    provider = ProviderStandIn()
    provider.start()
    ns = kube_namespace(APPS)
    try:
        async for drill in run_drill(
            ns, tmp_path, llm_base_url=provider.base_url, responder_escalate_after_seconds=300
        ):
            provider.stop()
            incident = await drill.incident(lambda i: any(a.kind.value == "degrade" for a in i.actions))
            assert incident.mode is not None
            assert incident.mode.value == "C"
            config = await drill.platform.read_config()
            assert config.data["DEGRADED_MODE"] == "true"
            for service in ("phone-gateway", "realtime-processor"):
                assert await drill.platform.wait_ready(service, timeout=30)
                pods = await drill.platform.instances(service)
                assert {i.config_version for i in pods} == {config.version}, service  # restarted with it
            # Only a person brings a dependency back: the responder degrades, then escalates.
            await drill.incident(lambda i: i.status == IncidentStatus.ESCALATED)
            provider.start()
            incident = await drill.incident(lambda i: i.status == IncidentStatus.RESOLVED)
            assert [a.kind.value for a in incident.actions] == ["degrade", "degrade"]  # in, and out again
            restored = await drill.platform.read_config()
            assert restored.data.get("DEGRADED_MODE") in (None, "false")
    finally:
        provider.stop()
