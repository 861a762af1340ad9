"""user-management (port 3005): Users, authentication, hosted numbers, whitelists and preferences."""

from __future__ import annotations

from fastapi import FastAPI

from answer_ninja.platform.app_factory import ServiceContext, ServiceSpec, create_service_app
from answer_ninja.platform.auth.keys import secret_bytes
from answer_ninja.platform.settings import Settings
from answer_ninja.services.user_management import notification_views
from answer_ninja.services.user_management.views import router

SPEC = ServiceSpec(
    name="user-management",
    port=3005,
    description="Users, authentication, hosted numbers, whitelists and preferences.",
    uses_database=True,
    uses_cache=True,
    calls=(),
    soft_calls=(),
)


def configure(app: FastAPI, ctx: ServiceContext) -> None:
    """Add this service's routes. The platform endpoints come from the app factory."""
    secret_bytes(ctx, "jwt_secret")  # resolve now, so a missing secret shows as degraded from the start
    app.include_router(router)
    app.include_router(notification_views.router)  # where call summaries go (the console's settings page)


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(SPEC, settings=settings, configure=configure)
