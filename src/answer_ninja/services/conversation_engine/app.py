"""conversation-engine (port 3003): Understands the caller and answers in a persona; decides when to hang up."""

from __future__ import annotations

from fastapi import FastAPI

from answer_ninja.platform.app_factory import ServiceContext, ServiceSpec, create_service_app
from answer_ninja.platform.settings import Settings

SPEC = ServiceSpec(
    name="conversation-engine",
    port=3003,
    description="Understands the caller and answers in a persona; decides when to hang up.",
    uses_database=False,
    uses_cache=True,
    calls=(),
    soft_calls=(),
)


def configure(app: FastAPI, ctx: ServiceContext) -> None:
    """Add this service's routes. The platform endpoints come from the app factory."""


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(SPEC, settings=settings, configure=configure)
