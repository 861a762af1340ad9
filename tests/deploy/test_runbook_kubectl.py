"""Every kubectl command of the ServiceDown runbook, placeholders filled for each core service, against our
manifests applied with ``kubectl apply -k`` to a real API server (tests/harness/kube.py).

The commands are transcribed from ../shared/runbook/service-down.md in its order. Two need parts a cluster adds
and the harness has not: ``kubectl top`` (metrics-server) and ``kubectl exec`` (a container runtime behind the
kubelet); for those the test asserts that kubectl found every object it names and failed only at that last step.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Callable

import pytest

from answer_ninja.catalogue import CORE_SERVICES
from tests.harness.kube import REPO, SIM_NODE
from tests.harness.kube_fixtures import Kube, wait_rollouts

pytestmark = pytest.mark.integration
NS = "ai-ninja"
Kubectl = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="module")
def kubectl(kube: Kube) -> Kubectl:
    """kubectl against the harness with ``kubectl apply -k`` of our manifests done (API 1.20 overlay)."""
    applied = kube.cluster.kubectl("apply", "-k", str(REPO / "deploy" / "k8s" / "overlays" / "api-1.20"))
    assert "deployment.apps/phone-gateway created" in applied.stdout or "unchanged" in applied.stdout
    wait_rollouts(kube, NS, timeout=120)

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return kube.cluster.kubectl(*args, check=check, timeout=150)

    return run


def found_objects_but_no_runtime(result: subprocess.CompletedProcess[str]) -> bool:
    """kubectl resolved deployment/<svc> to a pod and reached the kubelet, which has no container to exec in."""
    return result.returncode != 0 and "NotFound" not in result.stderr and 'deployments.apps "' not in result.stderr


def test_step1_confirm_the_alert(kubectl: Kubectl) -> None:
    lines = kubectl("get", "pods", "-n", NS).stdout.splitlines()
    for service in CORE_SERVICES:
        rows = [line for line in lines if line.startswith(service + "-") and "-backup-" not in line]
        assert rows, service
        assert all("Running" in row and "1/1" in row for row in rows), rows


@pytest.mark.parametrize("service", CORE_SERVICES)
def test_step2_quick_health_check(kubectl: Kubectl, service: str) -> None:
    pods = kubectl("get", "pods", "-n", NS, "-l", f"app={service}", "--no-headers").stdout
    assert pods.strip()
    assert "Running" in pods
    events = kubectl(
        "get", "events", "-n", NS, "--field-selector", f"involvedObject.name={service}", "--sort-by=.firstTimestamp"
    ).stdout
    assert "ScalingReplicaSet" in events
    port = kubectl("get", "service", service, "-n", NS, "-o", "jsonpath={.spec.ports[0].targetPort}").stdout
    assert port == str(
        {"phone-gateway": 3001, "realtime-processor": 3002, "conversation-engine": 3003, "profile-analytics": 3004}[
            service
        ]
    )
    execd = kubectl(
        "exec", "-n", NS, f"deployment/{service}", "--", "curl", "-f", f"http://localhost:{port}/health", check=False
    )
    assert found_objects_but_no_runtime(execd), execd.stderr


@pytest.mark.parametrize("service", CORE_SERVICES)
def test_step3_failure_modes(kubectl: Kubectl, service: str) -> None:
    described = kubectl("describe", "pod", "-n", NS, "-l", f"app={service}").stdout
    assert f"app={service}" in described
    assert re.search(rf"^Node:\s+{SIM_NODE}/127.0.0.1$", described, re.MULTILINE)
    logs = kubectl("logs", "-n", NS, f"deployment/{service}", "--tail=50").stdout
    assert f'"service": "{service}"' in logs


def test_step3_mode_b_and_c_cluster_checks(kubectl: Kubectl) -> None:
    nodes = kubectl("get", "nodes").stdout
    assert SIM_NODE in nodes
    assert " Ready " in nodes
    top = kubectl("top", "nodes", check=False)
    assert top.returncode != 0
    assert "Metrics API not available" in top.stderr  # needs metrics-server, as on a cluster without it
    events = kubectl("get", "events", "-n", NS, "--sort-by=.firstTimestamp").stdout
    assert len(events.splitlines()) > 10
    assert kubectl("get", "pv,pvc", "-n", NS).returncode == 0
    config = kubectl("get", "configmap,secret", "-n", NS).stdout
    assert "configmap/app-config" in config
    assert "secret/app-secrets" in config
    for check in (["pg_isready", "-h", "db"], ["redis-cli", "-h", "redis", "ping"]):
        execd = kubectl("exec", "-n", NS, "deployment/user-management", "--", *check, check=False)
        assert found_objects_but_no_runtime(execd), execd.stderr


@pytest.mark.parametrize("service", CORE_SERVICES)
def test_fix1_restart_and_wait(kubectl: Kubectl, service: str) -> None:
    before = set(kubectl("get", "pods", "-n", NS, "-l", f"app={service}", "-o", "name").stdout.split())
    assert "restarted" in kubectl("rollout", "restart", f"deployment/{service}", "-n", NS).stdout
    status = kubectl("rollout", "status", f"deployment/{service}", "-n", NS, "--timeout=120s").stdout
    assert "successfully rolled out" in status
    assert (
        kubectl("wait", "--for=condition=available", "--timeout=120s", f"deployment/{service}", "-n", NS).returncode
        == 0
    )
    after = kubectl("get", "pods", "-n", NS, "-l", f"app={service}", "-o", "json").stdout
    pods = [p for p in json.loads(after)["items"] if not p["metadata"].get("deletionTimestamp")]
    assert not before & {f"pod/{p['metadata']['name']}" for p in pods}


def test_fix2_config_check_and_restore_from_backup(kubectl: Kubectl) -> None:
    assert "DEGRADED_MODE" in kubectl("get", "configmap", "app-config", "-n", NS, "-o", "yaml").stdout
    assert "app-secrets" in kubectl("get", "secret", "app-secrets", "-n", NS, "-o", "yaml").stdout
    kubectl("patch", "configmap", "app-config", "-n", NS, "--patch", '{"data":{"LOG_LEVEL":"broken"}}')
    # The runbook's "restore from backup": our base file is that backup.
    kubectl("apply", "-n", NS, "-f", str(REPO / "deploy" / "k8s" / "base" / "app-config.yaml"))
    level = kubectl("get", "configmap", "app-config", "-n", NS, "-o", "jsonpath={.data.LOG_LEVEL}").stdout
    assert level == "INFO"
    for service in CORE_SERVICES:
        execd = kubectl("exec", "-n", NS, f"deployment/{service}", "--", "env", check=False)
        assert found_objects_but_no_runtime(execd), execd.stderr


@pytest.mark.parametrize("service", CORE_SERVICES)
def test_fix3_scale_and_limits(kubectl: Kubectl, service: str) -> None:
    assert "scaled" in kubectl("scale", "deployment", service, "--replicas=5", "-n", NS).stdout
    kubectl("rollout", "status", f"deployment/{service}", "-n", NS, "--timeout=120s")
    ready = kubectl("get", "deployment", service, "-n", NS, "-o", "jsonpath={.status.readyReplicas}").stdout
    assert ready == "5"
    patch = json.dumps(
        {
            "spec": {
                "template": {
                    "spec": {
                        "containers": [{"name": service, "resources": {"limits": {"memory": "2Gi", "cpu": "1000m"}}}]
                    }
                }
            }
        }
    )
    kubectl("patch", "deployment", service, "-n", NS, "-p", patch)
    kubectl("rollout", "status", f"deployment/{service}", "-n", NS, "--timeout=120s")
    limits = kubectl(
        "get",
        "deployment",
        service,
        "-n",
        NS,
        "-o",
        "jsonpath={.spec.template.spec.containers[0].resources.limits.memory}",
    ).stdout
    assert limits == "2Gi"
    kubectl("scale", "deployment", service, "--replicas=2", "-n", NS)


@pytest.mark.parametrize("service", CORE_SERVICES)
def test_fix4_history_and_undo(kubectl: Kubectl, service: str) -> None:
    history = kubectl("rollout", "history", f"deployment/{service}", "-n", NS).stdout
    revisions = [int(line.split()[0]) for line in history.splitlines() if line[:1].isdigit()]
    assert len(revisions) >= 2  # the restarts and limit patches above made revisions
    detail = kubectl("rollout", "history", f"deployment/{service}", f"--revision={revisions[0]}", "-n", NS).stdout
    assert f"app={service}" in detail
    assert "rolled back" in kubectl("rollout", "undo", f"deployment/{service}", "-n", NS).stdout
    kubectl("rollout", "status", f"deployment/{service}", "-n", NS, "--timeout=120s")
    undo = kubectl("rollout", "undo", f"deployment/{service}", f"--to-revision={revisions[0]}", "-n", NS)
    assert "rolled back" in undo.stdout
    assert "successfully rolled out" in kubectl("rollout", "status", f"deployment/{service}", "-n", NS).stdout


def test_fix5_degraded_mode_and_traffic_switch(kubectl: Kubectl) -> None:
    kubectl("patch", "configmap", "app-config", "-n", NS, "--patch", '{"data":{"DEGRADED_MODE":"true"}}')
    restarted = kubectl("rollout", "restart", "deployment/phone-gateway", "deployment/realtime-processor", "-n", NS)
    assert restarted.stdout.count("restarted") == 2
    kubectl(
        "patch", "service", "phone-gateway", "-n", NS, "--patch", '{"spec":{"selector":{"app":"phone-gateway-backup"}}}'
    )
    backup_ips = set(
        kubectl(
            "get", "pods", "-n", NS, "-l", "app=phone-gateway-backup", "-o", "jsonpath={.items[*].status.podIP}"
        ).stdout.split()
    )

    def endpoint_ips() -> set[str]:
        out = kubectl("get", "endpoints", "phone-gateway", "-n", NS, "-o", "json").stdout
        return {a["ip"] for s in json.loads(out).get("subsets") or [] for a in s.get("addresses") or []}

    deadline = time.monotonic() + 30
    while endpoint_ips() != backup_ips and time.monotonic() < deadline:
        time.sleep(0.3)
    assert endpoint_ips() == backup_ips
    # Put things back for the verification step.
    kubectl("patch", "service", "phone-gateway", "-n", NS, "--patch", '{"spec":{"selector":{"app":"phone-gateway"}}}')
    kubectl("patch", "configmap", "app-config", "-n", NS, "--patch", '{"data":{"DEGRADED_MODE":"false"}}')


@pytest.mark.parametrize("service", CORE_SERVICES)
def test_verify_service_addresses(kubectl: Kubectl, service: str) -> None:
    lb = kubectl(
        "get", "service", service, "-n", NS, "-o", "jsonpath={.status.loadBalancer.ingress[0].ip}", check=False
    )
    assert lb.stdout == ""  # ClusterIP services: the script falls back to the cluster IP
    cluster_ip = kubectl("get", "service", service, "-n", NS, "-o", "jsonpath={.spec.clusterIP}").stdout
    assert cluster_ip.startswith("10.96.0.")
    port = kubectl("get", "service", service, "-n", NS, "-o", "jsonpath={.spec.ports[0].port}").stdout
    assert port.isdigit()
