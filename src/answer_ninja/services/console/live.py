"""Live call events, from realtime-processor to the browsers of the calls' owners.

The feed listens where the events are published: Redis pub/sub when REDIS_URL is set, else realtime-processor's
internal NDJSON stream (signed service token). The hub keeps each live call's events so far (a page opened mid-call
shows the transcript up to now) and hands each event only to subscribers of the same person: a browser never
receives another person's call, whatever it asks for.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from answer_ninja.platform.app_factory import ServiceContext
from answer_ninja.platform.cache import RedisCache
from answer_ninja.platform.logging import get_logger

log = get_logger(__name__)

LIVE_CHANNEL = "live:calls"  # realtime_processor.events.LIVE_CHANNEL (not imported: services stay apart)
SUBSCRIBER_QUEUE = 200
# Events kept per call for late joiners, and how many calls are remembered at most.
BACKLOG_PER_CALL = 300
CALLS_REMEMBERED = 500
RECONNECT_SECONDS = (0.5, 1.0, 2.0, 5.0)


@dataclass(eq=False)  # each subscription is itself (kept in a set)
class Subscription:
    user_id: str
    call_id: str | None
    queue: asyncio.Queue[dict[str, Any]] = field(default_factory=lambda: asyncio.Queue(SUBSCRIBER_QUEUE))
    dropped: int = 0

    def offer(self, event: dict[str, Any]) -> None:
        if self.queue.full():
            with contextlib.suppress(asyncio.QueueEmpty):
                self.queue.get_nowait()
            self.dropped += 1
        self.queue.put_nowait(event)

    async def events(self) -> AsyncIterator[dict[str, Any]]:
        while True:
            yield await self.queue.get()


class LiveHub:
    def __init__(self) -> None:
        self._subscriptions: set[Subscription] = set()
        self._backlog: OrderedDict[str, deque[dict[str, Any]]] = OrderedDict()
        self.received = 0
        self.last_event_at: float | None = None

    def publish(self, event: dict[str, Any]) -> None:
        call_id, user_id = str(event.get("call_id") or ""), str(event.get("user_id") or "")
        if not call_id or not user_id:
            return  # a call nobody owns (the responder's probe) is nobody's to watch
        event["received_at"] = time.time()
        self.received += 1
        self.last_event_at = event["received_at"]
        backlog = self._backlog.get(call_id)
        if backlog is None:
            backlog = self._backlog[call_id] = deque(maxlen=BACKLOG_PER_CALL)
            while len(self._backlog) > CALLS_REMEMBERED:
                self._backlog.popitem(last=False)
        backlog.append(event)
        for subscription in list(self._subscriptions):
            if subscription.user_id == user_id and subscription.call_id in (None, call_id):
                subscription.offer(event)

    def backlog(self, *, user_id: str, call_id: str) -> list[dict[str, Any]]:
        """The call's events so far, if it is this person's call."""
        return [event for event in self._backlog.get(call_id, ()) if event.get("user_id") == user_id]

    @contextlib.contextmanager
    def subscribe(self, *, user_id: str, call_id: str | None = None) -> Iterator[Subscription]:
        subscription = Subscription(user_id, call_id)
        self._subscriptions.add(subscription)
        try:
            yield subscription
        finally:
            self._subscriptions.discard(subscription)

    @property
    def subscribers(self) -> int:
        return len(self._subscriptions)


def hub_of(ctx: ServiceContext) -> LiveHub:
    hub = ctx.extras.get("live_hub")
    if not isinstance(hub, LiveHub):
        hub = LiveHub()
        ctx.extras["live_hub"] = hub
    return hub


def _event(raw: str | bytes) -> dict[str, Any] | None:
    try:
        event = json.loads(raw)
    except ValueError:
        return None
    return event if isinstance(event, dict) else None


async def _from_redis(cache: RedisCache, hub: LiveHub) -> None:
    pubsub = cache.client.pubsub(ignore_subscribe_messages=True)
    try:
        await pubsub.subscribe(LIVE_CHANNEL)
        async for message in pubsub.listen():
            if message.get("type") == "message":
                event = _event(message["data"])
                if event is not None:
                    hub.publish(event)
    finally:
        with contextlib.suppress(Exception):
            await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py leaves it unannotated


async def _from_stream(ctx: ServiceContext, hub: LiveHub) -> None:
    url = ctx.settings.realtime_processor_url + "/internal/v1/live/events"
    timeout = httpx.Timeout(ctx.settings.dependency_timeout_seconds, read=60.0)
    async with ctx.require_http().stream("GET", url, timeout=timeout) as response:
        response.raise_for_status()
        ctx.extras["live_feed_connected"] = True
        async for line in response.aiter_lines():
            if line and not line.startswith(":"):
                event = _event(line)
                if event is not None:
                    hub.publish(event)


async def run_feed(ctx: ServiceContext) -> None:
    """Run until cancelled, reconnecting with back-off; where it listens depends on REDIS_URL."""
    hub = hub_of(ctx)
    failures = 0
    while True:
        try:
            if isinstance(ctx.cache, RedisCache):
                ctx.extras["live_feed_connected"] = True
                await _from_redis(ctx.cache, hub)
            else:
                await _from_stream(ctx, hub)
            failures = 0
        except asyncio.CancelledError:
            raise
        except Exception as error:  # realtime-processor restarting, Redis away: live views wait, pages still work
            if failures == 0:
                log.warning("live_feed_disconnected", error=type(error).__name__)
            failures += 1
        ctx.extras["live_feed_connected"] = False
        await asyncio.sleep(RECONNECT_SECONDS[min(failures, len(RECONNECT_SECONDS) - 1)])
