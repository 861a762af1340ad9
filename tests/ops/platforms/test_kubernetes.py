"""Unit tests of KubernetesPlatform's pure parts: how pods map to instance states, kubectl's rollout and undo rules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import Pod

from answer_ninja.ops.platforms.base import InstanceState
from answer_ninja.ops.platforms.kubernetes import (
    KubernetesPlatformError,
    _rollout_complete,
    _same_template,
    _state,
    _undo_target,
    load_kube_config,
)
from answer_ninja.platform.settings import load_settings


def pod(phase: str, *, waiting: str | None = None, deleting: bool = False, ready: bool = True) -> Pod:
    state: dict[str, Any] = {"waiting": {"reason": waiting}} if waiting else {"running": {}}
    return Pod.from_dict(
        {
            "metadata": {
                "name": "phone-gateway-abc",
                **({"deletionTimestamp": "2026-01-01T00:00:00Z"} if deleting else {}),
            },
            "spec": {"containers": [{"name": "phone-gateway", "image": "x"}]},
            "status": {
                "phase": phase,
                "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
                "containerStatuses": [
                    {
                        "name": "phone-gateway",
                        "ready": ready,
                        "restartCount": 0,
                        "image": "x",
                        "imageID": "",
                        "state": state,
                    }
                ],
            },
        }
    )


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (pod("Running"), InstanceState.RUNNING),
        (pod("Running", waiting="CrashLoopBackOff"), InstanceState.CRASH_LOOP),
        (pod("Running", waiting="Error"), InstanceState.FAILED),
        (pod("Pending", waiting="ImagePullBackOff"), InstanceState.PENDING),
        (pod("Pending"), InstanceState.PENDING),
        (pod("Running", deleting=True), InstanceState.TERMINATING),
        (pod("Succeeded"), InstanceState.STOPPED),
        (pod("Failed"), InstanceState.FAILED),
        (pod("Unknown"), InstanceState.UNKNOWN),
    ],
)
def test_pod_states_as_kubectl_shows_them(given: Pod, expected: InstanceState) -> None:
    assert _state(given) is expected


def deployment(*, desired: int, generation: int = 2, observed: int = 2, **status: int) -> Deployment:
    return Deployment.from_dict(
        {
            "metadata": {"name": "phone-gateway", "generation": generation},
            "spec": {
                "replicas": desired,
                "selector": {"matchLabels": {"app": "phone-gateway"}},
                "template": {"metadata": {}, "spec": {"containers": [{"name": "phone-gateway"}]}},
            },
            "status": {"observedGeneration": observed, **status},
        }
    )


@pytest.mark.parametrize(
    ("given", "complete"),
    [
        (deployment(desired=2), False),
        (deployment(desired=2, updatedReplicas=2, replicas=2, availableReplicas=2), True),
        # the controller has not seen the new template yet
        (deployment(desired=2, observed=1, updatedReplicas=2, replicas=2, availableReplicas=2), False),
        # an old pod still counted
        (deployment(desired=2, updatedReplicas=2, replicas=3, availableReplicas=2), False),
        # new pods not yet available
        (deployment(desired=2, updatedReplicas=2, replicas=2, availableReplicas=1), False),
        (deployment(desired=0, updatedReplicas=0), True),
    ],
)
def test_rollout_complete_follows_kubectl_rollout_status(given: Deployment, complete: bool) -> None:
    assert _rollout_complete(given) is complete


def _template(image: str, restarted_at: str | None = None) -> dict[str, Any]:
    annotations = {"kubectl.kubernetes.io/restartedAt": restarted_at} if restarted_at else None
    return {
        "metadata": {"labels": {"app": "x"}, "annotations": annotations},
        "spec": {"containers": [{"image": image}]},
    }


def test_undo_target_is_the_previous_revision_or_the_one_asked() -> None:
    templates = {1: _template("v1"), 2: _template("v2"), 3: _template("v3")}
    assert _undo_target(templates, templates[3], None) == 2
    assert _undo_target(templates, templates[3], 1) == 1
    with pytest.raises(KubernetesPlatformError, match="no rollout history"):
        _undo_target({1: templates[1]}, templates[1], None)
    with pytest.raises(KubernetesPlatformError, match="revision 9"):
        _undo_target(templates, templates[3], 9)


def test_undo_skips_revisions_that_only_restarted_the_current_release() -> None:
    # good v1 -> bad release v2 -> the responder's restart of v2 (revision 3): undo must reach v1, not v2 again.
    templates = {1: _template("v1"), 2: _template("v2"), 3: _template("v2", restarted_at="2026-11-29T20:00:00Z")}
    assert _undo_target(templates, templates[3], None) == 1
    only_restarts = {1: _template("v2"), 2: _template("v2", restarted_at="t")}
    with pytest.raises(KubernetesPlatformError, match="restarted"):
        _undo_target(only_restarts, only_restarts[2], None)


def test_same_template_ignores_the_hash_label_only() -> None:
    template = {"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [{"image": "a"}]}}
    hashed = {
        "metadata": {"labels": {"app": "x", "pod-template-hash": "abc"}},
        "spec": {"containers": [{"image": "a"}]},
    }
    changed = {"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [{"image": "b"}]}}
    assert _same_template(template, hashed)
    assert not _same_template(template, changed)


def test_kubeconfig_setting_picks_the_file(tmp_path: Path) -> None:
    path = tmp_path / "kubeconfig"
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:6443"}}],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "x",
            }
        )
    )
    config = load_kube_config(load_settings(kubeconfig=path))
    assert config.get().cluster.server == "https://127.0.0.1:6443"  # type: ignore[union-attr]


def test_default_service_url_is_the_cluster_dns_name() -> None:
    settings = load_settings()
    url = settings.kube_service_url_template.format(service="phone-gateway", namespace="ai-ninja", port=3001)
    assert url == "http://phone-gateway.ai-ninja.svc:3001"
    assert settings.kube_namespace == "ai-ninja"
