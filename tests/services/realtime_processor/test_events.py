"""Live call events: the voice loop tells what the caller is saying, said and heard back, without ever waiting;
only calls with an owner are told; a slow listener loses old events, not the call."""

from __future__ import annotations

import asyncio
from typing import Any

from answer_ninja.services.realtime_processor.events import NO_EVENTS, QUEUE_SIZE, CallEvents, LiveEvents
from tests.services.realtime_processor.fakes import make_session

PITCH = "Hello, I am calling about a special loan offer for you today"


async def _collect(bus: LiveEvents, into: list[dict[str, Any]], ready: asyncio.Event) -> None:
    stream = bus.subscribe()
    waiting = asyncio.ensure_future(stream.__anext__())
    ready.set()
    try:
        while True:
            into.append(await waiting)
            waiting = asyncio.ensure_future(stream.__anext__())
    finally:
        waiting.cancel()
        await stream.aclose()


async def test_a_conversation_publishes_its_lines_in_order() -> None:
    bus = LiveEvents()
    received: list[dict[str, Any]] = []
    ready = asyncio.Event()
    listener = asyncio.create_task(_collect(bus, received, ready))
    await ready.wait()
    session, caller, _, _ = make_session([PITCH])
    events = bus.for_call(call_id="c1", user_id="u1")
    assert isinstance(events, CallEvents)
    session.events = events
    await session.start()
    caller.play_out()
    await caller.say(PITCH, 1.5)
    await caller.silence(0.6)
    await asyncio.sleep(0)
    listener.cancel()
    kinds = [event["type"] for event in received]
    assert kinds[0] == "ai"  # the greeting
    assert "hearing" in kinds  # partial transcripts while the caller was still speaking
    caller_lines = [event for event in received if event["type"] == "caller"]
    assert caller_lines[0]["text"] == PITCH
    assert set(caller_lines[0]["timings"]) == {"endpointing", "stt"}
    assert kinds.index("caller") < len(kinds) - 1
    assert received[-1]["type"] == "ai"  # the reply, after the caller's line
    assert all(event["call_id"] == "c1" and event["user_id"] == "u1" for event in received)
    assert [event["seq"] for event in received] == sorted(event["seq"] for event in received)


def test_a_call_nobody_owns_publishes_nothing() -> None:
    assert LiveEvents().for_call(call_id="probe", user_id=None) is NO_EVENTS
    assert LiveEvents().for_call(call_id="probe", user_id="") is NO_EVENTS


async def test_a_slow_listener_loses_the_oldest_events_and_never_blocks() -> None:
    bus = LiveEvents()
    stream = bus.subscribe()
    first = asyncio.ensure_future(stream.__anext__())
    await asyncio.sleep(0)
    events = bus.for_call(call_id="c1", user_id="u1")
    for index in range(QUEUE_SIZE + 10):
        events.hearing(f"words {index}")  # returns at once however far behind the listener is
    oldest = await first
    assert oldest["text"] == "words 10"
    await stream.aclose()


def test_the_same_partial_text_is_published_once() -> None:
    bus = LiveEvents()
    published: list[str] = []
    bus.publish = lambda event_type, **data: published.append(event_type)  # type: ignore[method-assign]
    events = bus.for_call(call_id="c1", user_id="u1")
    events.hearing("hello")
    events.hearing("hello")
    events.hearing("hello there")
    assert published == ["hearing", "hearing"]
