"""Run ``answer-ninja up`` as a real subprocess on free ports, for tests that need the whole local stack."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar

from answer_ninja.catalogue import SERVICES
from tests.harness.credentials import SECRETS, operator_headers, supervisor_headers
from tests.harness.servers import free_port


def default_headers(url: str) -> dict[str, str]:
    """The supervisor's token for its control API (any LocalStack's), the operator's token elsewhere."""
    if any(url.startswith(base + "/") or url == base for base in LocalStack.supervisor_urls):
        return supervisor_headers()
    return operator_headers()


class LocalStack:
    """``answer-ninja up`` in a scratch data directory, every port chosen free, so tests never collide."""

    # Control API addresses of the stacks running in this process (the helpers send them the supervisor's token).
    # Only running ones: a stopped stack's port is free again and may be a later stack's service port.
    supervisor_urls: ClassVar[set[str]] = set()

    def __init__(
        self,
        data_dir: Path,
        *,
        services: Iterable[str] | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.services = list(services or SERVICES)
        self.ports = {name: free_port() for name in SERVICES}
        self.supervisor_port = free_port()
        self.env = {
            **os.environ,
            "DATA_DIR": str(data_dir),
            "DATABASE_URL": f"sqlite+aiosqlite:///{data_dir / 'answer_ninja.db'}",
            "SUPERVISOR_PORT": str(self.supervisor_port),
            "SHUTDOWN_GRACE_SECONDS": "3",
            "LOG_JSON": "true",
            **{name.upper(): value for name, value in SECRETS.items()},
            **{f"{name.upper().replace('-', '_')}_URL": self.url(name) for name in SERVICES},
            **(env or {}),
        }
        if "REDIS_URL" not in (env or {}):
            self.env.pop("REDIS_URL", None)  # the embedded default, whatever the developer's shell says
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    @property
    def supervisor_url(self) -> str:
        return f"http://127.0.0.1:{self.supervisor_port}"

    def start(self, timeout: float = 60.0) -> LocalStack:
        argv = [sys.executable, "-m", "answer_ninja", "up"]
        for name in self.services:
            argv += ["--service", name]
        self.data_dir.mkdir(parents=True, exist_ok=True)
        LocalStack.supervisor_urls.add(self.supervisor_url)
        self.process = subprocess.Popen(
            argv,
            env=self.env,
            stdout=(self.data_dir / "up.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        pending = set(self.services)
        while pending and time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"answer-ninja up exited: {self.log_tail()}")
            for name in list(pending):
                if self.get(self.url(name) + "/ready")[0] == 200:
                    pending.discard(name)
            time.sleep(0.1)
        if pending:
            raise TimeoutError(f"not ready after {timeout}s: {sorted(pending)}\n{self.log_tail()}")

    def stop(self) -> None:
        if self.process is None:
            return
        LocalStack.supervisor_urls.discard(self.supervisor_url)
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def log_tail(self, lines: int = 40) -> str:
        path = self.data_dir / "up.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    # --- tiny blocking HTTP helpers (tests stay synchronous and readable); they send the operator's token (the
    # supervisor's to its control API) unless told otherwise (``headers={}`` for an anonymous caller) ---
    @staticmethod
    def get(url: str, timeout: float = 2.0, headers: dict[str, str] | None = None) -> tuple[int, Any]:
        request = urllib.request.Request(url, headers=default_headers(url) if headers is None else headers)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")
        except (urllib.error.URLError, OSError):
            return 0, None

    @staticmethod
    def post(
        url: str, body: Any = None, timeout: float = 30.0, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else b""
        sent = {"content-type": "application/json", **(default_headers(url) if headers is None else headers)}
        request = urllib.request.Request(url, data=data, method="POST", headers=sent)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    @staticmethod
    def patch(url: str, body: Any, timeout: float = 10.0) -> tuple[int, Any]:
        request = urllib.request.Request(
            url,
            data=json.dumps(body).encode(),
            method="PATCH",
            headers={"content-type": "application/json", **default_headers(url)},
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())

    def logs(self, name: str, tail: int = 200) -> list[str]:
        status, body = self.get(f"{self.supervisor_url}/services/{name}/logs?tail={tail}")
        assert status == 200, body
        return list(body["lines"])

    def service_status(self, name: str) -> dict[str, Any]:
        status, body = self.get(f"{self.supervisor_url}/services/{name}")
        assert status == 200, body
        result: dict[str, Any] = body
        return result
