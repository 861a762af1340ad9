"""With REDIS_URL, live call events travel over Redis pub/sub: what realtime-processor publishes reaches the
console's hub (and only the owner's subscription), through a real Redis."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from answer_ninja.platform.cache import RedisCache
from answer_ninja.services.console.live import LiveHub, _from_redis
from answer_ninja.services.realtime_processor.events import LiveEvents

pytestmark = pytest.mark.integration


async def test_events_cross_redis_to_the_owner(redis_server) -> None:  # type: ignore[no-untyped-def]
    publisher_cache, listener_cache = RedisCache(redis_server.url), RedisCache(redis_server.url)
    bus = LiveEvents(publisher_cache)
    bus.start()
    hub = LiveHub()
    listener = asyncio.create_task(_from_redis(listener_cache, hub))
    try:
        with hub.subscribe(user_id="alice", call_id="c1") as alice, hub.subscribe(user_id="bob") as bob:
            await asyncio.sleep(0.3)  # the subscription is in place
            events = bus.for_call(call_id="c1", user_id="alice")
            events.caller_said(1, "您好，我们这边有低息贷款", {"endpointing": 300.0, "stt": 180.0})
            event = await asyncio.wait_for(alice.queue.get(), timeout=5)
            assert event["text"] == "您好，我们这边有低息贷款"
            assert event["timings"] == {"endpointing": 300.0, "stt": 180.0}
            assert event["received_at"] >= event["at"]
            assert bob.queue.empty()
    finally:
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listener
        await bus.stop()
        await publisher_cache.close()
        await listener_cache.close()
