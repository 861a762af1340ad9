"""A real Kubernetes control plane on loopback: etcd + kube-apiserver + kube-controller-manager, and a pod simulator.

The two Kubernetes binaries are built from Debian's ``kubernetes`` source package by
``scripts/install.d/50-kubernetes.sh`` and cached under ``$ANSWER_NINJA_CACHE/kube/bin``; etcd is Debian's.
There is no scheduler and no kubelet, so :class:`PodSimulator` plays both: it binds every pod to a fake Node,
reports it Running/Ready (or not-ready, or CrashLoopBackOff, on request), force-deletes terminating pods, and
serves ``kubectl logs`` as a tiny kubelet over HTTPS, and gives each running pod a small HTTP server (/health,
/ready, /metrics) on loopback. :class:`ServiceProxy` plays kube-proxy: it routes to a Service's ready endpoints as
the real endpoints controller lists them. Everything else (Deployments -> ReplicaSets -> Pods, rollouts,
Endpoints, RBAC, admission, service-account tokens) is the real Kubernetes code.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import shutil
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from enum import StrEnum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import yaml
from lightkube import Client, KubeConfig
from lightkube.core.exceptions import ApiError
from lightkube.models.core_v1 import ObjectReference
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Endpoints, Event, Node, Pod

from tests.harness.servers import free_port, wait_for_port
from tests.harness.tls import self_signed_certificate

SIM_NODE = "sim-node-1"
ADMIN_TOKEN = "answer-ninja-test-admin-token"


def kube_bin_dir() -> Path:
    cache = Path(os.environ.get("ANSWER_NINJA_CACHE", Path.home() / ".cache" / "answer-ninja"))
    return cache / "kube" / "bin"


def kube_binaries_available() -> bool:
    return all((kube_bin_dir() / name).exists() for name in ("kube-apiserver", "kube-controller-manager"))


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class KubeCluster:
    """etcd, kube-apiserver and kube-controller-manager in ``directory``, every port free."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.etcd_port = free_port()
        self.etcd_peer_port = free_port()
        self.api_port = free_port()
        self.processes: list[subprocess.Popen[bytes]] = []
        self.kubeconfig = directory / "kubeconfig"

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.api_port}"

    def _spawn(self, name: str, argv: list[str]) -> None:
        log = (self.directory / f"{name}.log").open("wb")
        self.processes.append(subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True))

    def _write_credentials(self) -> None:
        d = self.directory
        subprocess.run(
            ["openssl", "genrsa", "-out", str(d / "sa.key"), "2048"], check=True, capture_output=True, timeout=60
        )
        subprocess.run(
            ["openssl", "rsa", "-in", str(d / "sa.key"), "-pubout", "-out", str(d / "sa.pub")],
            check=True,
            capture_output=True,
            timeout=60,
        )
        (d / "tokens.csv").write_text(f'{ADMIN_TOKEN},admin,admin,"system:masters"\n')
        self.kubeconfig.write_text(yaml.safe_dump(kubeconfig_for(self.server, ADMIN_TOKEN, "admin")))

    def start(self, timeout: float = 90.0) -> KubeCluster:
        if not kube_binaries_available():
            raise RuntimeError(
                f"kube-apiserver is not built in {kube_bin_dir()}: run scripts/install.d/50-kubernetes.sh (make extras)"
            )
        bins = kube_bin_dir()
        self.directory.mkdir(parents=True, exist_ok=True)
        self._write_credentials()
        d = self.directory
        self._spawn(
            "etcd",
            [
                shutil.which("etcd") or "/usr/bin/etcd",
                "--data-dir",
                str(d / "etcd"),
                "--listen-client-urls",
                f"http://127.0.0.1:{self.etcd_port}",
                "--advertise-client-urls",
                f"http://127.0.0.1:{self.etcd_port}",
                "--listen-peer-urls",
                f"http://127.0.0.1:{self.etcd_peer_port}",
                "--initial-advertise-peer-urls",
                f"http://127.0.0.1:{self.etcd_peer_port}",
                "--initial-cluster",
                f"default=http://127.0.0.1:{self.etcd_peer_port}",
                "--unsafe-no-fsync",
            ],
        )
        wait_for_port(self.etcd_port, timeout=30)
        self._spawn(
            "kube-apiserver",
            [
                str(bins / "kube-apiserver"),
                f"--etcd-servers=http://127.0.0.1:{self.etcd_port}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={self.api_port}",
                "--insecure-port=0",
                f"--cert-dir={d / 'certs'}",
                f"--token-auth-file={d / 'tokens.csv'}",
                "--authorization-mode=RBAC",
                "--service-account-issuer=https://kubernetes.default.svc",
                f"--service-account-key-file={d / 'sa.pub'}",
                f"--service-account-signing-key-file={d / 'sa.key'}",
                "--service-cluster-ip-range=10.96.0.0/24",
                "--endpoint-reconciler-type=none",
                # Pods would wait for a token Secret per ServiceAccount; the simulator runs no containers to mount it.
                "--disable-admission-plugins=ServiceAccount",
                "--kubelet-preferred-address-types=InternalIP",
            ],
        )
        self._wait_api(timeout)
        self._spawn(
            "kube-controller-manager",
            [
                str(bins / "kube-controller-manager"),
                f"--kubeconfig={self.kubeconfig}",
                "--leader-elect=false",
                "--port=0",
                "--secure-port=0",
                f"--service-account-private-key-file={d / 'sa.key'}",
                # No kubelet heart-beats the simulated node, so node lifecycle would evict every pod.
                "--controllers=*,-nodelifecycle",
                "--concurrent-deployment-syncs=10",
                "--concurrent-replicaset-syncs=10",
            ],
        )
        return self

    def _wait_api(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            for process in self.processes:
                if process.poll() is not None:
                    raise RuntimeError(f"{process.args[0]} exited; see logs in {self.directory}")
            try:
                client = self.client()
                list(client.list(Node))
                return
            except Exception as error:
                last = error
                time.sleep(0.3)
        raise TimeoutError(f"kube-apiserver not ready after {timeout}s: {last}")

    def client(self) -> Client:
        return Client(KubeConfig.from_file(self.kubeconfig), field_manager="answer-ninja-tests")

    def kubectl(self, *args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["kubectl", f"--kubeconfig={self.kubeconfig}", *args],
            check=check,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def stop(self) -> None:
        for process in reversed(self.processes):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, 15)
        for process in reversed(self.processes):
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, 9)
                process.wait(timeout=5)
        self.processes.clear()


def kubeconfig_for(server: str, token: str, user: str, namespace: str = "default") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "test", "cluster": {"server": server, "insecure-skip-tls-verify": True}}],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": "test", "context": {"cluster": "test", "user": user, "namespace": namespace}}],
        "current-context": "test",
    }


class Behaviour(StrEnum):
    READY = "ready"
    NOT_READY = "not-ready"  # running, readiness probe failing
    CRASH_LOOP = "crash-loop"  # container exits, kubelet backs off
    PENDING = "pending"  # never scheduled (no room on any node)


class PodSimulator:
    """Scheduler + kubelet stand-in: binds pods, reports their status as told, serves their logs.

    Behaviour is chosen per pod: for that pod only (a transient fault), else by its image (a bad release), else by
    its ``app`` label (a fault every new pod has too), else READY.
    """

    def __init__(self, cluster: KubeCluster, *, interval: float = 0.2) -> None:
        self.cluster = cluster
        self.client = cluster.client()
        self.interval = interval
        self.by_pod: dict[str, Behaviour] = {}
        self.by_app: dict[str, Behaviour] = {}
        self.by_image: dict[str, Behaviour] = {}
        self.ips = (f"10.244.{n // 250}.{n % 250 + 2}" for n in itertools.count())
        self.pod_ips: dict[str, str] = {}
        self.applied: dict[str, Behaviour] = {}
        self.crash_ticks: dict[str, int] = {}
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pod-simulator", daemon=True)
        self.kubelet = _FakeKubelet(cluster.directory, self)
        self.containers: dict[str, _PodServer] = {}
        self.pod_ports: dict[str, int] = {}
        self.errors: list[str] = []

    # --- control ---
    def set_app(self, app: str, behaviour: Behaviour, *, namespace: str = "*") -> None:
        """Every pod labelled ``app`` (in ``namespace``, or any) behaves so from now on, existing ones included."""
        self.by_app[f"{namespace}/{app}"] = behaviour
        self._wake.set()

    def break_pods(self, namespace: str, app: str, behaviour: Behaviour) -> list[str]:
        """Only the pods that exist now behave so (a transient fault: pods a restart creates are healthy)."""
        names = [
            pod.metadata.name or ""
            for pod in self.client.list(Pod, namespace=namespace, labels={"app": app})
            if pod.metadata is not None and pod.metadata.deletionTimestamp is None
        ]
        for name in names:
            self.by_pod[f"{namespace}/{name}"] = behaviour
        self._wake.set()
        return names

    def set_image(self, image: str, behaviour: Behaviour) -> None:
        self.by_image[image] = behaviour
        self._wake.set()

    def reset(self) -> None:
        self.by_pod.clear()
        self.by_app.clear()
        self.by_image.clear()
        self._wake.set()

    def behaviour_for(self, pod: Pod) -> Behaviour:
        assert pod.spec is not None
        assert pod.metadata is not None
        pod_key = f"{pod.metadata.namespace}/{pod.metadata.name}"
        if pod_key in self.by_pod:
            return self.by_pod[pod_key]
        for container in pod.spec.containers:
            if container.image in self.by_image:
                return self.by_image[container.image]
        app = (pod.metadata.labels or {}).get("app", "")
        return self.by_app.get(f"{pod.metadata.namespace}/{app}", self.by_app.get(f"*/{app}", Behaviour.READY))

    def start(self) -> PodSimulator:
        self.kubelet.start()
        self._register_node()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=5)
        self.kubelet.stop()
        for key in list(self.containers):
            self._unserve(key)

    # --- the node ---
    def _register_node(self) -> None:
        node = Node(
            metadata=ObjectMeta(name=SIM_NODE, labels={"kubernetes.io/hostname": SIM_NODE}),
            spec={},  # type: ignore[arg-type]
        )
        with contextlib.suppress(ApiError):
            self.client.create(node)
        status = {
            "capacity": {"cpu": "8", "memory": "32Gi", "pods": "110"},
            "allocatable": {"cpu": "8", "memory": "32Gi", "pods": "110"},
            "conditions": [
                {"type": kind, "status": "False", "reason": f"Kubelet{ok}", "lastHeartbeatTime": _now()}
                for kind, ok in (
                    ("MemoryPressure", "HasSufficientMemory"),
                    ("DiskPressure", "HasNoDiskPressure"),
                    ("PIDPressure", "HasSufficientPID"),
                )
            ]
            + [{"type": "Ready", "status": "True", "reason": "KubeletReady", "lastHeartbeatTime": _now()}],
            "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}, {"type": "Hostname", "address": SIM_NODE}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": self.kubelet.port}},
            "nodeInfo": {
                "machineID": "sim",
                "systemUUID": "sim",
                "bootID": "sim",
                "kernelVersion": "sim",
                "osImage": "pod simulator",
                "containerRuntimeVersion": "sim://1",
                "kubeletVersion": "v1.20.2",
                "kubeProxyVersion": "v1.20.2",
                "operatingSystem": "linux",
                "architecture": "amd64",
            },
        }
        self.client.patch(Node.Status, SIM_NODE, {"status": status})

    def set_node_condition(self, kind: str, status: bool) -> None:
        """Flip a node condition (Ready, MemoryPressure, ...) as a failing kubelet would report it."""
        node = self.client.get(Node, SIM_NODE)
        assert node.status is not None
        assert node.status.conditions is not None
        conditions = [c.to_dict() for c in node.status.conditions]
        for condition in conditions:
            if condition["type"] == kind:
                condition["status"] = "True" if status else "False"
        self.client.patch(Node.Status, SIM_NODE, {"status": {"conditions": conditions}})

    # --- the loop ---
    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.reconcile()
            except Exception as error:  # the simulator must outlive a transient API error
                self.errors.append(repr(error))
            self._wake.wait(self.interval)
            self._wake.clear()

    def reconcile(self) -> None:
        for pod in self.client.list(Pod, namespace="*"):
            self._reconcile_pod(pod)

    def _reconcile_pod(self, pod: Pod) -> None:
        assert pod.metadata is not None
        assert pod.spec is not None
        name, namespace = pod.metadata.name or "", pod.metadata.namespace or "default"
        key = f"{namespace}/{name}"
        if pod.metadata.deletionTimestamp is not None:
            with contextlib.suppress(ApiError):
                self.client.delete(Pod, name, namespace=namespace, grace_period=0)
            self.applied.pop(key, None)
            self._unserve(key)
            return
        behaviour = self.behaviour_for(pod)
        if behaviour is Behaviour.PENDING:
            return
        if not pod.spec.nodeName:
            binding = Pod.Binding(
                metadata=ObjectMeta(name=name, namespace=namespace),
                target=ObjectReference(apiVersion="v1", kind="Node", name=SIM_NODE),
            )
            self.client.create(binding, name, namespace=namespace)  # pods/<name>/binding, as the scheduler does
        if behaviour is Behaviour.CRASH_LOOP:
            self.crash_ticks[key] = self.crash_ticks.get(key, 0) + 1
            # A real kubelet restarts a crashing container every 10 s, 20 s, ...: count a restart every ~2 s.
            if self.applied.get(key) is Behaviour.CRASH_LOOP and self.crash_ticks[key] % 10:
                return
        elif self.applied.get(key) is behaviour:
            return
        self.client.patch(Pod.Status, name, {"status": self._status(pod, behaviour, key)}, namespace=namespace)
        self._serve(pod, key, behaviour)
        if behaviour is Behaviour.CRASH_LOOP and self.applied.get(key) is not Behaviour.CRASH_LOOP:
            self._event(pod, "BackOff", "Back-off restarting failed container")
        self.applied[key] = behaviour

    def _status(self, pod: Pod, behaviour: Behaviour, key: str) -> dict[str, Any]:
        assert pod.spec is not None
        assert pod.metadata is not None
        ready = behaviour is Behaviour.READY
        now = _now()
        ip = self.pod_ips.setdefault(key, next(self.ips))
        restarts = self.crash_ticks.get(key, 0) // 10 if behaviour is Behaviour.CRASH_LOOP else 0
        statuses = []
        for container in pod.spec.containers:
            status: dict[str, Any] = {
                "name": container.name,
                "image": container.image,
                "imageID": f"sim://{container.image}",
                "ready": ready,
                "started": behaviour is not Behaviour.CRASH_LOOP,
                "restartCount": restarts,
            }
            if behaviour is Behaviour.CRASH_LOOP:
                status["state"] = {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off restarting"}}
                status["lastState"] = {
                    "terminated": {"exitCode": 1, "reason": "Error", "startedAt": now, "finishedAt": now}
                }
            else:
                status["state"] = {"running": {"startedAt": now}}
            statuses.append(status)
        flag = "True" if ready else "False"
        return {
            "phase": "Running",
            "hostIP": "127.0.0.1",
            "podIP": ip,
            "podIPs": [{"ip": ip}],
            "startTime": now,
            "conditions": [
                {"type": "Initialized", "status": "True", "lastTransitionTime": now},
                {"type": "PodScheduled", "status": "True", "lastTransitionTime": now},
                {"type": "ContainersReady", "status": flag, "lastTransitionTime": now},
                {"type": "Ready", "status": flag, "lastTransitionTime": now},
            ],
            "containerStatuses": statuses,
        }

    def _event(self, pod: Pod, reason: str, message: str) -> None:
        assert pod.metadata is not None
        namespace = pod.metadata.namespace or "default"
        event = Event(
            metadata=ObjectMeta(generateName=f"{pod.metadata.name}.", namespace=namespace),
            involvedObject=ObjectReference(
                kind="Pod", name=pod.metadata.name, namespace=namespace, uid=pod.metadata.uid, apiVersion="v1"
            ),
            reason=reason,
            message=message,
            type="Warning",
            count=1,
            firstTimestamp=datetime.now(UTC),  # type: ignore[arg-type]
            lastTimestamp=datetime.now(UTC),  # type: ignore[arg-type]
            source={"component": "kubelet", "host": SIM_NODE},  # type: ignore[arg-type]
        )
        with contextlib.suppress(ApiError):
            self.client.create(event, namespace=namespace)

    # --- the containers' HTTP endpoints ---
    def _serve(self, pod: Pod, key: str, behaviour: Behaviour) -> None:
        """A crashing container listens on nothing; a running one answers /health, /ready and /metrics."""
        if behaviour in (Behaviour.CRASH_LOOP, Behaviour.PENDING):
            self._unserve(key)
            return
        if key in self.containers:
            return
        assert pod.metadata is not None
        app = (pod.metadata.labels or {}).get("app", "")
        # A pod keeps its address across container restarts, as its IP on a cluster.
        port = self.pod_ports.setdefault(key, free_port())
        self.containers[key] = _PodServer(self, key, app, port).start()

    def _unserve(self, key: str) -> None:
        server = self.containers.pop(key, None)
        if server is not None:
            server.stop()

    def address_of(self, pod_ip: str) -> str | None:
        """Where the pod with this IP listens on loopback (what a pod network would route to), if it ever did."""
        key = next((k for k, ip in self.pod_ips.items() if ip == pod_ip), None)
        port = self.pod_ports.get(key) if key else None
        return f"127.0.0.1:{port}" if port else None

    def write_scrape_targets(self, path: Path, namespace: str) -> None:
        """Prometheus file_sd targets with the labels kubernetes_sd would give (role: pod), one per pod that has
        an address: deploy/prometheus/prometheus.yml's relabelling then runs unchanged on them.

        The port annotation is left out: the address already is where the simulated container listens.
        """
        groups = []
        for pod in self.client.list(Pod, namespace=namespace):
            assert pod.metadata is not None
            address = self.address_of((pod.status.podIP if pod.status else None) or "")
            if address is None or pod.metadata.deletionTimestamp is not None:
                continue
            annotations = pod.metadata.annotations or {}
            labels = {
                "__meta_kubernetes_namespace": namespace,
                "__meta_kubernetes_pod_name": pod.metadata.name or "",
                "__meta_kubernetes_pod_label_app": (pod.metadata.labels or {}).get("app", ""),
                "__meta_kubernetes_pod_annotation_prometheus_io_scrape": annotations.get("prometheus.io/scrape", ""),
                "__meta_kubernetes_pod_annotation_prometheus_io_path": annotations.get("prometheus.io/path", ""),
            }
            groups.append({"targets": [address], "labels": labels})
        scratch = path.with_suffix(".tmp")
        scratch.write_text(json.dumps(groups))
        scratch.replace(path)  # Prometheus must never read a half-written file

    def log_lines(self, namespace: str, pod: str) -> list[str]:
        """What the container printed: start-up lines, and the crash for a crash-looping pod."""
        app = pod.rsplit("-", 2)[0]
        lines = [
            f'{{"event": "service starting", "service": "{app}", "level": "info"}}',
            f'{{"event": "listening", "service": "{app}", "level": "info"}}',
        ]
        if self.applied.get(f"{namespace}/{pod}") is Behaviour.CRASH_LOOP:
            lines.append(f'{{"event": "fatal: could not start", "service": "{app}", "level": "error"}}')
        return lines


class _FakeKubelet:
    """Answers the API server's ``pods/log`` proxy (``kubectl logs``) over HTTPS, as the kubelet would."""

    def __init__(self, directory: Path, simulator: PodSimulator) -> None:
        self.port = free_port()
        self.directory = directory
        simulator_ref = simulator

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlparse(self.path)
                parts = url.path.strip("/").split("/")
                if len(parts) >= 3 and parts[0] == "containerLogs":
                    lines = simulator_ref.log_lines(parts[1], parts[2])
                    tail = parse_qs(url.query).get("tailLines")
                    if tail:
                        lines = lines[-int(tail[0]) :]
                    body = ("\n".join(lines) + "\n").encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "text/plain")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                self.send_error(404)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> None:
        cert, key = self_signed_certificate(self.directory)  # the API server does not verify kubelets here
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class _PodServer:
    """The container of one simulated pod: /health, /ready (503 while the simulator says not ready), /metrics."""

    def __init__(self, simulator: PodSimulator, key: str, app: str, port: int) -> None:
        self.port = port
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _reply(self, status: int, body: bytes, content_type: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                ready = simulator.applied.get(key) is Behaviour.READY
                path = urlparse(self.path).path
                if path == "/health":
                    self._reply(200, json.dumps({"status": "ok", "service": app}).encode())
                elif path == "/ready":
                    body = {"status": "ready"} if ready else {"status": "not ready", "failed": ["simulated"]}
                    self._reply(200 if ready else 503, json.dumps(body).encode())
                elif path == "/metrics":
                    outer.scrapes += 1
                    text = (
                        "# TYPE ai_ninja_service_info gauge\n"
                        f'ai_ninja_service_info{{service="{app}",version="sim"}} 1\n'
                        "# TYPE ai_ninja_degraded gauge\n"
                        f'ai_ninja_degraded{{service="{app}"}} 0\n'
                    )
                    self._reply(200, text.encode(), "text/plain; version=0.0.4")
                else:
                    self._reply(404, b'{"detail": "Not Found"}')

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self._reply(404, b'{"detail": "Not Found"}')

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.scrapes = 0
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> _PodServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class ServiceProxy:
    """kube-proxy's job on loopback: ``/<namespace>/<service>/<port>/<path>`` goes to a ready endpoint of the
    Service, as the real endpoints controller lists them (so selector switches and readiness route as in a cluster).

    Point the responder at it with KUBE_SERVICE_URL_TEMPLATE=:attr:`url_template`.
    """

    def __init__(self, cluster: KubeCluster, simulator: PodSimulator) -> None:
        self.port = free_port()
        client = cluster.client()
        turn = itertools.count()

        class Handler(BaseHTTPRequestHandler):
            def _forward(self, method: str) -> None:
                parts = self.path.lstrip("/").split("/", 3)
                if len(parts) < 3:
                    self.send_error(404)
                    return
                namespace, service, rest = parts[0], parts[1], "/" + (parts[3] if len(parts) > 3 else "")
                try:
                    endpoints = client.get(Endpoints, service, namespace=namespace)
                except ApiError:
                    endpoints = None
                ips = [a.ip for s in (endpoints.subsets if endpoints else None) or [] for a in s.addresses or []]
                targets = [t for t in (simulator.address_of(ip) for ip in ips) if t]
                if not targets:
                    self.send_error(503, "no ready endpoints")  # kube-proxy rejects: nothing behind the Service
                    return
                target = targets[next(turn) % len(targets)]
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)) if method == "POST" else None
                request = urllib.request.Request(f"http://{target}{rest}", data=body, method=method)
                if body is not None:
                    request.add_header("Content-Type", self.headers.get("Content-Type", "application/json"))
                try:
                    with urllib.request.urlopen(request, timeout=5) as response:
                        status, payload, kind = response.status, response.read(), response.headers.get("Content-Type")
                except urllib.error.HTTPError as error:
                    status, payload, kind = error.code, error.read(), error.headers.get("Content-Type")
                except OSError:
                    self.send_error(502)
                    return
                self.send_response(status)
                self.send_header("Content-Type", kind or "application/octet-stream")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self) -> None:
                self._forward("GET")

            def do_POST(self) -> None:
                self._forward("POST")

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url_template(self) -> str:
        return f"http://127.0.0.1:{self.port}/{{namespace}}/{{service}}/{{port}}"

    def start(self) -> ServiceProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


_shared: tuple[KubeCluster, PodSimulator, ServiceProxy] | None = None


def shared_cluster() -> tuple[KubeCluster, PodSimulator, ServiceProxy]:
    """One control plane per test process, whichever test directory asks first (it takes ~5 s to start)."""
    global _shared
    if _shared is None:
        import atexit
        import tempfile

        cluster = KubeCluster(Path(tempfile.mkdtemp(prefix="answer-ninja-kube-"))).start()
        try:
            simulator = PodSimulator(cluster).start()
            proxy = ServiceProxy(cluster, simulator).start()
        except Exception:
            cluster.stop()
            raise
        _shared = (cluster, simulator, proxy)

        def _stop() -> None:
            proxy.stop()
            simulator.stop()
            cluster.stop()
            shutil.rmtree(cluster.directory, ignore_errors=True)

        atexit.register(_stop)
    return _shared


REPO = Path(__file__).resolve().parents[2]
OVERLAY = REPO / "deploy" / "k8s" / "overlays" / "api-1.20"


def rendered_manifests(overlay: Path = OVERLAY) -> list[dict[str, Any]]:
    """``kubectl kustomize <overlay>`` as a list of objects."""
    out = subprocess.run(["kubectl", "kustomize", str(overlay)], check=True, capture_output=True, text=True, timeout=60)
    return [doc for doc in yaml.safe_load_all(out.stdout) if doc]


def manifests_for_namespace(namespace: str, *, apps: set[str] | None = None) -> list[dict[str, Any]]:
    """The base, moved into ``namespace`` (so tests do not share state), optionally only some apps' workloads.

    Cluster-scoped objects (the nodes ClusterRole/Binding) are left out: the shared ``ai-ninja`` apply owns them.
    """
    docs = []
    for doc in rendered_manifests():
        kind, meta = doc["kind"], doc["metadata"]
        if kind in ("ClusterRole", "ClusterRoleBinding"):
            continue
        if kind == "Namespace":
            meta["name"] = namespace
        else:
            meta["namespace"] = namespace
        for subject in doc.get("subjects", []):
            subject["namespace"] = namespace
        app = (meta.get("labels") or {}).get("app") or doc.get("spec", {}).get("scaleTargetRef", {}).get("name")
        if (
            apps is not None
            and kind not in ("Namespace", "ConfigMap", "Secret", "ServiceAccount", "Role", "RoleBinding")
            and app not in apps
        ):
            continue
        docs.append(doc)
    return docs


def apply(cluster: KubeCluster, docs: list[dict[str, Any]]) -> None:
    """``kubectl apply -f -`` of these objects."""
    subprocess.run(
        ["kubectl", f"--kubeconfig={cluster.kubeconfig}", "apply", "-f", "-"],
        input=yaml.safe_dump_all(docs),
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
