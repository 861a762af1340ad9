"""Run one service app under uvicorn with the platform's logging and graceful shutdown."""

from __future__ import annotations

import math

import uvicorn

from answer_ninja.platform.logging import configure_logging
from answer_ninja.platform.settings import Settings
from answer_ninja.services.registry import build_app, port_for


def serve(name: str, settings: Settings, *, port: int | None = None) -> None:
    """Serve ``name`` until SIGTERM/SIGINT: stop accepting, finish in-flight work up to the grace period."""
    configure_logging(level=settings.log_level, json=settings.log_json, service=name)
    app = build_app(name, settings)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=port or port_for(name, settings),
        log_config=None,  # our structlog handlers, installed above
        timeout_graceful_shutdown=math.ceil(settings.shutdown_grace_seconds),
        access_log=False,
        lifespan="on",
    )
    uvicorn.Server(config).run()
