"""An in-process conversation-engine app with its lifespan, and a small helper to drive a call."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from answer_ninja.platform.settings import Settings, load_settings
from answer_ninja.services.conversation_engine.app import create_app
from tests.harness.credentials import SECRETS, service_headers


def voice_loop_headers() -> dict[str, str]:
    """conversation-engine is called by the voice loop; the tests call it as realtime-processor does. Minted per
    client, not at import: a token lives five minutes and a test run lasts longer."""
    return service_headers("realtime-processor", "conversation-engine")


async def app_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        headers = voice_loop_headers()
        async with httpx.AsyncClient(transport=transport, base_url="http://test", headers=headers) as client:
            yield client


def engine_settings(**overrides: Any) -> Settings:
    base: dict[str, Any] = {"redis_url": None, "llm_base_url": None, "degraded_mode": False, **SECRETS}
    return load_settings(**{**base, **overrides})


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async for client in app_client(create_app(engine_settings())):
        yield client


async def say(client: httpx.AsyncClient, call_id: str, text: str, **fields: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/conversation/manage", json={"call_id": call_id, "text": text, **fields})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body
