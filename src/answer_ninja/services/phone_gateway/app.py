"""phone-gateway (port 3001): receives calls from the carriers and decides: transfer, reject or AI."""

from __future__ import annotations

from fastapi import FastAPI

from answer_ninja.platform.app_factory import ServiceContext, ServiceSpec, create_service_app
from answer_ninja.platform.settings import Settings

SPEC = ServiceSpec(
    name="phone-gateway",
    port=3001,
    description="Receives calls from the carriers and decides: transfer, reject or AI.",
    uses_database=True,
    uses_cache=True,
    # Routing decides from cache when these are unreachable, so they never make the gateway unready.
    calls=("user-management", "profile-analytics"),
    soft_calls=("user-management", "profile-analytics"),
)


def configure(app: FastAPI, ctx: ServiceContext) -> None:
    """Add this service's routes. The platform endpoints come from the app factory."""


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(SPEC, settings=settings, configure=configure)
