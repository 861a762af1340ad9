"""Run one service app under uvicorn with the platform's logging and graceful shutdown.

``python -m answer_ninja.platform.server <service> [--port N]`` is the lean entry the supervisor (and the container
image) uses: it skips the CLI and its command modules, so a service process loads only what it serves.
"""

from __future__ import annotations

import argparse
import importlib
import math
import sys

import uvicorn
from fastapi import FastAPI
from starlette.routing import WebSocketRoute

from answer_ninja.catalogue import entry_for
from answer_ninja.errors import ConfigurationError
from answer_ninja.platform.logging import configure_logging
from answer_ninja.platform.settings import Settings, load_settings


def build_app(name: str, settings: Settings) -> FastAPI:
    """The app of service ``name``, its module imported only now (by name, from the catalogue), so a process
    loads only the service it serves and the platform layer never imports ``services/``."""
    module = importlib.import_module(entry_for(name).module)
    app: FastAPI = module.create_app(settings)
    return app


def serve(name: str, settings: Settings, *, port: int | None = None) -> None:
    """Serve ``name`` until SIGTERM/SIGINT: stop accepting, finish in-flight work up to the grace period."""
    configure_logging(level=settings.log_level, json=settings.log_json, service=name)
    serve_app(build_app(name, settings), settings, port=port or settings.service_port(name))


def serve_app(app: FastAPI, settings: Settings, *, port: int) -> None:
    """Serve a built app on ``port``; on SIGTERM finish in-flight requests for up to the grace period."""
    # Load a WebSocket implementation only for services that have WebSocket routes (memory per process).
    has_websockets = any(isinstance(route, WebSocketRoute) for route in app.routes)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=port,
        log_config=None,  # our structlog handlers, installed above
        timeout_graceful_shutdown=math.ceil(settings.shutdown_grace_seconds),
        access_log=False,
        lifespan="on",
        ws="auto" if has_websockets else "none",
        # Media streams carry base64 audio, which deflate cannot shrink: compressing 50 messages a second per call
        # only costs CPU on both ends (measured in bench/voice_bench.py capacity). Declining is always valid.
        ws_per_message_deflate=False,
        # X-Forwarded-For is believed only from the proxies named in FORWARDED_ALLOW_IPS; unset, from nobody (uvicorn
        # would otherwise believe any local process, which could then pose as any address to the sign-in throttle).
        proxy_headers=settings.forwarded_allow_ips is not None,
        forwarded_allow_ips=settings.forwarded_allow_ips or "",
    )
    uvicorn.Server(config).run()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="answer_ninja.platform.server", description="Run one service.")
    parser.add_argument("service")
    parser.add_argument("--port", type=int, default=None)
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except ConfigurationError as error:
        print(f"error: {error}", file=sys.stderr)  # one line naming the variable; no traceback
        raise SystemExit(2) from None
    serve(args.service, settings, port=args.port)


if __name__ == "__main__":
    main()
