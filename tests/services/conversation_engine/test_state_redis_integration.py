"""Conversation state in a real Redis: TTL, sharing between engine processes, dry runs leave nothing behind."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis

from answer_ninja.services.conversation_engine.app import create_app
from answer_ninja.services.conversation_engine.state import STATE_PREFIX
from tests.services.conversation_engine.conftest import app_client, engine_settings, say

pytestmark = pytest.mark.integration


async def test_state_lives_in_redis_with_the_configured_ttl(redis_url: str) -> None:
    settings = engine_settings(redis_url=redis_url, conversation_state_ttl_seconds=120)
    async for client in app_client(create_app(settings)):
        await say(client, "r1", "您好，您的车险快到期了，现在续保有优惠")
        await say(client, "r1", "真的很便宜，您再考虑一下")
        ready = (await client.get("/ready")).json()
        assert ready["checks"]["redis"]["ok"] is True
    redis = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        ttl_ms = await redis.pttl(STATE_PREFIX + "r1")
        assert 100_000 < ttl_ms <= 120_000
        assert await redis.exists(STATE_PREFIX + "r1") == 1
    finally:
        await redis.aclose()


async def test_a_second_engine_continues_the_call_where_the_first_left_it(redis_url: str) -> None:
    settings = engine_settings(redis_url=redis_url)
    async for first in app_client(create_app(settings)):
        body = await say(first, "r2", "Hello, you've been pre-approved for a personal loan")
        assert body["turn"] == 1
    async for second in app_client(create_app(settings)):
        body = await say(second, "r2", "but the rate is really low")
        assert (body["turn"], body["stage"], body["intent"]) == (2, "polite_decline", "loan")
        history = (await second.get("/api/v1/conversation/r2")).json()["history"]
        assert len(history) == 4


async def test_a_dry_run_on_a_new_call_stores_nothing(redis_url: str) -> None:
    async for client in app_client(create_app(engine_settings(redis_url=redis_url))):
        await say(client, "r3", "hello?", dry_run=True)
        assert (await client.get("/api/v1/conversation/r3")).status_code == 404


async def test_state_expires_after_its_ttl(redis_url: str) -> None:
    settings = engine_settings(redis_url=redis_url, conversation_state_ttl_seconds=0.3)
    async for client in app_client(create_app(settings)):
        await say(client, "r4", "hi who is this")
        assert (await client.get("/api/v1/conversation/r4")).status_code == 200
        await asyncio.sleep(0.5)
        assert (await client.get("/api/v1/conversation/r4")).status_code == 404
