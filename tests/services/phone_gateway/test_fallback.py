"""Where an AI call goes when realtime-processor cannot take it: the availability it is judged by, and the plan."""

from __future__ import annotations

import asyncio

import pytest

from answer_ninja.calls.routing import AiOffAction, KnownSpamAction, UserRouting
from answer_ninja.services.phone_gateway import fallback
from answer_ninja.telephony.loopback import parse_twiml


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def user(*, fallback_setting: str = "ring", real_number: str | None = "+8613900000001") -> UserRouting:
    return UserRouting(
        user_id="u1",
        real_number=real_number,
        ai_enabled=True,
        ai_off_action=AiOffAction.REJECT,
        spam_threshold=0.8,
        known_spam_action=KnownSpamAction.REJECT,
        persona="polite",
        language="en-US",
        max_call_seconds=180,
        fallback=fallback_setting,
    )


def availability(answers: list[str | None], clock: Clock) -> fallback.MediaAvailability:
    async def probe() -> str | None:
        return answers.pop(0) if answers else None

    return fallback.MediaAvailability(probe, clock=clock)


def test_the_probe_decides_and_a_failed_probe_says_why() -> None:
    clock = Clock()
    media = availability([None, "ConnectError: refused", None], clock)
    assert asyncio.run(media.refresh())
    assert media.can_stream()
    assert not asyncio.run(media.refresh())
    assert not media.can_stream()
    assert media.why_not() == "ConnectError: refused"
    assert asyncio.run(media.refresh())
    assert media.can_stream()


def test_failed_streams_pause_streaming_while_the_probe_still_says_up() -> None:
    clock = Clock()
    media = availability([], clock)
    for _ in range(fallback.FAILURES_BEFORE_PAUSE - 1):
        media.stream_failed()
    assert media.can_stream()  # a failure or two: the next call still tries (and has the fallback behind it)
    media.stream_failed()
    assert not media.can_stream()
    assert "streams failed" in (media.why_not() or "")
    clock.now += fallback.PAUSE_SECONDS
    assert media.can_stream()


def test_failures_far_apart_or_between_good_endings_do_not_pause() -> None:
    clock = Clock()
    media = availability([], clock)
    for _ in range(fallback.FAILURES_BEFORE_PAUSE * 2):
        media.stream_failed()
        clock.now += fallback.FAILURE_WINDOW_SECONDS + 1
    assert media.can_stream()
    for _ in range(fallback.FAILURES_BEFORE_PAUSE * 2):
        media.stream_failed()
        media.stream_ended_well()
    assert media.can_stream()


@pytest.mark.parametrize(
    ("person", "route", "number"),
    [
        (user(), fallback.RING, "+8613900000001"),
        (user(fallback_setting="voicemail"), fallback.VOICEMAIL, None),
        (user(real_number=None), fallback.VOICEMAIL, None),  # nobody to ring: voicemail, never a dead end
        (None, fallback.VOICEMAIL, None),  # the synthetic probe's call has no person
    ],
)
def test_the_plan_follows_the_persons_setting(person: UserRouting | None, route: str, number: str | None) -> None:
    plan = fallback.plan_for(person, fallback.STREAM_FAILED)
    assert (plan.route, plan.number, plan.reason) == (route, number, fallback.STREAM_FAILED)
    assert fallback.plan_for(person, fallback.STREAM_FAILED, ring=False).route == fallback.VOICEMAIL


def test_the_plans_twiml_rings_with_an_action_then_takes_a_voicemail() -> None:
    ring = parse_twiml(fallback.twiml_for(fallback.plan_for(user(), fallback.MEDIA_UNAVAILABLE), "c1"))
    assert ring.decision == "transfer"
    assert ring.transfer_number == "+8613900000001"
    assert ring.dial_action == "/twilio/fallback-dial?call_id=c1"
    voicemail = parse_twiml(fallback.twiml_for(fallback.plan_for(user(fallback_setting="voicemail"), "x"), "c1"))
    assert voicemail.decision == "voicemail"
    assert voicemail.record_action == voicemail.recording_callback == "/twilio/voicemail?call_id=c1"
    assert (
        voicemail.prompt
        == "Hello, the person you called cannot answer right now. Please leave a message after the tone."
    )
