"""user-management (port 3005): Users, authentication, hosted numbers, whitelists and preferences."""

from __future__ import annotations

from fastapi import FastAPI

from answer_ninja.platform.app_factory import ServiceContext, ServiceSpec, create_service_app
from answer_ninja.platform.auth.keys import secret_bytes
from answer_ninja.platform.settings import Settings
from answer_ninja.services.user_management import notification_views, password_reset_views
from answer_ninja.services.user_management.accounts import passwords_of
from answer_ninja.services.user_management.body_limit import BodyLimitMiddleware
from answer_ninja.services.user_management.numbers import router as numbers_router
from answer_ninja.services.user_management.views import router

# Room for the JSON around an imported file's text (the largest body this service takes).
BODY_OVERHEAD_BYTES = 64 * 1024

SPEC = ServiceSpec(
    name="user-management",
    port=3005,
    description="Users, authentication, hosted numbers, whitelists and preferences.",
    uses_database=True,
    uses_cache=True,
    calls=(),
    soft_calls=(),
)


async def _prepare_passwords(ctx: ServiceContext) -> None:
    # The dummy hash unknown emails are checked against, made before the first sign-in (so the first one for an
    # unknown email costs what any other does).
    await passwords_of(ctx).dummy_hash()


async def _close_passwords(ctx: ServiceContext) -> None:
    passwords_of(ctx).close()


def configure(app: FastAPI, ctx: ServiceContext) -> None:
    """Add this service's routes. The platform endpoints come from the app factory."""
    secret_bytes(ctx, "jwt_secret")  # resolve now, so a missing secret shows as degraded from the start
    app.add_middleware(BodyLimitMiddleware, max_bytes=ctx.settings.whitelist_import_max_bytes + BODY_OVERHEAD_BYTES)
    ctx.on_startup.append(_prepare_passwords)
    ctx.on_shutdown.append(_close_passwords)
    app.include_router(router)
    app.include_router(numbers_router)
    app.include_router(notification_views.router)  # where call summaries go (the console's settings page)
    app.include_router(password_reset_views.router)  # forgotten passwords


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(SPEC, settings=settings, configure=configure)
