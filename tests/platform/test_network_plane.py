"""The NetworkPolicies: current with the table, shaped as the API server wants them, and allowing every
service-to-service call the code makes and nothing else."""

from __future__ import annotations

import importlib
import json
import uuid
from pathlib import Path

import pytest
import yaml

from answer_ninja.catalogue import SERVICES, entry_for
from answer_ninja.platform import network_plane
from answer_ninja.platform.app_factory import ServiceSpec
from answer_ninja.platform.auth.rules import access_map
from answer_ninja.platform.server import build_app
from answer_ninja.platform.settings import load_settings
from tests.harness.credentials import SECRETS
from tests.harness.kube_fixtures import Kube, kube  # noqa: F401 (the fixture)

REPO = Path(__file__).resolve().parents[2]
POLICIES = REPO / "deploy" / "k8s" / "base" / "network-policies.yaml"


def _allowed_pairs() -> set[tuple[str, str]]:
    """(caller, service) for every in-namespace source the written policies admit."""
    pairs = set()
    for doc in yaml.safe_load_all(POLICIES.read_text()):
        target = doc["spec"]["podSelector"].get("matchLabels", {}).get("app")
        for rule in doc["spec"].get("ingress", []):
            for source in rule["from"]:
                if "namespaceSelector" not in source:
                    pairs.add((source["podSelector"]["matchLabels"]["app"], target))
    return pairs


def load_spec(service: str) -> ServiceSpec:
    spec: ServiceSpec = importlib.import_module(entry_for(service).module).SPEC
    return spec


def _code_pairs() -> set[tuple[str, str]]:
    """(caller, service) the code makes: each route's service rule names its callers; each /ready probes its calls;
    the console (status page, metrics) and the responder (health checks, remediation) reach every service."""
    settings = load_settings(**SECRETS)
    pairs: set[tuple[str, str]] = set()
    for service in SERVICES:
        app = build_app(service, settings)
        for door in access_map(app):
            for rule in door.rules:
                if rule.kind == "service":  # "a, b" or "a, b; or user (own rows only); or operator"
                    named = rule.detail.split("; or ")[0].split(", ")
                    pairs.update((caller, service) for caller in named if caller in SERVICES)
        pairs.update((service, called) for called in load_spec(service).calls)
        for reaching_all in ("console", "responder"):
            if service != reaching_all:
                pairs.add((reaching_all, service))
    return pairs


def test_the_written_policies_are_current() -> None:
    assert POLICIES.read_text() == network_plane.render(), (
        "run: answer-ninja kube network-policies --write deploy/k8s/base/network-policies.yaml"
    )
    kustomization = yaml.safe_load((POLICIES.parent / "kustomization.yaml").read_text())
    assert "network-policies.yaml" in kustomization["resources"]


def test_every_service_to_service_call_in_the_code_is_allowed_and_nothing_else() -> None:
    allowed = {
        pair for pair in _allowed_pairs() if pair[1] in SERVICES and pair[0] in SERVICES
    }  # the backup alias and the datastores are checked below
    code = _code_pairs()
    assert code - allowed == set(), "calls the policies would block"
    assert allowed - code == set(), "allowed callers no code needs"


def test_the_failover_copy_and_the_datastores_admit_what_the_originals_do() -> None:
    allowed = _allowed_pairs()
    gateway_callers = {caller for caller, target in allowed if target == "phone-gateway"}
    assert {caller for caller, target in allowed if target == "phone-gateway-backup"} == gateway_callers
    for called in network_plane.CALLS["phone-gateway"]:
        assert ("phone-gateway-backup", called) in allowed
    for service in SERVICES:
        spec = load_spec(service)
        assert ((service, "postgres") in allowed) == spec.uses_database, service
        assert ((service, "redis") in allowed) == spec.uses_cache, service


def test_default_deny_then_one_port_per_service_with_outside_callers_by_namespace() -> None:
    docs = list(yaml.safe_load_all(POLICIES.read_text()))
    deny = docs[0]
    assert deny["metadata"]["name"] == "default-deny-ingress"
    assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress"]}  # every pod, no ingress rule: deny all
    by_app = {doc["spec"]["podSelector"]["matchLabels"]["app"]: doc for doc in docs[1:]}
    for service, entry in SERVICES.items():
        (rule,) = by_app[service]["spec"]["ingress"]
        assert rule["ports"] == [{"protocol": "TCP", "port": entry.port}]
        outside = [source for source in rule["from"] if "namespaceSelector" in source]
        # Prometheus scrapes every service; nothing from outside the namespace is admitted without a pod selector.
        assert all("podSelector" in source for source in outside)
        names = {source["podSelector"]["matchLabels"]["app.kubernetes.io/name"] for source in outside}
        assert "prometheus" in names
        assert ("ingress-nginx" in names) == (service in ("phone-gateway", "realtime-processor", "user-management",
                                                          "console"))  # fmt: skip
        assert ("alertmanager" in names) == (service == "responder")


def test_every_policy_is_a_valid_networking_v1_object() -> None:
    """Read through the Kubernetes API's own models (lightkube): a misspelt or misplaced field would be dropped, so
    the round trip would differ."""
    from lightkube.resources.networking_v1 import NetworkPolicy

    for doc in yaml.safe_load_all(POLICIES.read_text()):
        assert NetworkPolicy.from_dict(doc).to_dict() == doc, doc["metadata"]["name"]


@pytest.mark.integration
def test_the_api_server_accepts_them_and_reads_them_back(kube: Kube) -> None:  # noqa: F811 (the fixture)
    """Created in a scratch namespace on the harness's real API server and read back unchanged (the API server
    stores NetworkPolicies; enforcing them is the CNI's job, which the harness has not)."""
    namespace = "np-" + uuid.uuid4().hex[:8]
    cluster = kube.cluster
    cluster.kubectl("create", "namespace", namespace)
    try:
        path = POLICIES.parent / "network-policies.yaml"
        cluster.kubectl("apply", "--dry-run=server", "-n", namespace, "-f", str(path))
        cluster.kubectl("apply", "-n", namespace, "-f", str(path))
        stored = json.loads(cluster.kubectl("get", "networkpolicies", "-n", namespace, "-o", "json").stdout)
        by_name = {item["metadata"]["name"]: item["spec"] for item in stored["items"]}
        written = {doc["metadata"]["name"]: doc["spec"] for doc in yaml.safe_load_all(path.read_text())}
        assert set(by_name) == set(written)
        for name, spec in written.items():
            assert by_name[name]["podSelector"] == spec["podSelector"], name
            assert by_name[name].get("ingress", []) == spec.get("ingress", []), name
    finally:
        cluster.kubectl("delete", "namespace", namespace, "--wait=false", check=False)
