"""pytest fixtures over tests/harness/kube.py: the shared control plane, and a fresh namespace per test.

Import the fixtures you use into a test module (``from tests.harness.kube_fixtures import kube, kube_namespace``).
"""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from lightkube.resources.core_v1 import Secret

from tests.harness.kube import (
    KubeCluster,
    PodSimulator,
    ServiceProxy,
    apply,
    kube_binaries_available,
    kubeconfig_for,
    manifests_for_namespace,
    rendered_manifests,
    shared_cluster,
)


@dataclass
class Kube:
    cluster: KubeCluster
    simulator: PodSimulator
    proxy: ServiceProxy


@pytest.fixture(scope="session")
def kube() -> Kube:
    if not kube_binaries_available():
        pytest.fail("kube-apiserver is not built: run scripts/install.d/50-kubernetes.sh (make extras)")
    return Kube(*shared_cluster())


@dataclass
class KubeNamespace:
    kube: Kube
    name: str
    responder_kubeconfig: Path  # the responder ServiceAccount's token: only what deploy/k8s/base/rbac.yaml grants


def wait_rollouts(kube: Kube, namespace: str, timeout: float = 60) -> None:
    kube.cluster.kubectl(
        "wait",
        "--for=condition=available",
        "deployment",
        "--all",
        "-n",
        namespace,
        f"--timeout={int(timeout)}s",
        timeout=timeout + 10,
    )


def _service_account_token(kube: Kube, namespace: str, account: str, timeout: float = 30) -> str:
    """The token the token controller minted for the ServiceAccount (Kubernetes 1.20 makes one Secret per SA)."""
    client = kube.cluster.client()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for secret in client.list(Secret, namespace=namespace):
            annotations = (secret.metadata.annotations if secret.metadata else None) or {}
            if secret.type == "kubernetes.io/service-account-token" and (
                annotations.get("kubernetes.io/service-account.name") == account
            ):
                data = secret.data or {}
                if "token" in data:
                    return base64.b64decode(data["token"]).decode()
        time.sleep(0.2)
    raise TimeoutError(f"no token for ServiceAccount {namespace}/{account}")


DEFAULT_APPS = frozenset({"phone-gateway", "phone-gateway-backup"})


def open_namespace(kube: Kube, directory: Path, apps: Iterable[str] = DEFAULT_APPS) -> KubeNamespace:
    """Our manifests (only ``apps``' workloads) applied to a fresh namespace, every Deployment available."""
    name = "t-" + uuid.uuid4().hex[:8]
    docs = manifests_for_namespace(name, apps=set(apps))
    # The nodes ClusterRole is cluster-scoped; bind it to this namespace's responder as the base binds it in ai-ninja.
    docs += [doc for doc in rendered_manifests() if doc["kind"] == "ClusterRole"]
    docs.append(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": f"ai-ninja-responder-nodes-{name}"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "ai-ninja-responder-nodes",
            },
            "subjects": [{"kind": "ServiceAccount", "name": "responder", "namespace": name}],
        }
    )
    apply(kube.cluster, docs)
    wait_rollouts(kube, name)
    token = _service_account_token(kube, name, "responder")
    directory.mkdir(parents=True, exist_ok=True)
    kubeconfig = directory / f"responder-{name}.kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(kubeconfig_for(kube.cluster.server, token, "responder", name)))
    return KubeNamespace(kube, name, kubeconfig)


def close_namespace(namespace: KubeNamespace) -> None:
    namespace.kube.simulator.reset()
    namespace.kube.cluster.kubectl("delete", "namespace", namespace.name, "--wait=false", check=False)
    namespace.kube.cluster.kubectl(
        "delete", "clusterrolebinding", f"ai-ninja-responder-nodes-{namespace.name}", check=False
    )


@pytest.fixture
def kube_namespace(kube: Kube, tmp_path: Path) -> Iterator[Callable[..., KubeNamespace]]:
    """A factory: ``kube_namespace()`` or ``kube_namespace({"conversation-engine"})``; deleted after the test."""
    opened: list[KubeNamespace] = []

    def factory(apps: Iterable[str] = DEFAULT_APPS) -> KubeNamespace:
        opened.append(open_namespace(kube, tmp_path, apps))
        return opened[-1]

    yield factory
    for namespace in opened:
        close_namespace(namespace)
