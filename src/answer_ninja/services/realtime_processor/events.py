"""Live call events for the console: call started, what the caller is saying (partial), what they said, what the
AI said, call ended. Published from the voice loop without ever making it wait.

Two ways out: Redis pub/sub on ``LIVE_CHANNEL`` when REDIS_URL is set (every console replica hears every
realtime-processor replica), and an in-process fan-out that ``live.py`` streams to the console over HTTP when there
is no Redis (``answer-ninja up``'s default). A slow or absent listener drops events; the call never notices.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import AsyncGenerator
from typing import Any, Protocol

from answer_ninja.platform.cache import Cache, RedisCache
from answer_ninja.platform.logging import get_logger

log = get_logger(__name__)

LIVE_CHANNEL = "live:calls"
# Events a subscriber (or the Redis outbox) may fall behind by before the oldest are dropped.
QUEUE_SIZE = 1000


class CallEventSink(Protocol):
    """What the voice loop tells about one call (the session calls these; each returns at once)."""

    def hearing(self, text: str) -> None: ...

    def caller_said(self, turn: int, text: str, timings_ms: dict[str, float]) -> None: ...

    def ai_said(self, turn: int, text: str, *, intent: str | None, stage: str | None, kind: str) -> None: ...


class NoEvents:
    """The sink of a call nobody may watch (the responder's synthetic probe has no owner) and of tests."""

    def hearing(self, text: str) -> None:
        return None

    def caller_said(self, turn: int, text: str, timings_ms: dict[str, float]) -> None:
        return None

    def ai_said(self, turn: int, text: str, *, intent: str | None, stage: str | None, kind: str) -> None:
        return None


NO_EVENTS = NoEvents()


def _offer(queue: asyncio.Queue[dict[str, Any]], event: dict[str, Any]) -> None:
    """Put without waiting; a full queue loses its oldest event."""
    if queue.full():
        with contextlib.suppress(asyncio.QueueEmpty):
            queue.get_nowait()
    queue.put_nowait(event)


class LiveEvents:
    """The process's event bus (one per realtime-processor)."""

    def __init__(self, cache: Cache | None = None) -> None:
        self._subscribers: set[asyncio.Queue[dict[str, Any]]] = set()
        self._redis = cache if isinstance(cache, RedisCache) else None
        self._outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_SIZE)
        self._sequence = itertools.count(1)
        self._publisher: asyncio.Task[None] | None = None

    @property
    def via_redis(self) -> bool:
        return self._redis is not None

    def start(self) -> None:
        if self._redis is not None and self._publisher is None:
            self._publisher = asyncio.create_task(self._publish_to_redis(), name="live-events-redis")

    async def stop(self) -> None:
        if self._publisher is not None:
            self._publisher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._publisher
            self._publisher = None

    def publish(self, event_type: str, *, call_id: str, user_id: str, **data: Any) -> None:
        event = {
            "type": event_type,
            "call_id": call_id,
            "user_id": user_id,
            "at": time.time(),
            "seq": next(self._sequence),
        }
        event.update(data)
        for queue in list(self._subscribers):
            _offer(queue, event)
        if self._redis is not None:
            _offer(self._outbox, event)

    async def _publish_to_redis(self) -> None:
        assert self._redis is not None
        while True:
            event = await self._outbox.get()
            try:
                await self._redis.client.publish(LIVE_CHANNEL, json.dumps(event, ensure_ascii=False))
            except Exception as error:  # Redis away: live views miss this event; the call record has it all
                log.warning("live_event_not_published", error=type(error).__name__)

    async def subscribe(self) -> AsyncGenerator[dict[str, Any], None]:
        """Every event from now on, until the caller stops iterating."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_SIZE)
        self._subscribers.add(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            self._subscribers.discard(queue)

    def for_call(self, *, call_id: str, user_id: str | None) -> CallEventSink:
        return CallEvents(self, call_id, user_id) if user_id else NO_EVENTS


class CallEvents:
    """One call's sink: stamps the call and its owner on every event (the console relays only to the owner)."""

    def __init__(self, bus: LiveEvents, call_id: str, user_id: str) -> None:
        self.bus = bus
        self.call_id = call_id
        self.user_id = user_id
        self._last_hearing = ""

    def started(self, *, language: str, caller: str) -> None:
        self.bus.publish("call_started", call_id=self.call_id, user_id=self.user_id, language=language, caller=caller)

    def hearing(self, text: str) -> None:
        if text and text != self._last_hearing:
            self._last_hearing = text
            self.bus.publish("hearing", call_id=self.call_id, user_id=self.user_id, text=text)

    def caller_said(self, turn: int, text: str, timings_ms: dict[str, float]) -> None:
        self._last_hearing = ""
        stages = {key: round(value, 1) for key, value in timings_ms.items() if key in ("endpointing", "stt")}
        self.bus.publish("caller", call_id=self.call_id, user_id=self.user_id, turn=turn, text=text, timings=stages)

    def ai_said(self, turn: int, text: str, *, intent: str | None, stage: str | None, kind: str) -> None:
        self.bus.publish(
            "ai",
            call_id=self.call_id,
            user_id=self.user_id,
            turn=turn,
            text=text,
            intent=intent,
            stage=stage,
            kind=kind,
        )

    def ended(self, *, outcome: str) -> None:
        self.bus.publish("call_ended", call_id=self.call_id, user_id=self.user_id, outcome=outcome)

    def summarised(self) -> None:
        self.bus.publish("call_summarised", call_id=self.call_id, user_id=self.user_id)
