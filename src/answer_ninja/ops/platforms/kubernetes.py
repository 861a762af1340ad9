"""The Platform on Kubernetes: every runbook command, done through the API the way kubectl does it.

Client: lightkube (async, typed models, built on httpx like the rest of the package, actively maintained).
Each method names the kubectl command it reproduces. Two have no API call of their own and are done as kubectl
does them: ``rollout restart`` patches a timestamp annotation into the pod template, and ``rollout undo`` copies
the template of the target revision's ReplicaSet back into the Deployment (apps/v1 has no rollback endpoint).
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

from lightkube import AsyncClient, KubeConfig
from lightkube.config.kubeconfig import SingleConfig
from lightkube.core.exceptions import ApiError, ConfigError
from lightkube.models.apps_v1 import ReplicaSetSpec
from lightkube.resources.apps_v1 import Deployment, ReplicaSet
from lightkube.resources.core_v1 import ConfigMap, Endpoints, Event, Node, Pod, Service
from lightkube.types import PatchType

from answer_ninja.errors import AnswerNinjaError
from answer_ninja.ops.platforms.base import (
    ConfigSnapshot,
    Instance,
    InstanceState,
    NodeStatus,
    PlatformEvent,
    ResourceLimits,
    Revision,
)
from answer_ninja.platform.logging import get_logger
from answer_ninja.platform.settings import Settings

log = get_logger(__name__)

CONFIG_MAP = "app-config"
PART_OF: dict[str, Any] = {"app.kubernetes.io/part-of": "ai-answer-ninja"}
SELF = "responder"  # the responder does not watch or remediate itself
# Annotations kubectl uses; keeping them means `kubectl rollout history/undo` and this module agree.
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
REVISION = "deployment.kubernetes.io/revision"
CHANGE_CAUSE = "kubernetes.io/change-cause"
# Which app-config a pod template was restarted with (the degraded-mode drill checks it took effect).
CONFIG_VERSION = "answer-ninja.io/config-version"
# Annotations `kubectl rollout undo` does not copy from the ReplicaSet back to the Deployment.
UNDO_SKIPPED_ANNOTATIONS = frozenset(
    {
        "kubectl.kubernetes.io/last-applied-configuration",
        REVISION,
        "deployment.kubernetes.io/revision-history",
        "deployment.kubernetes.io/desired-replicas",
        "deployment.kubernetes.io/max-replicas",
        "deprecated.deployment.rollback.to",
    }
)
READY_POLL_SECONDS = 0.25


class KubernetesPlatformError(AnswerNinjaError):
    """A change the API refused or that cannot apply (unknown service, no rollout history)."""


def load_kube_config(settings: Settings) -> KubeConfig | SingleConfig:
    """KUBECONFIG if set; else the pod's service account (in-cluster); else ~/.kube/config."""
    if settings.kubeconfig is not None:
        return KubeConfig.from_file(settings.kubeconfig)
    try:
        return KubeConfig.from_service_account()
    except ConfigError:
        return KubeConfig.from_file("~/.kube/config")


def _state(pod: Pod) -> InstanceState:
    assert pod.metadata is not None
    assert pod.status is not None
    if pod.metadata.deletionTimestamp is not None:
        return InstanceState.TERMINATING
    waiting = {
        status.state.waiting.reason
        for status in pod.status.containerStatuses or []
        if status.state is not None and status.state.waiting is not None
    }
    if "CrashLoopBackOff" in waiting:
        return InstanceState.CRASH_LOOP
    phase = pod.status.phase or "Unknown"
    if phase == "Running" and waiting:
        return InstanceState.FAILED  # a container exited and is not back yet (Error, OOMKilled ...)
    return {
        "Pending": InstanceState.PENDING,
        "Running": InstanceState.RUNNING,
        "Succeeded": InstanceState.STOPPED,
        "Failed": InstanceState.FAILED,
    }.get(phase, InstanceState.UNKNOWN)


def _ready(pod: Pod) -> bool:
    assert pod.status is not None
    return any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or [])


def _revision_of(annotations: dict[str, str] | None) -> int:
    try:
        return int((annotations or {}).get(REVISION, "0"))
    except ValueError:
        return 0


def _event_time(event: Event) -> datetime:
    stamp = event.lastTimestamp or event.eventTime or event.firstTimestamp
    if stamp is None and event.metadata is not None:
        stamp = event.metadata.creationTimestamp
    return stamp or datetime.fromtimestamp(0, UTC)


class KubernetesPlatform:
    """The responder's hands on a cluster, limited to one namespace (the RBAC Role in deploy/k8s/base/rbac.yaml)."""

    name = "kubernetes"

    def __init__(self, settings: Settings, *, client: AsyncClient | None = None, namespace: str | None = None) -> None:
        self.settings = settings
        self.namespace = namespace or settings.kube_namespace
        self.client = client or AsyncClient(
            load_kube_config(settings), namespace=self.namespace, field_manager="answer-ninja-responder"
        )

    async def close(self) -> None:
        await self.client.close()

    async def _deployment(self, service: str) -> Deployment:
        try:
            return await self.client.get(Deployment, service, namespace=self.namespace)
        except ApiError as error:
            if error.status.code == 404:
                raise KubernetesPlatformError(f"no Deployment {service!r} in namespace {self.namespace}") from None
            raise

    # --- observe ---
    async def services(self) -> list[str]:
        """``kubectl get deployments -l app.kubernetes.io/part-of=ai-answer-ninja`` (without the responder)."""
        names = [
            d.metadata.name
            async for d in self.client.list(Deployment, namespace=self.namespace, labels=PART_OF)
            if d.metadata is not None and d.metadata.name
        ]
        return sorted(name for name in names if name != SELF)

    async def _replica_sets(self, deployment: Deployment) -> list[ReplicaSet]:
        """The ReplicaSets the Deployment owns: its revision history, as kubectl reads it."""
        assert deployment.metadata is not None
        uid = deployment.metadata.uid
        owned = []
        async for replica_set in self.client.list(ReplicaSet, namespace=self.namespace):
            refs = replica_set.metadata.ownerReferences if replica_set.metadata else None
            if any(ref.uid == uid and ref.controller for ref in refs or []):
                owned.append(replica_set)
        return owned

    async def instances(self, service: str) -> list[Instance]:
        """``kubectl get pods -n ai-ninja -l app=<service>``."""
        pods = [pod async for pod in self.client.list(Pod, namespace=self.namespace, labels={"app": service})]
        revisions: dict[str, int] = {}
        if pods:
            try:
                deployment = await self._deployment(service)
            except KubernetesPlatformError:
                deployment = None
            for replica_set in await self._replica_sets(deployment) if deployment else []:
                assert replica_set.metadata is not None
                template_hash = (replica_set.metadata.labels or {}).get("pod-template-hash", "")
                revisions[template_hash] = _revision_of(replica_set.metadata.annotations)
        return [self._instance(service, pod, revisions) for pod in pods]

    @staticmethod
    def _instance(service: str, pod: Pod, revisions: dict[str, int]) -> Instance:
        assert pod.metadata is not None
        assert pod.status is not None
        assert pod.spec is not None
        statuses = pod.status.containerStatuses or []
        restarts = sum(status.restartCount for status in statuses)
        last = next(
            (s.lastState.terminated for s in statuses if s.lastState is not None and s.lastState.terminated),
            None,
        )
        state = _state(pod)
        port = next((p.containerPort for c in pod.spec.containers for p in c.ports or []), None)
        address = f"http://{pod.status.podIP}:{port}" if pod.status.podIP and port else None
        labels = pod.metadata.labels or {}
        return Instance(
            name=pod.metadata.name or "",
            service=service,
            state=state,
            ready=_ready(pod),
            restarts=restarts,
            started_at=pod.status.startTime,
            last_exit_code=last.exitCode if last else None,
            last_exit_reason=last.reason if last else None,
            address=address,
            consecutive_crashes=restarts if state is InstanceState.CRASH_LOOP else 0,
            revision=revisions.get(labels.get("pod-template-hash", "")),
            config_version=(pod.metadata.annotations or {}).get(CONFIG_VERSION),
        )

    async def events(self, service: str | None = None, *, limit: int = 20) -> list[PlatformEvent]:
        """``kubectl get events --field-selector involvedObject.name=<svc>``, widened to the service's RS and pods."""
        owners: dict[str, str] = {}  # object name -> service
        for name in [service] if service else await self.services():
            owners[name] = name
            async for pod in self.client.list(Pod, namespace=self.namespace, labels={"app": name}):
                if pod.metadata and pod.metadata.name:
                    owners[pod.metadata.name] = name
            try:
                replica_sets = await self._replica_sets(await self._deployment(name))
            except KubernetesPlatformError:
                replica_sets = []
            owners.update({rs.metadata.name: name for rs in replica_sets if rs.metadata and rs.metadata.name})
        found = []
        async for event in self.client.list(Event, namespace=self.namespace):
            involved = event.involvedObject.name if event.involvedObject else None
            if involved in owners:
                found.append(
                    PlatformEvent(
                        at=_event_time(event),
                        service=owners[involved],
                        type=event.type or "Normal",
                        reason=event.reason or "",
                        message=event.message or "",
                    )
                )
        found.sort(key=lambda event: event.at)
        return found[-limit:]

    async def logs(self, service: str, *, tail: int = 50) -> list[str]:
        """``kubectl logs deployment/<svc> --tail=N``: one pod's container, the failing one first."""
        pods = [pod async for pod in self.client.list(Pod, namespace=self.namespace, labels={"app": service})]
        if not pods:
            return []
        # kubectl picks any pod; a diagnosis wants the one that is failing.
        pods.sort(key=lambda pod: (_ready(pod), _state(pod) is InstanceState.RUNNING))
        target = pods[0]
        assert target.metadata is not None
        assert target.spec is not None
        container = _container_name(service, [c.name for c in target.spec.containers])
        lines: list[str] = []
        async for line in self.client.log(
            target.metadata.name or "", namespace=self.namespace, container=container, tail_lines=tail, newlines=False
        ):
            lines.append(line)
        return lines

    async def service_url(self, service: str) -> str:
        """The Service's address and first port (what the runbook's curl reaches): its cluster DNS name by default."""
        svc = await self.client.get(Service, service, namespace=self.namespace)
        assert svc.spec is not None
        assert svc.spec.ports
        template = self.settings.kube_service_url_template
        return template.format(service=service, namespace=self.namespace, port=svc.spec.ports[0].port)

    async def node_status(self) -> list[NodeStatus]:
        """``kubectl get nodes``: Ready and the pressure conditions kubelet reports."""
        result = []
        async for node in self.client.list(Node):
            assert node.metadata is not None
            conditions = {c.type: c.status == "True" for c in (node.status.conditions if node.status else None) or []}
            allocatable = (node.status.allocatable if node.status else None) or {}
            details = {}
            if "pods" in allocatable:
                details["allocatable_pods"] = float(allocatable["pods"])
            result.append(
                NodeStatus(
                    name=node.metadata.name or "",
                    ready=conditions.get("Ready", False),
                    memory_pressure=conditions.get("MemoryPressure", False),
                    disk_pressure=conditions.get("DiskPressure", False),
                    cpu_pressure=conditions.get("PIDPressure", False),
                    details=details,
                )
            )
        return result

    # --- change ---
    async def restart(self, service: str) -> None:
        """``kubectl rollout restart deployment/<svc>``: a new template annotation makes a new ReplicaSet."""
        await self._deployment(service)
        config = await self.client.get(ConfigMap, CONFIG_MAP, namespace=self.namespace)
        annotations = {RESTARTED_AT: datetime.now(UTC).isoformat(timespec="seconds")}
        if config.metadata is not None and config.metadata.resourceVersion:
            annotations[CONFIG_VERSION] = config.metadata.resourceVersion
        patch = {"spec": {"template": {"metadata": {"annotations": annotations}}}}
        await self.client.patch(Deployment, service, patch, namespace=self.namespace)
        log.info("kubernetes.restart", service=service, namespace=self.namespace)

    async def wait_ready(self, service: str, *, timeout: float = 120.0) -> bool:
        """``kubectl rollout status --timeout``, then until the old pods are gone and the Service routes to the new.

        As the local platform: every instance Running and ready. kubectl returns while old pods still terminate
        and while the Service's Endpoints still list them; a check right after (the runbook's
        ``get pods | grep -v Running``, or a probe through the Service) would see them and fail.
        """
        deadline = time.monotonic() + timeout
        while True:
            instances = await self.instances(service)
            if (
                _rollout_complete(await self._deployment(service))
                and all(i.state is InstanceState.RUNNING and i.ready for i in instances)
                and await self._endpoints_current(service)
            ):
                return True
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(READY_POLL_SECONDS)

    async def _endpoints_current(self, service: str) -> bool:
        """The Service's ready addresses are exactly the ready pods its selector picks (none stale, none missing)."""
        try:
            svc = await self.client.get(Service, service, namespace=self.namespace)
            endpoints = await self.client.get(Endpoints, service, namespace=self.namespace)
        except ApiError as error:
            if error.status.code == 404:
                return True  # a Deployment without a Service (or not yet any endpoints object): nothing to route
            raise
        selector: dict[str, str] = (svc.spec.selector if svc.spec else None) or {}
        pods = [pod async for pod in self.client.list(Pod, namespace=self.namespace, labels=dict(selector))]
        ready = {pod.status.podIP for pod in pods if pod.status and pod.status.podIP and _ready(pod)}
        listed = {address.ip for subset in endpoints.subsets or [] for address in subset.addresses or []}
        return listed == ready

    async def replicas(self, service: str) -> int:
        deployment = await self._deployment(service)
        return deployment.spec.replicas or 0 if deployment.spec else 0

    async def scale(self, service: str, replicas: int) -> None:
        """``kubectl scale deployment <svc> --replicas=N`` (the scale subresource, as kubectl uses)."""
        if replicas < 0:
            raise KubernetesPlatformError("replicas must be 0 or more")
        await self._deployment(service)
        await self.client.patch(
            Deployment.Scale,
            service,
            {"spec": {"replicas": replicas}},
            namespace=self.namespace,
            patch_type=PatchType.MERGE,
        )
        log.info("kubernetes.scale", service=service, replicas=replicas)

    async def resource_limits(self, service: str) -> ResourceLimits:
        container = _main_container(await self._deployment(service), service)
        limits = (container.get("resources") or {}).get("limits") or {}
        return ResourceLimits(memory=limits.get("memory"), cpu=limits.get("cpu"))

    async def set_resource_limits(self, service: str, limits: ResourceLimits) -> None:
        """The runbook's ``kubectl patch deployment ... resources.limits`` (strategic merge by container name)."""
        container = _main_container(await self._deployment(service), service)
        values = {key: value for key, value in (("memory", limits.memory), ("cpu", limits.cpu)) if value}
        if not values:
            return
        patch = {
            "spec": {
                "template": {"spec": {"containers": [{"name": container["name"], "resources": {"limits": values}}]}}
            }
        }
        await self.client.patch(Deployment, service, patch, namespace=self.namespace)
        log.info("kubernetes.limits", service=service, **values)

    async def read_config(self) -> ConfigSnapshot:
        """``kubectl get configmap app-config -o yaml``, kept as a snapshot to restore."""
        config = await self.client.get(ConfigMap, CONFIG_MAP, namespace=self.namespace)
        return _snapshot(config)

    async def patch_config(self, changes: dict[str, str | None]) -> ConfigSnapshot:
        """``kubectl patch configmap app-config --patch '{"data": ...}'`` (None removes a key)."""
        config = await self.client.patch(
            ConfigMap, CONFIG_MAP, {"data": changes}, namespace=self.namespace, patch_type=PatchType.MERGE
        )
        log.info("kubernetes.config_patched", keys=sorted(changes))
        return _snapshot(config)

    async def restore_config(self, snapshot: ConfigSnapshot) -> None:
        """The runbook's "restore from backup": app-config's data becomes exactly the snapshot's again."""
        current = await self.read_config()
        changes: dict[str, str | None] = {key: None for key in current.data if key not in snapshot.data}
        changes.update(snapshot.data)
        await self.patch_config(changes)

    async def revisions(self, service: str) -> list[Revision]:
        """``kubectl rollout history deployment/<svc>``."""
        deployment = await self._deployment(service)
        current = _revision_of(deployment.metadata.annotations if deployment.metadata else None)
        history = []
        for replica_set in await self._replica_sets(deployment):
            assert replica_set.metadata is not None
            number = _revision_of(replica_set.metadata.annotations)
            if number:
                history.append(
                    Revision(
                        number=number,
                        created_at=replica_set.metadata.creationTimestamp,
                        change_cause=(replica_set.metadata.annotations or {}).get(CHANGE_CAUSE, ""),
                        current=number == current,
                    )
                )
        return sorted(history, key=lambda revision: revision.number)

    async def rollback(self, service: str, *, to_revision: int | None = None) -> None:
        """``kubectl rollout undo [--to-revision=N]``: the revision's ReplicaSet template goes back into the Deployment.

        As kubectl, the template loses its ``pod-template-hash`` label and the ReplicaSet's annotations
        (change-cause ...) come back with it. One deliberate difference: without ``to_revision`` the target is the
        newest earlier revision that is a different *release*. ``rollout restart`` makes a revision that differs only
        in its restartedAt annotation; undoing to it would bring back the same bad image the responder's restart
        just failed to fix (restart -> rollback is the mode-A ladder).
        """
        deployment = await self._deployment(service)
        assert deployment.metadata is not None
        assert deployment.spec is not None
        by_revision = {
            _revision_of(rs.metadata.annotations if rs.metadata else None): rs
            for rs in await self._replica_sets(deployment)
        }
        by_revision.pop(0, None)
        templates = {
            number: (rs.spec.template.to_dict() if isinstance(rs.spec, ReplicaSetSpec) and rs.spec.template else {})
            for number, rs in by_revision.items()
        }
        target = _undo_target(templates, deployment.spec.template.to_dict(), to_revision)
        replica_set = by_revision[target]
        assert replica_set.metadata is not None
        template = templates[target]
        labels = template.get("metadata", {}).get("labels", {})
        labels.pop("pod-template-hash", None)
        if _same_template(template, deployment.spec.template.to_dict()):
            log.info("kubernetes.rollback_skipped", service=service, revision=target)
            return
        annotations = {
            key: value
            for key, value in (deployment.metadata.annotations or {}).items()
            if key in UNDO_SKIPPED_ANNOTATIONS
        }
        annotations.update(
            {k: v for k, v in (replica_set.metadata.annotations or {}).items() if k not in UNDO_SKIPPED_ANNOTATIONS}
        )
        patch = [
            {"op": "replace", "path": "/spec/template", "value": template},
            {"op": "replace", "path": "/metadata/annotations", "value": annotations},
        ]
        await self.client.patch(Deployment, service, patch, namespace=self.namespace, patch_type=PatchType.JSON)
        log.info("kubernetes.rollback", service=service, to_revision=target)

    async def traffic_target(self, service: str) -> str:
        """Which Deployment the Service's selector points at (``app=<svc>`` or ``app=<svc>-backup``)."""
        svc = await self.client.get(Service, service, namespace=self.namespace)
        selector: dict[str, str] = (svc.spec.selector if svc.spec else None) or {}
        return selector.get("app", service)

    async def switch_traffic(self, service: str, *, to: str) -> None:
        """``kubectl patch service <svc> --patch '{"spec":{"selector":{"app":"<to>"}}}'``, target ready first."""
        if to != service:
            # A selector does not start pods: the backup must be up before the traffic goes to it.
            if await self.replicas(to) == 0:
                await self.scale(to, 1)
            if not await self.wait_ready(to, timeout=self.settings.kube_rollout_timeout_seconds):
                raise KubernetesPlatformError(f"{to} is not ready; traffic left on {service}")
        patch = {"spec": {"selector": {"app": to}}}
        await self.client.patch(Service, service, patch, namespace=self.namespace)
        log.info("kubernetes.traffic_switched", service=service, to=to)


def _container_name(service: str, names: list[str]) -> str:
    return service if service in names else names[0]


def _main_container(deployment: Deployment, service: str) -> dict[str, Any]:
    assert deployment.spec is not None
    containers: list[dict[str, Any]] = deployment.spec.template.to_dict()["spec"]["containers"]
    name = _container_name(service, [c["name"] for c in containers])
    return next(c for c in containers if c["name"] == name)


def _snapshot(config: ConfigMap) -> ConfigSnapshot:
    return ConfigSnapshot(
        data=dict(config.data or {}),
        taken_at=datetime.now(UTC),
        version=config.metadata.resourceVersion if config.metadata else None,
    )


def _rollout_complete(deployment: Deployment) -> bool:
    """kubectl's rollout status check (DeploymentStatusViewer), condition by condition."""
    assert deployment.metadata is not None
    assert deployment.spec is not None
    status = deployment.status
    if status is None or (status.observedGeneration or 0) < (deployment.metadata.generation or 0):
        return False
    desired = deployment.spec.replicas if deployment.spec.replicas is not None else 1
    updated = status.updatedReplicas or 0
    return updated >= desired and (status.replicas or 0) <= updated and (status.availableReplicas or 0) >= updated


def _undo_target(templates: dict[int, dict[str, Any]], current: dict[str, Any], to_revision: int | None) -> int:
    """The revision to undo to: the one asked for, or the newest earlier one that is another release."""
    if to_revision:
        if to_revision not in templates:
            raise KubernetesPlatformError(f"unable to find specified revision {to_revision} in history")
        return to_revision
    earlier = sorted(templates)[:-1]  # the newest revision is the one running now
    if not earlier:
        raise KubernetesPlatformError("no rollout history found: nothing to undo to")
    for number in reversed(earlier):
        if not _same_template(templates[number], current, ignore_restarts=True):
            return number
    raise KubernetesPlatformError("every earlier revision is the current release restarted: nothing to undo to")


def _same_template(a: dict[str, Any], b: dict[str, Any], *, ignore_restarts: bool = False) -> bool:
    """Equal pod templates, ignoring the hash label the ReplicaSet controller adds (and restart stamps if asked)."""

    def strip(template: dict[str, Any]) -> dict[str, Any]:
        copy = {**template, "metadata": {**template.get("metadata", {})}}
        labels = {k: v for k, v in (copy["metadata"].get("labels") or {}).items() if k != "pod-template-hash"}
        copy["metadata"]["labels"] = labels
        if ignore_restarts:
            annotations = copy["metadata"].get("annotations") or {}
            copy["metadata"]["annotations"] = {k: v for k, v in annotations.items() if k != RESTARTED_AT} or None
        return copy

    return strip(a) == strip(b)
