"""Graceful shutdown: on SIGTERM a service stops accepting, finishes in-flight requests, then exits."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import threading
import time
import urllib.error
import urllib.request

import pytest

from tests.harness.servers import free_port, wait_for_port

pytestmark = pytest.mark.integration

SLOW_SERVICE = textwrap.dedent(
    """
    import asyncio, sys
    from fastapi import Depends
    from answer_ninja.platform.app_factory import ServiceSpec, create_service_app
    from answer_ninja.platform.auth.rules import public
    from answer_ninja.platform.server import serve_app
    from answer_ninja.platform.settings import load_settings

    def configure(app, ctx):
        @app.get("/slow", dependencies=[Depends(public("a test route"))])
        async def slow() -> dict:
            await asyncio.sleep(1.5)
            return {"finished": True}

    settings = load_settings(shutdown_grace_seconds=5)
    spec = ServiceSpec(name="slow", port=0, description="graceful shutdown test")
    serve_app(create_service_app(spec, settings=settings, configure=configure), settings, port=int(sys.argv[1]))
    """
)


def test_sigterm_finishes_in_flight_requests_then_exits() -> None:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-c", SLOW_SERVICE, str(port)], stdout=subprocess.DEVNULL)
    try:
        wait_for_port(port, timeout=20)
        result: dict[str, object] = {}

        def call_slow() -> None:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/slow", timeout=10) as response:
                result["status"] = response.status
                result["body"] = response.read()

        caller = threading.Thread(target=call_slow)
        caller.start()
        time.sleep(0.5)  # the request is in flight
        process.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        with pytest.raises(urllib.error.URLError):  # no longer accepting
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2)
        caller.join(timeout=10)
        assert result == {"status": 200, "body": b'{"finished":true}'}
        # uvicorn re-raises the signal once drained, so the exit status reports SIGTERM, as a container's would.
        assert process.wait(timeout=10) in (0, -signal.SIGTERM)
    finally:
        if process.poll() is None:
            process.kill()
