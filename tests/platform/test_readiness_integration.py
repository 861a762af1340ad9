"""/ready follows the real PostgreSQL and Redis: 503 naming the one that stopped, 200 when it returns."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from answer_ninja.platform.app_factory import ServiceSpec, create_service_app
from answer_ninja.platform.settings import load_settings
from tests.harness.servers import PostgresServer, RedisServer

pytestmark = pytest.mark.integration

SPEC = ServiceSpec(name="ready-test", port=3998, description="test", uses_database=True, uses_cache=True)


async def _ready(client: httpx.AsyncClient) -> tuple[int, dict]:  # type: ignore[type-arg]
    response = await client.get("/ready")
    return response.status_code, response.json()


async def _eventually(client: httpx.AsyncClient, status: int, timeout: float = 15.0) -> dict:  # type: ignore[type-arg]
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        code, body = await _ready(client)
        if code == status or asyncio.get_running_loop().time() > deadline:
            assert code == status, body
            return body
        await asyncio.sleep(0.2)


@pytest.fixture
async def client(postgres_url: str, redis_url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = load_settings(database_url=postgres_url, redis_url=redis_url, dependency_timeout_seconds=1.0)
    app: FastAPI = create_service_app(SPEC, settings=settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


async def test_ready_follows_postgres(client: httpx.AsyncClient, postgres_server: PostgresServer) -> None:
    code, body = await _ready(client)
    assert code == 200, body
    assert body["checks"]["postgres"]["ok"]
    assert body["checks"]["redis"]["ok"]
    postgres_server.stop()
    try:
        body = await _eventually(client, 503)
        assert body["failed"] == ["postgres"]
        assert body["checks"]["postgres"]["error"]
        assert body["checks"]["redis"]["ok"] is True
    finally:
        postgres_server.start()
    await _eventually(client, 200)


async def test_ready_follows_redis(client: httpx.AsyncClient, redis_server: RedisServer) -> None:
    assert (await _ready(client))[0] == 200
    redis_server.stop()
    try:
        body = await _eventually(client, 503)
        assert body["failed"] == ["redis"]
        assert body["checks"]["postgres"]["ok"] is True
    finally:
        redis_server.start()
    await _eventually(client, 200)
