"""The live hub hands a call's events only to its owner's subscribers, and keeps the call so far for late joiners."""

from __future__ import annotations

from typing import Any

from answer_ninja.services.console.call_pages import _transcript_so_far
from answer_ninja.services.console.live import SUBSCRIBER_QUEUE, LiveHub


def _event(kind: str, call_id: str, user_id: str, **extra: Any) -> dict[str, Any]:
    return {"type": kind, "call_id": call_id, "user_id": user_id, **extra}


def test_events_reach_only_the_owner_and_only_the_right_call() -> None:
    hub = LiveHub()
    with (
        hub.subscribe(user_id="alice") as alice_all,
        hub.subscribe(user_id="alice", call_id="c1") as alice_c1,
        hub.subscribe(user_id="alice", call_id="c2") as alice_c2,
        hub.subscribe(user_id="bob") as bob_all,
        hub.subscribe(user_id="bob", call_id="c1") as bob_asking_for_c1,
    ):
        hub.publish(_event("caller", "c1", "alice", turn=1, text="hello"))
        assert alice_all.queue.qsize() == 1
        assert alice_c1.queue.qsize() == 1
        assert alice_c2.queue.qsize() == 0
        assert bob_all.queue.qsize() == 0
        assert bob_asking_for_c1.queue.qsize() == 0  # knowing the call id is not enough
    assert hub.subscribers == 0


def test_ownerless_events_are_dropped() -> None:
    hub = LiveHub()
    with hub.subscribe(user_id="") as anyone:
        hub.publish(_event("caller", "probe", "", turn=1, text="synthetic"))
        assert anyone.queue.qsize() == 0
    assert hub.backlog(user_id="", call_id="probe") == []


def test_backlog_is_the_owners_only_and_a_late_page_sees_the_latest_text() -> None:
    hub = LiveHub()
    hub.publish(_event("ai", "c1", "alice", turn=0, text="hello?"))
    hub.publish(_event("caller", "c1", "alice", turn=1, text="partial guess"))
    hub.publish(_event("ai", "c1", "alice", turn=1, text="no thanks"))
    hub.publish(_event("caller", "c1", "alice", turn=1, text="the final transcript"))
    assert hub.backlog(user_id="bob", call_id="c1") == []
    lines = _transcript_so_far(hub.backlog(user_id="alice", call_id="c1"))
    assert [(line["turn"], line["type"], line["text"]) for line in lines] == [
        (0, "ai", "hello?"),
        (1, "caller", "the final transcript"),
        (1, "ai", "no thanks"),
    ]


def test_a_slow_subscriber_loses_the_oldest_events_not_the_newest() -> None:
    hub = LiveHub()
    with hub.subscribe(user_id="alice") as slow:
        for index in range(SUBSCRIBER_QUEUE + 5):
            hub.publish(_event("hearing", "c1", "alice", text=str(index)))
        assert slow.dropped == 5
        assert slow.queue.qsize() == SUBSCRIBER_QUEUE
        assert slow.queue.get_nowait()["text"] == "5"
