"""Cross-process cache invalidation for routing data over Redis pub/sub.

The owners (user-management, profile-analytics) change the shared Redis entry and then announce the key;
every phone-gateway process drops its in-process copy when it hears it. A lost message (the subscriber was
reconnecting) costs at most the in-process TTL of staleness, and a reconnect clears the whole local copy.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from answer_ninja.platform.cache import Cache, RedisCache
from answer_ninja.platform.logging import get_logger
from answer_ninja.services.phone_gateway.cache_keys import INVALIDATION_CHANNEL

log = get_logger(__name__)
RECONNECT_SECONDS = 1.0


async def announce(cache: Cache, key: str) -> None:
    """Tell every gateway process that ``key`` changed (no-op with the in-process cache: nothing to tell)."""
    if isinstance(cache, RedisCache):
        await cache.client.publish(INVALIDATION_CHANNEL, key)


async def listen(cache: RedisCache, *, drop: Callable[[str], None], drop_all: Callable[[], None]) -> None:
    """Run until cancelled: drop each announced key; after any disconnection, drop everything."""
    while True:
        pubsub = cache.client.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(INVALIDATION_CHANNEL)
            drop_all()  # whatever changed while we were not listening
            async for message in pubsub.listen():
                if message.get("type") == "message":
                    drop(str(message["data"]))
        except asyncio.CancelledError:
            raise
        except Exception as error:  # Redis went away: the local TTL bounds staleness until we are back
            log.warning("invalidation_listener_disconnected", error=type(error).__name__)
            drop_all()
            await asyncio.sleep(RECONNECT_SECONDS)
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py leaves it unannotated
