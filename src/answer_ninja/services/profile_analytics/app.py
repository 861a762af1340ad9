"""profile-analytics (port 3004): Caller profiles that learn from every call; call summaries and statistics."""

from __future__ import annotations

from fastapi import FastAPI

from answer_ninja.platform.app_factory import ServiceContext, ServiceSpec, create_service_app
from answer_ninja.platform.settings import Settings
from answer_ninja.services.profile_analytics.views import router
from answer_ninja.services.user_management.keys import secret_bytes

SPEC = ServiceSpec(
    name="profile-analytics",
    port=3004,
    description="Caller profiles that learn from every call; call summaries and statistics.",
    uses_database=True,
    uses_cache=True,
    calls=(),
    soft_calls=(),
)


def configure(app: FastAPI, ctx: ServiceContext) -> None:
    """Add this service's routes. The platform endpoints come from the app factory."""
    for name in ("jwt_secret", "profile_hash_secret"):
        secret_bytes(ctx, name)  # resolve now, so a missing secret shows as degraded from the start
    app.include_router(router)


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(SPEC, settings=settings, configure=configure)
