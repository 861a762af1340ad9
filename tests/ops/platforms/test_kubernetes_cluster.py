"""KubernetesPlatform against a real kube-apiserver + controller-manager (tests/harness/kube.py).

Every test gets a fresh namespace with our manifests applied, and drives it with the responder ServiceAccount's own
token: so each method is also proof that deploy/k8s/base/rbac.yaml grants enough, and no more than it needs.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

import httpx
import pytest
from lightkube.core.exceptions import ApiError
from lightkube.resources.core_v1 import Secret

from answer_ninja.ops.platforms.base import InstanceState, ResourceLimits
from answer_ninja.ops.platforms.kubernetes import KubernetesPlatform, KubernetesPlatformError
from answer_ninja.platform.settings import load_settings
from tests.harness.kube import Behaviour
from tests.harness.kube_fixtures import KubeNamespace

pytestmark = pytest.mark.integration
T = TypeVar("T")


async def eventually(probe: Callable[[], Awaitable[T]], check: Callable[[T], bool], timeout: float = 30) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = await probe()
        if check(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s; last value: {value!r}")
        await asyncio.sleep(0.2)


@pytest.fixture
async def ns(kube_namespace: Callable[..., KubeNamespace]) -> KubeNamespace:
    return kube_namespace()


@pytest.fixture
async def platform(ns: KubeNamespace) -> AsyncIterator[KubernetesPlatform]:
    settings = load_settings(
        kubeconfig=ns.responder_kubeconfig, kube_namespace=ns.name, kube_rollout_timeout_seconds=60
    )
    platform = KubernetesPlatform(settings)
    yield platform
    await platform.close()


async def test_services_and_ready_instances(platform: KubernetesPlatform) -> None:
    assert await platform.services() == ["phone-gateway", "phone-gateway-backup"]
    instances = await platform.instances("phone-gateway")
    assert len(instances) == 2
    for instance in instances:
        assert instance.state is InstanceState.RUNNING
        assert instance.ready
        assert instance.restarts == 0
        assert instance.revision == 1
        assert instance.address is not None
        assert instance.address.startswith("http://10.244.")
        assert instance.address.endswith(":3001")
    assert await platform.instances("no-such-service") == []
    assert await platform.service_url("phone-gateway") == f"http://phone-gateway.{platform.namespace}.svc:3001"


async def test_crash_loop_shows_in_instances_events_and_logs(ns: KubeNamespace, platform: KubernetesPlatform) -> None:
    ns.kube.simulator.set_app("phone-gateway", Behaviour.CRASH_LOOP, namespace=ns.name)
    instances = await eventually(
        lambda: platform.instances("phone-gateway"),
        lambda found: bool(found) and all(i.state is InstanceState.CRASH_LOOP and i.restarts >= 1 for i in found),
    )
    assert all(not i.ready and i.last_exit_code == 1 and i.last_exit_reason == "Error" for i in instances)
    assert all(i.consecutive_crashes == i.restarts for i in instances)
    events = await platform.events("phone-gateway")
    assert any(e.type == "Warning" and e.reason == "BackOff" for e in events)
    # The controller-manager's own events about the Deployment are there too (runbook: involvedObject.name=<svc>).
    assert any(e.reason == "ScalingReplicaSet" for e in events)
    assert all(e.service == "phone-gateway" for e in events)
    lines = await platform.logs("phone-gateway", tail=2)
    assert len(lines) == 2
    assert "fatal" in lines[-1]


async def test_restart_rolls_out_new_pods_and_records_config(ns: KubeNamespace, platform: KubernetesPlatform) -> None:
    before = {i.name for i in await platform.instances("phone-gateway")}
    config = await platform.read_config()
    await platform.restart("phone-gateway")
    assert await platform.wait_ready("phone-gateway", timeout=60)
    after = await eventually(lambda: platform.instances("phone-gateway"), lambda found: len(found) == 2)
    assert not before & {i.name for i in after}
    assert all(i.revision == 2 and i.ready and i.config_version == config.version for i in after)
    assert [r.number for r in await platform.revisions("phone-gateway")] == [1, 2]


async def test_wait_ready_times_out_while_new_pods_are_not_ready(
    ns: KubeNamespace, platform: KubernetesPlatform
) -> None:
    ns.kube.simulator.set_app("phone-gateway", Behaviour.NOT_READY, namespace=ns.name)
    await platform.restart("phone-gateway")
    started = time.monotonic()
    assert not await platform.wait_ready("phone-gateway", timeout=3)
    assert 2.5 < time.monotonic() - started < 10
    ns.kube.simulator.set_app("phone-gateway", Behaviour.READY, namespace=ns.name)
    assert await platform.wait_ready("phone-gateway", timeout=60)


async def test_scale(platform: KubernetesPlatform) -> None:
    await platform.scale("phone-gateway", 3)
    assert await platform.replicas("phone-gateway") == 3
    assert await platform.wait_ready("phone-gateway", timeout=60)
    assert len(await platform.instances("phone-gateway")) == 3
    with pytest.raises(KubernetesPlatformError):
        await platform.scale("phone-gateway", -1)
    with pytest.raises(KubernetesPlatformError, match="no-such-service"):
        await platform.scale("no-such-service", 1)


async def test_resource_limits_patch_makes_a_new_revision(platform: KubernetesPlatform) -> None:
    assert await platform.resource_limits("phone-gateway") == ResourceLimits(memory="1Gi", cpu="1")
    await platform.set_resource_limits("phone-gateway", ResourceLimits(memory="2Gi", cpu="1000m"))
    limits = await platform.resource_limits("phone-gateway")
    assert limits.memory == "2Gi"
    assert limits.cpu in ("1", "1000m")  # the API server may normalise the quantity
    assert await platform.wait_ready("phone-gateway", timeout=60)
    assert [r.number for r in await platform.revisions("phone-gateway")] == [1, 2]


async def test_config_patch_and_restore_snapshot(platform: KubernetesPlatform) -> None:
    snapshot = await platform.read_config()
    assert snapshot.data["DEGRADED_MODE"] == "false"
    patched = await platform.patch_config({"DEGRADED_MODE": "true", "EXTRA_FLAG": "1", "LOG_LEVEL": None})
    assert patched.data["DEGRADED_MODE"] == "true"
    assert patched.data["EXTRA_FLAG"] == "1"
    assert "LOG_LEVEL" not in patched.data
    assert patched.version != snapshot.version
    await platform.restore_config(snapshot)
    assert (await platform.read_config()).data == snapshot.data


async def test_rollback_like_kubectl(ns: KubeNamespace, platform: KubernetesPlatform) -> None:
    kubectl = ns.kube.cluster.kubectl
    good = "ai-answer-ninja:latest"
    for image, cause in (("ai-answer-ninja:v2", "release v2"), ("ai-answer-ninja:v3-bad", "release v3")):
        kubectl("-n", ns.name, "set", "image", "deployment/phone-gateway", f"phone-gateway={image}")
        kubectl(
            "-n", ns.name, "annotate", "deployment/phone-gateway", f"kubernetes.io/change-cause={cause}", "--overwrite"
        )
        kubectl("-n", ns.name, "rollout", "status", "deployment/phone-gateway", "--timeout=60s", timeout=70)
    revisions = await platform.revisions("phone-gateway")
    assert [(r.number, r.current) for r in revisions] == [(1, False), (2, False), (3, True)]
    assert revisions[1].change_cause == "release v2"

    await platform.rollback("phone-gateway")  # = kubectl rollout undo: back to revision 2, which becomes 4
    assert await platform.wait_ready("phone-gateway", timeout=60)
    image = kubectl(
        "-n", ns.name, "get", "deployment/phone-gateway", "-o", "jsonpath={.spec.template.spec.containers[0].image}"
    )
    assert image.stdout == "ai-answer-ninja:v2"
    assert [(r.number, r.current) for r in await platform.revisions("phone-gateway")] == [
        (1, False),
        (3, False),
        (4, True),
    ]
    history = kubectl("-n", ns.name, "rollout", "history", "deployment/phone-gateway").stdout
    assert "release v2" in history  # kubectl reads the history we wrote back, as after its own undo

    await platform.rollback("phone-gateway", to_revision=1)
    assert await platform.wait_ready("phone-gateway", timeout=60)
    image = kubectl(
        "-n", ns.name, "get", "deployment/phone-gateway", "-o", "jsonpath={.spec.template.spec.containers[0].image}"
    )
    assert image.stdout == good
    with pytest.raises(KubernetesPlatformError, match="revision 42"):
        await platform.rollback("phone-gateway", to_revision=42)


async def test_rollback_without_history_fails_clearly(platform: KubernetesPlatform) -> None:
    with pytest.raises(KubernetesPlatformError, match="no rollout history"):
        await platform.rollback("phone-gateway")


async def test_switch_traffic_to_backup_and_back(ns: KubeNamespace, platform: KubernetesPlatform) -> None:
    kubectl = ns.kube.cluster.kubectl

    def endpoint_ips() -> set[str]:
        out = kubectl("-n", ns.name, "get", "endpoints", "phone-gateway", "-o", "json").stdout
        return {a["ip"] for s in json.loads(out).get("subsets") or [] for a in s.get("addresses") or []}

    async def ips_of(service: str) -> set[str]:
        return {(i.address or "").split("//")[1].split(":")[0] for i in await platform.instances(service)}

    assert await platform.traffic_target("phone-gateway") == "phone-gateway"
    await platform.switch_traffic("phone-gateway", to="phone-gateway-backup")
    assert await platform.traffic_target("phone-gateway") == "phone-gateway-backup"
    backup_ips = await ips_of("phone-gateway-backup")
    # The real endpoints controller now routes the phone-gateway Service to the backup's pods.
    await eventually(lambda: asyncio.to_thread(endpoint_ips), lambda ips: ips == backup_ips)
    await platform.switch_traffic("phone-gateway", to="phone-gateway")
    primary_ips = await ips_of("phone-gateway")
    await eventually(lambda: asyncio.to_thread(endpoint_ips), lambda ips: ips == primary_ips)


async def test_switch_traffic_starts_a_scaled_down_backup(platform: KubernetesPlatform) -> None:
    await platform.scale("phone-gateway-backup", 0)
    await platform.switch_traffic("phone-gateway", to="phone-gateway-backup")
    assert await platform.replicas("phone-gateway-backup") == 1
    assert [i.ready for i in await platform.instances("phone-gateway-backup")] == [True]


async def test_node_status_follows_kubelet_conditions(ns: KubeNamespace, platform: KubernetesPlatform) -> None:
    nodes = await platform.node_status()
    assert [(n.name, n.ready, n.memory_pressure) for n in nodes] == [("sim-node-1", True, False)]
    ns.kube.simulator.set_node_condition("MemoryPressure", True)
    try:
        assert (await platform.node_status())[0].memory_pressure
    finally:
        ns.kube.simulator.set_node_condition("MemoryPressure", False)


async def test_responder_account_cannot_read_secrets(platform: KubernetesPlatform) -> None:
    with pytest.raises(ApiError) as raised:
        await platform.client.get(Secret, "app-secrets", namespace=platform.namespace)
    assert raised.value.status.code == 403


async def test_service_url_template_routes_to_ready_pods(ns: KubeNamespace) -> None:
    settings = load_settings(
        kubeconfig=ns.responder_kubeconfig, kube_namespace=ns.name, kube_service_url_template=ns.kube.proxy.url_template
    )
    platform = KubernetesPlatform(settings)
    try:
        url = await platform.service_url("phone-gateway")
        assert url.startswith("http://127.0.0.1:")
        async with httpx.AsyncClient(timeout=5) as http:
            assert (await http.get(url + "/ready")).status_code == 200
            ns.kube.simulator.set_app("phone-gateway", Behaviour.CRASH_LOOP, namespace=ns.name)
            # No ready endpoint left behind the Service: the probe fails as it would through kube-proxy.
            await eventually(lambda: http.get(url + "/health"), lambda r: r.status_code == 503)
            await platform.switch_traffic("phone-gateway", to="phone-gateway-backup")
            await eventually(lambda: http.get(url + "/health"), lambda r: r.status_code == 200)
    finally:
        await platform.close()
