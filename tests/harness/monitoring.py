"""Real Prometheus and Alertmanager (Debian's packages) on free loopback ports, configured from deploy/.

The configurations are the repository's own, with only what cannot work on one machine swapped: targets come
from a file (Debian's Prometheus has no kubernetes_sd; the file carries the same ``__meta_kubernetes_*`` labels),
receivers point at local URLs, and the intervals are shortened where a test would otherwise wait.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

from tests.harness.credentials import ALERTMANAGER_TOKEN, OPERATOR_TOKEN, operator_headers
from tests.harness.kube import REPO
from tests.harness.servers import free_port, wait_for_port

RULES = REPO / "deploy" / "prometheus" / "rules" / "ai-ninja.rules.yml"
PROMETHEUS_CONFIG = REPO / "deploy" / "prometheus" / "prometheus.yml"
ALERTMANAGER_CONFIG = REPO / "deploy" / "alertmanager" / "alertmanager.yml"


def _binary(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise RuntimeError(f"{name} is not installed (scripts/system-packages.txt; make system-deps)")
    return found


def wait_for(check: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll ``check`` until it returns something truthy; return that, or fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"{what}: not within {timeout}s")


def _get_json(url: str, headers: dict[str, str] | None = None) -> Any:
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


class _Process:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _spawn(self, argv: list[str], name: str) -> None:
        log = (self.directory / f"{name}.log").open("wb")
        self.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_for_port(self.port, timeout=30)
        # Both answer 503 on /-/ready until their storage is open; queries before that fail.
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(self.url + "/-/ready", timeout=2):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
            self.process = None


class AlertmanagerServer(_Process):
    """deploy/alertmanager/alertmanager.yml with the responder webhook and the Slack URL pointed at local ones."""

    def __init__(
        self,
        directory: Path,
        *,
        responder_url: str,
        slack_url: str,
        group_interval: str = "2s",
        alertmanager_token: str = ALERTMANAGER_TOKEN,
    ) -> None:
        super().__init__(directory)
        config = yaml.safe_load(ALERTMANAGER_CONFIG.read_text())
        # Resolved notifications wait for the next group_interval flush (30 s in production).
        config["route"]["group_interval"] = group_interval
        token_file = directory / "alertmanager-token"
        token_file.write_text(alertmanager_token)
        for receiver in config["receivers"]:
            for hook in receiver.get("webhook_configs", []):
                hook["url"] = responder_url
                # deploy/'s credentials_file points at the mounted Secret; here, at the test's own token file.
                hook["http_config"]["authorization"]["credentials_file"] = str(token_file)
            for slack in receiver.get("slack_configs", []):
                secret = directory / "slack-webhook-url"
                secret.write_text(slack_url)
                slack["api_url_file"] = str(secret)
        self.config = directory / "alertmanager.yml"
        self.config.write_text(yaml.safe_dump(config))

    def start(self) -> AlertmanagerServer:
        self._spawn(
            [
                _binary("prometheus-alertmanager"),
                f"--config.file={self.config}",
                f"--storage.path={self.directory / 'am-data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--cluster.listen-address=",
            ],
            "alertmanager",
        )
        return self

    def alerts(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = _get_json(self.url + "/api/v2/alerts")
        return found

    def post_alerts(self, alerts: list[dict[str, Any]]) -> None:
        request = urllib.request.Request(self.url + "/api/v2/alerts", data=json.dumps(alerts).encode(), method="POST")
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=5):
            pass


class PrometheusServer(_Process):
    """deploy/prometheus/prometheus.yml's scrape job and relabelling, with targets from a file_sd file."""

    def __init__(self, directory: Path, *, alertmanager_url: str, interval: str = "1s") -> None:
        super().__init__(directory)
        self.targets = directory / "pods.json"
        self.targets.write_text("[]")
        config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
        config["global"]["scrape_interval"] = interval
        config["global"]["evaluation_interval"] = interval
        config["rule_files"] = [str(RULES)]
        host = alertmanager_url.removeprefix("http://")
        config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [host]}]}]}
        job = config["scrape_configs"][0]
        del job["kubernetes_sd_configs"]
        job["file_sd_configs"] = [{"files": [str(self.targets)], "refresh_interval": interval}]
        self.config = directory / "prometheus.yml"
        self.config.write_text(yaml.safe_dump(config))

    def start(self) -> PrometheusServer:
        self._spawn(
            [
                _binary("prometheus"),
                f"--config.file={self.config}",
                f"--storage.tsdb.path={self.directory / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ],
            "prometheus",
        )
        return self

    def query(self, expr: str) -> list[dict[str, Any]]:
        url = self.url + "/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        body = _get_json(url)
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def firing(self, alertname: str) -> list[dict[str, Any]]:
        alerts = _get_json(self.url + "/api/v1/alerts")["data"]["alerts"]
        return [a for a in alerts if a["labels"]["alertname"] == alertname and a["state"] == "firing"]


class WebhookRecorder:
    """Records every JSON POST (Slack's incoming webhook, or a tap in front of the responder) and optionally
    forwards it to ``forward_to``, answering with that server's status."""

    def __init__(self, forward_to: str | None = None) -> None:
        self.received: list[tuple[float, dict[str, Any], int]] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status = 200
                if forward_to is not None:
                    request = urllib.request.Request(forward_to, data=body, method="POST")
                    request.add_header("Content-Type", "application/json")
                    # Alertmanager's credential (http_config.authorization) goes on to the responder as it came.
                    if self.headers.get("Authorization"):
                        request.add_header("Authorization", self.headers["Authorization"])
                    try:
                        with urllib.request.urlopen(request, timeout=10) as response:
                            status = response.status
                    except urllib.error.HTTPError as error:
                        status = error.code
                    except OSError:
                        status = 502
                with contextlib.suppress(ValueError):
                    recorder.received.append((time.monotonic(), json.loads(body), status))
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> WebhookRecorder:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()


class TargetsWriter:
    """Keeps Prometheus's file_sd targets in step with the pods of a namespace (kubernetes_sd's job)."""

    def __init__(self, write: Any, interval: float = 0.5) -> None:
        self._write = write
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(Exception):  # a transient API error: the next round writes again
                self._write()
            self._stop.wait(self._interval)

    def __enter__(self) -> TargetsWriter:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


@dataclass
class AlertingPipeline:
    """Pods -> Prometheus (our rules) -> Alertmanager (our routes) -> the responder service on Kubernetes."""

    prometheus: PrometheusServer
    alertmanager: AlertmanagerServer
    responder_url: str
    responder_tap: WebhookRecorder  # what Alertmanager POSTed to the responder, and the responder's answer
    slack: WebhookRecorder

    def incidents(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = _get_json(self.responder_url + "/incidents", operator_headers())
        return found

    def notifications(self, alertname: str, status: str) -> list[float]:
        """When the responder's webhook got ``alertname`` in state ``status`` (monotonic times)."""
        return [
            at
            for at, payload, _ in self.responder_tap.received
            if any(a["labels"].get("alertname") == alertname and a["status"] == status for a in payload["alerts"])
        ]


@contextlib.contextmanager
def alerting_pipeline(
    directory: Path, *, namespace: str, kubeconfig: Path, service_url_template: str, write_targets: Any
) -> Iterator[AlertingPipeline]:
    """Start everything on free ports. The responder runs as its own service process (``answer_ninja.platform.
    server responder``) with RESPONDER_PLATFORM=kubernetes; its probes confirm slowly on purpose, so the alert
    path (ServiceDown -> webhook) is what opens the incident."""
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = {
        **os.environ,
        "RESPONDER_PLATFORM": "kubernetes",
        "KUBECONFIG": str(kubeconfig),
        "KUBE_NAMESPACE": namespace,
        "KUBE_SERVICE_URL_TEMPLATE": service_url_template,
        "DATA_DIR": str(directory / "responder-data"),
        "DATABASE_URL": f"sqlite+aiosqlite:///{directory / 'responder.db'}",
        "RESPONDER_PROBE_INTERVAL_SECONDS": "1",
        "RESPONDER_FAILURES_TO_CONFIRM": "100",
        "RESPONDER_FAILURE_WINDOW_SECONDS": "3600",
        "RESPONDER_READY_TIMEOUT_SECONDS": "30",
        "RESPONDER_SYNTHETIC_CALL": "false",
        "SHUTDOWN_GRACE_SECONDS": "2",
        "OPERATOR_TOKEN": OPERATOR_TOKEN,  # the incidents are the operator's to read
        "ALERTMANAGER_TOKEN": ALERTMANAGER_TOKEN,  # what Alertmanager sends to /alerts
    }
    for name in ("REDIS_URL", "LLM_BASE_URL", "SLACK_WEBHOOK_URL", "PROMETHEUS_URL"):
        env.pop(name, None)
    log = (directory / "responder.log").open("wb")
    responder = subprocess.Popen(
        [sys.executable, "-m", "answer_ninja.platform.server", "responder", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    responder_url = f"http://127.0.0.1:{port}"
    stack = contextlib.ExitStack()
    try:
        wait_for_port(port, timeout=60)
        tap = stack.enter_context(WebhookRecorder(forward_to=responder_url + "/alerts"))
        slack = stack.enter_context(WebhookRecorder())
        alertmanager = AlertmanagerServer(directory, responder_url=tap.url, slack_url=slack.url).start()
        stack.callback(alertmanager.stop)
        prometheus = PrometheusServer(directory, alertmanager_url=alertmanager.url)
        stack.enter_context(TargetsWriter(lambda: write_targets(prometheus.targets)))
        prometheus.start()
        stack.callback(prometheus.stop)
        yield AlertingPipeline(prometheus, alertmanager, responder_url, tap, slack)
    finally:
        stack.close()
        responder.terminate()
        try:
            responder.wait(timeout=15)
        except subprocess.TimeoutExpired:
            responder.kill()
            responder.wait(timeout=5)
