"""phone-gateway (port 3001): receives calls from the carriers and decides: transfer, reject or AI."""

from __future__ import annotations

import asyncio
import contextlib

from fastapi import FastAPI

from answer_ninja.platform.app_factory import ServiceContext, ServiceSpec, create_service_app
from answer_ninja.platform.auth.keys import secret_bytes
from answer_ninja.platform.cache import RedisCache
from answer_ninja.platform.logging import get_logger
from answer_ninja.platform.settings import Settings
from answer_ninja.services.phone_gateway import carrier_auth, fallback, fallback_views, flows, invalidation, takeover
from answer_ninja.services.phone_gateway.views import router
from answer_ninja.telephony.acs_events import AcsCallControl

log = get_logger(__name__)

SPEC = ServiceSpec(
    name="phone-gateway",
    port=3001,
    description="Receives calls from the carriers and decides: transfer, reject or AI.",
    uses_database=True,
    uses_cache=True,
    # Routing decides from cache when these are unreachable, so they never make the gateway unready; without
    # realtime-processor AI calls go to the person's fallback (fallback.py): /ready warns, calls still flow.
    calls=("user-management", "profile-analytics", "realtime-processor"),
    soft_calls=("user-management", "profile-analytics", "realtime-processor"),
)


async def _start_acs(ctx: ServiceContext) -> None:
    secret = ctx.settings.acs_connection_string
    if secret is not None and secret.get_secret_value():
        speech = ctx.settings.acs_cognitive_services_endpoint
        ctx.extras["acs_control"] = AcsCallControl(secret.get_secret_value(), cognitive_services_endpoint=speech)


async def _stop_acs(ctx: ServiceContext) -> None:
    control = ctx.extras.pop("acs_control", None)
    if isinstance(control, AcsCallControl):
        await control.close()


async def _start_routing(ctx: ServiceContext) -> None:
    flows.record_writer_of(ctx).start()
    cache = ctx.require_cache()
    if isinstance(cache, RedisCache):
        local = flows.directory_of(ctx).local
        ctx.extras["invalidation_listener"] = asyncio.create_task(
            invalidation.listen(cache, drop=local.drop, drop_all=local.drop_all), name="routing-invalidations"
        )


async def _stop_routing(ctx: ServiceContext) -> None:
    listener = ctx.extras.pop("invalidation_listener", None)
    if isinstance(listener, asyncio.Task):
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listener
    await flows.record_writer_of(ctx).stop()


def _announce_carriers(ctx: ServiceContext) -> None:
    """Which carriers' webhooks are open (/health and /ready details, `answer-ninja status`), said loudly.

    A carrier that is not configured does not make the gateway unready: a deployment uses one carrier, and the
    others must simply stay shut. With none configured no call can come in, which is a degradation worth seeing.
    """
    states = carrier_auth.carrier_states(ctx.settings)
    ctx.health.details["carriers"] = states
    for carrier, state in states.items():
        if state != "configured":
            log.info("carrier_not_configured", carrier=carrier, state=state)
    if ctx.settings.carrier_loopback_dev:
        log.warning("carrier_loopback_dev_enabled", carriers=[c for c, s in states.items() if s != "configured"])
        ctx.health.set_degraded(
            "carrier_loopback_dev",
            "CARRIER_LOOPBACK_DEV=true: unconfigured carriers accept loopback clients (dev only)",
        )
    elif all(state != "configured" for state in states.values()):
        ctx.health.set_degraded("carriers", "no carrier is configured: every carrier webhook is refused")


def configure(app: FastAPI, ctx: ServiceContext) -> None:
    """Add this service's routes. The platform endpoints come from the app factory."""
    secret_bytes(ctx, "profile_hash_secret")  # resolve now, so a missing secret shows as degraded from the start
    _announce_carriers(ctx)
    ctx.on_startup.extend([_start_routing, _start_acs, fallback.start])
    ctx.on_shutdown.extend([_stop_routing, _stop_acs, fallback.stop])
    app.include_router(router)
    app.include_router(fallback_views.router)  # where a stream's end and the person's fallback lead
    app.include_router(takeover.router)  # a person takes over or hangs up their own live call (the console)


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(SPEC, settings=settings, configure=configure)
