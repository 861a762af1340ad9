"""profile-analytics (port 3004): Caller profiles that learn from every call; call summaries and statistics."""

from __future__ import annotations

import asyncio
import contextlib

from fastapi import FastAPI

from answer_ninja.platform.app_factory import ServiceContext, ServiceSpec, create_service_app
from answer_ninja.platform.auth.keys import secret_bytes
from answer_ninja.platform.cache import RedisCache
from answer_ninja.platform.logging import get_logger
from answer_ninja.platform.settings import Settings
from answer_ninja.services.phone_gateway.cache_keys import PROFILES_COMPLETE_KEY
from answer_ninja.services.profile_analytics import call_views, service
from answer_ninja.services.profile_analytics.views import router

log = get_logger(__name__)

SPEC = ServiceSpec(
    name="profile-analytics",
    port=3004,
    description="Caller profiles that learn from every call; call summaries and statistics.",
    uses_database=True,
    uses_cache=True,
    calls=(),
    soft_calls=(),
)


# How often the Redis copy of the profiles is checked (a restarted Redis has lost it and gets it again).
PROFILE_COPY_CHECK_SECONDS = 30.0


async def keep_profiles_in_cache(ctx: ServiceContext) -> None:
    """Run until cancelled: whenever Redis lacks the complete copy of the profiles, make it."""
    cache = ctx.require_cache()
    while True:
        try:
            if await cache.get_json(PROFILES_COMPLETE_KEY) is None:
                async with ctx.require_database().session() as session:
                    copied = await service.copy_profiles_to_cache(session, cache)
                log.info("profiles_copied_to_cache", profiles=copied)
        except Exception as error:  # Redis or the database away: phone-gateway asks us over HTTP meanwhile
            log.warning("profile_copy_failed", error=type(error).__name__)
        await asyncio.sleep(PROFILE_COPY_CHECK_SECONDS)


async def _start_profile_copy(ctx: ServiceContext) -> None:
    if isinstance(ctx.require_cache(), RedisCache):  # only a shared cache helps phone-gateway
        ctx.extras["profile_copy"] = asyncio.create_task(keep_profiles_in_cache(ctx), name="profile-copy")


async def _stop_profile_copy(ctx: ServiceContext) -> None:
    task = ctx.extras.pop("profile_copy", None)
    if isinstance(task, asyncio.Task):
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def configure(app: FastAPI, ctx: ServiceContext) -> None:
    """Add this service's routes. The platform endpoints come from the app factory."""
    for name in ("jwt_secret", "profile_hash_secret"):
        secret_bytes(ctx, name)  # resolve now, so a missing secret shows as degraded from the start
    ctx.on_startup.append(_start_profile_copy)
    ctx.on_shutdown.append(_stop_profile_copy)
    app.include_router(router)
    app.include_router(call_views.router)  # a person's own calls and daily statistics (the console's pages)


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(SPEC, settings=settings, configure=configure)
