"""The app factory: every service gets /health, /ready, /metrics and the same error shapes."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import Depends, FastAPI
from prometheus_client.parser import text_string_to_metric_families
from pydantic import BaseModel

from answer_ninja.platform.app_factory import ServiceContext, ServiceSpec, create_service_app
from answer_ninja.platform.auth.rules import public
from answer_ninja.platform.health import DependencyCheck
from answer_ninja.platform.settings import Settings, load_settings
from tests.harness.credentials import SECRETS

SPEC = ServiceSpec(name="test-service", port=3999, description="test", uses_database=True, uses_cache=True)


class Greeting(BaseModel):
    name: str
    times: int


OPEN = [Depends(public("test route"))]


def _configure(app: FastAPI, ctx: ServiceContext) -> None:
    @app.post("/greet", dependencies=OPEN)
    async def greet(body: Greeting) -> dict[str, str]:
        return {"greeting": "hi " * body.times + body.name}

    @app.get("/boom", dependencies=OPEN)
    async def boom() -> None:
        raise RuntimeError("kaput")


@pytest.fixture
def settings(sqlite_url: str) -> Settings:
    return load_settings(database_url=sqlite_url, redis_url=None, **SECRETS)


async def _client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async for client in _client(create_service_app(SPEC, settings=settings, configure=_configure)):
        yield client


async def test_health_reports_service_version_uptime(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["service"] == "test-service"
    assert body["degraded"] is False
    assert body["uptime_seconds"] >= 0
    assert "version" in body


async def test_ready_checks_the_database_it_uses(client: httpx.AsyncClient) -> None:
    response = await client.get("/ready")
    assert response.status_code == 200
    assert response.json()["checks"]["sqlite"]["ok"] is True


async def test_degraded_mode_is_reported(sqlite_url: str) -> None:
    settings = load_settings(database_url=sqlite_url, degraded_mode=True)
    async for client in _client(create_service_app(SPEC, settings=settings)):
        body = (await client.get("/health")).json()
        assert body["degraded"] is True
        assert any("DEGRADED_MODE" in reason for reason in body["degraded_reasons"])


async def test_failing_dependency_makes_ready_503_naming_it(settings: Settings) -> None:
    async def broken(_: float) -> None:
        raise ConnectionRefusedError("no llm")

    async def fine(_: float) -> None:
        return None

    def configure(app: FastAPI, ctx: ServiceContext) -> None:
        ctx.checks.append(DependencyCheck("llm", "provider", broken))
        ctx.checks.append(DependencyCheck("cdn", "provider", broken, required=False))
        ctx.checks.append(DependencyCheck("ok-thing", "provider", fine))

    async for client in _client(create_service_app(SPEC, settings=settings, configure=configure)):
        response = await client.get("/ready")
        assert response.status_code == 503
        body = response.json()
        assert body["failed"] == ["llm"]
        assert body["warnings"] == ["cdn"]
        assert "no llm" in body["checks"]["llm"]["error"]


async def test_metrics_are_prometheus_text_with_route_templates(client: httpx.AsyncClient) -> None:
    await client.post("/greet", json={"name": "x", "times": 1})
    await client.get("/health")
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    families = {family.name: family for family in text_string_to_metric_families(response.text)}
    assert "ai_ninja_http_requests" in families
    samples = families["ai_ninja_http_requests"].samples
    assert any(
        s.labels == {"service": "test-service", "method": "POST", "route": "/greet", "status": "200"} for s in samples
    )
    assert "ai_ninja_http_request_duration_seconds" in families
    assert "process_resident_memory_bytes" in families


async def test_bad_input_names_the_field(client: httpx.AsyncClient) -> None:
    response = await client.post("/greet", json={"name": "x", "times": "many"})
    assert response.status_code == 422
    body = response.json()
    assert body["fields"][0]["field"] == "times"
    assert "times" in body["error"]


async def test_unhandled_error_is_a_json_500_without_traceback(client: httpx.AsyncClient) -> None:
    response = await client.get("/boom")
    assert response.status_code == 500
    assert response.json() == {"error": "internal error", "type": "RuntimeError"}


async def test_every_service_builds_with_platform_endpoints(settings: Settings) -> None:
    from answer_ninja.catalogue import SERVICES
    from answer_ninja.platform.server import build_app

    for name in SERVICES:
        app = build_app(name, settings)
        paths = {getattr(route, "path", None) for route in app.routes}
        assert {"/health", "/ready", "/metrics"} <= paths, name
