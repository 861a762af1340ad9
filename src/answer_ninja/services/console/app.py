"""console (port 3006): pages for people and operators, live calls, and the public status page.

Every route declares its rule like the other services' (``public`` sign-in/up and status; ``signed_in`` pages;
``operator_signed_in`` operator pages), every unsafe request passes the CSRF check, every response carries the CSP.
Its readiness depends on none of them: the status page must answer while the services it describes are down.
"""

from __future__ import annotations

import asyncio
import contextlib

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.routing import Route

from answer_ninja.platform.app_factory import ServiceContext, ServiceSpec, create_service_app
from answer_ninja.platform.auth.keys import secret_bytes
from answer_ninja.platform.auth.rules import public_mount
from answer_ninja.platform.health import DependencyCheck
from answer_ninja.platform.logging import get_logger
from answer_ninja.platform.settings import Settings
from answer_ninja.services.console import (
    auth_pages,
    call_pages,
    ops_pages,
    password_pages,
    settings_pages,
    stats_pages,
    status_pages,
    whitelist_pages,
)
from answer_ninja.services.console.auth import CsrfRejected, OperatorRequired, SignInRequired, codec_of
from answer_ninja.services.console.backends import BackendError
from answer_ninja.services.console.live import hub_of, run_feed
from answer_ninja.services.console.metrics_sampler import sampler_of
from answer_ninja.services.console.rendering import STATIC_DIR, render, vendor_present
from answer_ninja.services.console.security import ConsoleSecurityMiddleware

log = get_logger(__name__)

SPEC = ServiceSpec(
    name="console",
    port=3006,
    description="Pages for people and operators, live calls with take-over, and the public status page.",
    uses_cache=True,  # shared token renewals; Redis pub/sub for live calls when REDIS_URL is set
    # No service checks in /ready, not even soft ones: a hung service would make /ready as slow as the probe
    # timeout, and the responder would take the console for a second casualty (mode B) and restart it, when the
    # console is what must stay up to say what is down. Each page says which service it could not reach.
    calls=(),
)


def _wants_page(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return request.method == "GET" and "text/event-stream" not in accept and "HX-Request" not in request.headers


def _error_page(request: Request, status_code: int, message_key: str, detail: str = "") -> Response:
    return render(request, "error.html", None, status_code=status_code, message=message_key, detail=detail)


def _install_error_pages(app: FastAPI) -> None:
    async def sign_in(request: Request, _: Exception) -> Response:
        if _wants_page(request):
            return auth_pages.login_redirect(request)
        return Response("sign in first", status_code=401, headers={"HX-Redirect": "/login"})

    async def operator_only(request: Request, _: Exception) -> Response:
        return _error_page(request, 403, "error.operator_only")

    async def csrf(request: Request, _: Exception) -> Response:
        return _error_page(request, 403, "error.csrf")

    async def backend(request: Request, error: Exception) -> Response:
        assert isinstance(error, BackendError)
        keys = {404: "error.not_found", 409: "error.conflict", 422: "error.invalid", 429: "auth.throttled"}
        return _error_page(request, error.status, keys.get(error.status, "error.unavailable"), error.service)

    app.add_exception_handler(SignInRequired, sign_in)
    app.add_exception_handler(OperatorRequired, operator_only)
    app.add_exception_handler(CsrfRejected, csrf)
    app.add_exception_handler(BackendError, backend)


def _without_api_docs(app: FastAPI) -> None:
    """FastAPI's /docs pages load their scripts from a CDN: the console serves nothing it does not host itself."""
    hidden = {app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url}
    app.router.routes[:] = [r for r in app.router.routes if not (isinstance(r, Route) and r.path in hidden)]
    app.docs_url = app.redoc_url = app.swagger_ui_oauth2_redirect_url = None


async def _start(ctx: ServiceContext) -> None:
    # People's requests leave without a service token: the person's own bearer is their only credential.
    ctx.extras["people_http"] = httpx.AsyncClient(timeout=ctx.settings.dependency_timeout_seconds * 2)
    ctx.extras["live_feed"] = asyncio.create_task(run_feed(ctx), name="live-feed")
    ctx.extras["metrics_task"] = asyncio.create_task(sampler_of(ctx).run(), name="metrics-sampler")


async def _stop(ctx: ServiceContext) -> None:
    for name in ("live_feed", "metrics_task"):
        task = ctx.extras.pop(name, None)
        if isinstance(task, asyncio.Task):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    client = ctx.extras.pop("people_http", None)
    if isinstance(client, httpx.AsyncClient):
        await client.aclose()


async def _live_feed_probe(ctx: ServiceContext, timeout: float) -> None:
    if not ctx.extras.get("live_feed_connected"):
        raise ConnectionError("not listening to live call events (realtime-processor or Redis unreachable)")


def configure(app: FastAPI, ctx: ServiceContext) -> None:
    for name in ("jwt_secret", "internal_secret"):
        secret_bytes(ctx, name)  # resolve now, so a missing secret shows as degraded from the start
    if not vendor_present():
        ctx.health.set_degraded(
            "console_assets", "htmx is not installed (scripts/install-console-assets.sh): pages do not update live"
        )
    hub_of(ctx)
    ctx.on_startup.append(_start)
    ctx.on_shutdown.append(_stop)
    ctx.checks.append(
        DependencyCheck("live-feed", "service", lambda timeout: _live_feed_probe(ctx, timeout), required=False)
    )
    _without_api_docs(app)
    app.add_middleware(
        ConsoleSecurityMiddleware, codec=codec_of(ctx), secure_cookies=ctx.settings.console_cookie_secure
    )
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    public_mount(app, "/static", "the console's own stylesheet and vendored scripts")
    for module in (
        auth_pages,
        password_pages,
        call_pages,
        whitelist_pages,
        settings_pages,
        stats_pages,
        ops_pages,
        status_pages,
    ):
        app.include_router(module.router)
    _install_error_pages(app)

    @app.get("/favicon.ico", include_in_schema=False, dependencies=status_pages.PUBLIC)
    async def favicon() -> Response:
        return RedirectResponse("/static/favicon.svg", status_code=308)


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(SPEC, settings=settings, configure=configure)
