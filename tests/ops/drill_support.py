"""What the drill tests and the benchmark share: a fast-probing stack, a Slack recorder, dependency switches."""

from __future__ import annotations

import asyncio
import json
import shlex
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from answer_ninja.ops.drills import DrillResult, Hook, run_drill
from answer_ninja.ops.platforms.local import LocalPlatform
from answer_ninja.platform.settings import load_settings
from tests.harness.credentials import SUPERVISOR_TOKEN, operator_headers
from tests.harness.servers import PostgresServer, _pg_bin, free_port
from tests.harness.stack import LocalStack

# Probe every 0.5 s, 3 failures to confirm: detection in ~1.5 s, as the MTTD goal (< 10 s) needs.
FAST_RESPONDER = {
    "RESPONDER_PROBE_INTERVAL_SECONDS": "0.5",
    "RESPONDER_PROBE_TIMEOUT_SECONDS": "1",
    "RESPONDER_FAILURES_TO_CONFIRM": "3",
    "RESPONDER_READY_TIMEOUT_SECONDS": "30",
    "DEPENDENCY_TIMEOUT_SECONDS": "1",
}
DRILL_SERVICES = ["phone-gateway", "conversation-engine", "responder"]


class ProviderStandIn:
    """An HTTP listener standing in for the LLM provider's /v1/models: up or down on demand."""

    def __init__(self) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                payload = json.dumps({"object": "list", "data": [{"id": "smollm2", "object": "model"}]}).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *_: object) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def pg_ctl_command(server: PostgresServer, action: str) -> str:
    argv = [_pg_bin("pg_ctl"), "-D", str(server.data), "-m", "fast", "-w", action]
    if action == "start":
        options = f"-p {server.port} -k {server.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        argv = [
            _pg_bin("pg_ctl"),
            "-D",
            str(server.data),
            "-o",
            options,
            "-l",
            str(server.directory / "log"),
            "-w",
            "start",
        ]
    if server.as_root:
        argv = ["su", "postgres", "-s", "/bin/sh", "-c", shlex.join(argv)]
    return shlex.join(argv)


def hook(function: Any) -> Hook:
    async def run() -> None:
        await asyncio.to_thread(function)

    return run


@contextmanager
def drill_stack(
    data_dir: Path, env: dict[str, str] | None = None, services: list[str] | None = None
) -> Iterator[LocalStack]:
    with LocalStack(data_dir, services=services or DRILL_SERVICES, env={**FAST_RESPONDER, **(env or {})}) as stack:
        yield stack


def drill(stack: LocalStack, fault: str, **kwargs: Any) -> DrillResult:
    """Run one drill against ``stack`` from this (test) process, as `answer-ninja drill` does."""
    settings = load_settings(supervisor_port=stack.supervisor_port, supervisor_token=SUPERVISOR_TOKEN)

    async def run() -> DrillResult:
        platform = LocalPlatform(settings, supervisor_url=stack.supervisor_url)
        try:
            # Wait until the responder has seen everything healthy once (it records the known-good config then).
            for _ in range(100):
                status, _body = stack.get(stack.url("responder") + "/ready")
                if status == 200:
                    break
                await asyncio.sleep(0.1)
            await asyncio.sleep(1.0)
            return await run_drill(
                fault,
                platform=platform,
                responder_url=stack.url("responder"),
                responder_headers=operator_headers(),
                timeout=60,
                **kwargs,
            )
        finally:
            await platform.close()

    return asyncio.run(run())


def audit(stack: LocalStack) -> list[dict[str, Any]]:
    status, body = stack.get(stack.url("responder") + "/audit")
    assert status == 200, body
    result: list[dict[str, Any]] = body
    return result
