"""The one way to build a service app: /health, /ready, /metrics, logging, storage, errors, shutdown.

Every service (phone-gateway ... user-management, and the responder) is ``create_service_app(spec, ...)``
plus its own routes, added by a ``configure`` function that receives the app and the ServiceContext.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from answer_ninja import __version__
from answer_ninja.platform.auth.client import ServiceAuth
from answer_ninja.platform.auth.keys import secret_bytes
from answer_ninja.platform.auth.rules import public, require_declared
from answer_ninja.platform.auth.tokens import ServiceTokenIssuer
from answer_ninja.platform.cache import Cache, build_cache
from answer_ninja.platform.db.engine import Database
from answer_ninja.platform.health import DependencyCheck, HealthState, run_checks
from answer_ninja.platform.logging import get_logger
from answer_ninja.platform.metrics import (
    DEGRADED,
    DEPENDENCY_UP,
    EVENT_LOOP_LAG,
    SERVICE_INFO,
    HttpMetricsMiddleware,
    render_latest,
)
from answer_ninja.platform.settings import Settings, get_settings

log = get_logger(__name__)

# How often the loop-lag monitor wakes; lag is how late it wakes.
LOOP_LAG_INTERVAL_SECONDS = 0.5


@dataclass(frozen=True)
class ServiceSpec:
    """What the platform needs to know about a service to build and check it."""

    name: str
    port: int
    description: str
    uses_database: bool = False
    uses_cache: bool = False
    calls: tuple[str, ...] = ()  # services whose /health this one's /ready checks
    # Called services this one can do without for a while (it has a fallback): reported, not failing /ready.
    soft_calls: tuple[str, ...] = ()


Hook = Callable[["ServiceContext"], Awaitable[None]]


@dataclass
class ServiceContext:
    """Everything a request handler of one service may use; stored on ``app.state.ctx``."""

    spec: ServiceSpec
    settings: Settings
    health: HealthState = field(default_factory=HealthState)
    database: Database | None = None
    cache: Cache | None = None
    http: httpx.AsyncClient | None = None
    checks: list[DependencyCheck] = field(default_factory=list)
    on_startup: list[Hook] = field(default_factory=list)
    on_shutdown: list[Hook] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)

    def require_database(self) -> Database:
        if self.database is None:
            raise RuntimeError(f"{self.spec.name} was built without a database")
        return self.database

    def require_cache(self) -> Cache:
        if self.cache is None:
            raise RuntimeError(f"{self.spec.name} was built without a cache")
        return self.cache

    def require_http(self) -> httpx.AsyncClient:
        if self.http is None:
            raise RuntimeError(f"{self.spec.name} has no HTTP client before start-up")
        return self.http


def context_of(request: Request) -> ServiceContext:
    """FastAPI dependency: the ServiceContext of the app serving ``request``."""
    ctx: ServiceContext = request.app.state.ctx
    return ctx


def _dependency_checks(ctx: ServiceContext) -> list[DependencyCheck]:
    checks: list[DependencyCheck] = []
    if ctx.database is not None:
        checks.append(DependencyCheck(ctx.database.kind, "database", ctx.database.ping))
    if ctx.cache is not None and ctx.cache.kind == "redis":
        checks.append(DependencyCheck("redis", "cache", ctx.cache.ping))
    for service in ctx.spec.calls:
        required = service not in ctx.spec.soft_calls
        checks.append(DependencyCheck(service, "service", _service_probe(ctx, service), required=required))
    return checks


def _service_probe(ctx: ServiceContext, service: str) -> Callable[[float], Awaitable[None]]:
    url = ctx.settings.service_url(service) + "/health"

    async def probe(timeout: float) -> None:
        response = await ctx.require_http().get(url, timeout=timeout)
        response.raise_for_status()

    return probe


async def _monitor_loop_lag(ctx: ServiceContext) -> None:
    gauge = EVENT_LOOP_LAG.labels(ctx.spec.name)
    while True:
        started = time.perf_counter()
        await asyncio.sleep(LOOP_LAG_INTERVAL_SECONDS)
        lag = max(0.0, time.perf_counter() - started - LOOP_LAG_INTERVAL_SECONDS)
        ctx.health.loop_lag_seconds = lag
        gauge.set(lag)


def _validation_error_response(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    fields = []
    for problem in error.errors():
        location = [str(part) for part in problem.get("loc", ()) if part not in ("body", "query", "path")]
        fields.append({"field": ".".join(location) or "body", "message": problem.get("msg", "invalid")})
    summary = "; ".join(f"{item['field']}: {item['message']}" for item in fields)
    return JSONResponse(status_code=422, content={"error": f"invalid request: {summary}", "fields": fields})


def _unhandled_error_response(request: Request, error: Exception) -> JSONResponse:
    log.error("unhandled_error", path=request.url.path, error_type=type(error).__name__, exc_info=error)
    return JSONResponse(status_code=500, content={"error": "internal error", "type": type(error).__name__})


def create_service_app(
    spec: ServiceSpec,
    *,
    settings: Settings | None = None,
    configure: Callable[[FastAPI, ServiceContext], None] | None = None,
) -> FastAPI:
    """Build the FastAPI app of one service, with the platform endpoints and lifecycle every service shares."""
    settings = settings or get_settings()
    ctx = ServiceContext(spec=spec, settings=settings)
    if settings.degraded_mode:
        ctx.health.set_degraded("degraded_mode", "DEGRADED_MODE=true: templates and cached audio only")

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        timeout = settings.dependency_timeout_seconds
        # Calls to the other services carry this service's signed token; calls elsewhere carry nothing.
        issuer = ServiceTokenIssuer(secret_bytes(ctx, "internal_secret"), spec.name)
        ctx.http = httpx.AsyncClient(timeout=timeout, auth=ServiceAuth(settings, issuer))
        if spec.uses_database:
            ctx.database = Database(settings.database_url, connect_timeout=timeout)
        if spec.uses_cache:
            ctx.cache = build_cache(settings.redis_url, timeout=timeout)
        ctx.checks = _dependency_checks(ctx) + ctx.checks
        SERVICE_INFO.labels(spec.name, __version__).set(1)
        lag_monitor = asyncio.create_task(_monitor_loop_lag(ctx), name="loop-lag")
        for hook in ctx.on_startup:
            await hook(ctx)
        # No port here: it is where uvicorn binds (the configured URL), which uvicorn logs itself.
        log.info("service_started", degraded=ctx.health.degraded, version=__version__)
        try:
            yield
        finally:
            ctx.health.shutting_down = True
            lag_monitor.cancel()
            for hook in reversed(ctx.on_shutdown):
                try:
                    await hook(ctx)
                except Exception as error:  # shutdown goes on whatever one hook does
                    log.warning("shutdown_hook_failed", error=str(error))
            await ctx.http.aclose()
            if ctx.cache is not None:
                await ctx.cache.close()
            if ctx.database is not None:
                await ctx.database.close()
            log.info("service_stopped")

    app = FastAPI(title=spec.name, description=spec.description, version=__version__, lifespan=lifespan)
    app.state.ctx = ctx
    app.add_middleware(HttpMetricsMiddleware, service=spec.name)
    app.add_exception_handler(RequestValidationError, _validation_error_response)
    app.add_exception_handler(Exception, _unhandled_error_response)

    probes = [Depends(public("liveness, readiness and metrics: probes and Prometheus; no user data"))]

    @app.get(
        "/health", tags=["platform"], summary="Liveness: the process and its event loop answer", dependencies=probes
    )
    async def health() -> dict[str, Any]:
        DEGRADED.labels(spec.name).set(1 if ctx.health.degraded else 0)
        return {
            "status": "ok",
            "service": spec.name,
            "version": __version__,
            "uptime_seconds": round(ctx.health.uptime_seconds, 3),
            "degraded": ctx.health.degraded,
            "degraded_reasons": sorted(ctx.health.degraded_reasons.values()),
            "event_loop_lag_ms": round(ctx.health.loop_lag_seconds * 1000, 2),
            "details": ctx.health.details,
        }

    @app.get(
        "/ready",
        tags=["platform"],
        summary="Readiness: every dependency this service uses is usable",
        dependencies=probes,
    )
    async def ready() -> JSONResponse:
        results = await run_checks(ctx.checks, settings.dependency_timeout_seconds)
        for result in results:
            DEPENDENCY_UP.labels(spec.name, result.name).set(1 if result.ok else 0)
        failed = [result.name for result in results if not result.ok and result.required]
        if ctx.health.shutting_down:
            failed.append("shutting_down")
        body = {
            "ready": not failed,
            "service": spec.name,
            "failed": failed,
            "warnings": [result.name for result in results if not result.ok and not result.required],
            "checks": {result.name: result.as_dict() for result in results},
            # What is configured and what is not (e.g. phone-gateway's carriers), visible without failing readiness.
            "details": ctx.health.details,
        }
        return JSONResponse(status_code=200 if not failed else 503, content=body)

    @app.get("/metrics", tags=["platform"], summary="Prometheus text exposition", dependencies=probes)
    async def metrics() -> Response:
        DEGRADED.labels(spec.name).set(1 if ctx.health.degraded else 0)
        payload, content_type = render_latest()
        return Response(content=payload, media_type=content_type)

    if configure is not None:
        configure(app, ctx)
    require_declared(app)  # default deny: a route that says nothing about who may use it fails the build
    return app
