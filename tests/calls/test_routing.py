from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from answer_ninja.calls.routing import (
    AiOffAction,
    CallerProfile,
    Decision,
    KnownSpamAction,
    Reason,
    RoutingInput,
    UserRouting,
    Verdict,
    decide,
    fallback,
    is_whitelisted,
)

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
CALLER, HOSTED, REAL, PROBE = "+8613800138000", "+8610012345678", "+8613900000001", "+10000000000"
USER = UserRouting(
    user_id="u1",
    real_number=REAL,
    ai_enabled=True,
    ai_off_action=AiOffAction.REJECT,
    spam_threshold=0.8,
    known_spam_action=KnownSpamAction.REJECT,
    persona="polite",
    language="zh-CN",
    max_call_seconds=180,
)
SPAMMER = CallerProfile(risk_score=0.9, confidence=0.7, category="sales")


def call(**changes: object) -> RoutingInput:
    base = RoutingInput(
        caller=CALLER,
        dialled=HOSTED,
        now=NOW,
        synthetic_probe_number=PROBE,
        user=USER,
        whitelist={},
        profile=None,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_unknown_caller_goes_to_ai() -> None:
    result = decide(call())
    assert (result.decision, result.reason) == (Decision.AI, Reason.DEFAULT_AI)


def test_no_user_for_the_dialled_number_is_rejected() -> None:
    assert decide(call(user=None)).decision is Decision.REJECT
    assert decide(call(user=None)).reason is Reason.NO_USER


def test_whitelisted_caller_is_transferred_to_the_real_number_even_if_spam_and_ai_off() -> None:
    user = replace(USER, ai_enabled=False)
    result = decide(call(user=user, whitelist={CALLER: None}, profile=SPAMMER))
    assert (result.decision, result.reason, result.transfer_to) == (Decision.TRANSFER, Reason.WHITELISTED, REAL)


def test_expired_temporary_whitelist_entry_no_longer_transfers() -> None:
    assert decide(call(whitelist={CALLER: NOW + timedelta(seconds=1)})).decision is Decision.TRANSFER
    assert decide(call(whitelist={CALLER: NOW})).decision is Decision.AI
    assert not is_whitelisted(CALLER, {CALLER: NOW - timedelta(days=1)}, NOW)


def test_whitelisted_without_real_number_falls_back_to_ai() -> None:
    result = decide(call(user=replace(USER, real_number=None), whitelist={CALLER: None}))
    assert (result.decision, result.reason) == (Decision.AI, Reason.NO_REAL_NUMBER)


def test_ai_off_rejects_or_rings_by_preference() -> None:
    off = replace(USER, ai_enabled=False)
    assert decide(call(user=off)).decision is Decision.REJECT
    ring = decide(call(user=replace(off, ai_off_action=AiOffAction.RING)))
    assert (ring.decision, ring.reason, ring.transfer_to) == (Decision.RING, Reason.AI_DISABLED, REAL)
    no_number = decide(call(user=replace(off, ai_off_action=AiOffAction.RING, real_number=None)))
    assert no_number.decision is Decision.REJECT


@pytest.mark.parametrize(
    ("risk", "threshold", "action", "expected"),
    [
        (0.9, 0.8, KnownSpamAction.REJECT, (Decision.REJECT, Reason.KNOWN_SPAM)),
        (0.8, 0.8, KnownSpamAction.REJECT, (Decision.REJECT, Reason.KNOWN_SPAM)),  # at the threshold counts
        (0.79, 0.8, KnownSpamAction.REJECT, (Decision.AI, Reason.DEFAULT_AI)),
        (0.9, 0.8, KnownSpamAction.AI, (Decision.AI, Reason.KNOWN_SPAM)),
        (0.5, 0.3, KnownSpamAction.REJECT, (Decision.REJECT, Reason.KNOWN_SPAM)),
    ],
)
def test_known_spam_against_the_users_threshold(
    risk: float, threshold: float, action: KnownSpamAction, expected: tuple[Decision, Reason]
) -> None:
    user = replace(USER, spam_threshold=threshold, known_spam_action=action)
    result = decide(call(user=user, profile=replace(SPAMMER, risk_score=risk)))
    assert (result.decision, result.reason) == expected


def test_synthetic_probe_goes_to_ai_without_a_user() -> None:
    result = decide(call(dialled=PROBE, user=None))
    assert (result.decision, result.reason, result.synthetic) == (Decision.AI, Reason.SYNTHETIC_PROBE, True)
    assert not decide(call()).synthetic


def test_fallback_is_always_ai() -> None:
    assert fallback(Reason.ROUTING_ERROR).decision is Decision.AI
    assert fallback(Reason.DIRECTORY_UNAVAILABLE).reason is Reason.DIRECTORY_UNAVAILABLE


def _call(**changes: object) -> RoutingInput:
    base = RoutingInput(
        caller=CALLER,
        dialled=HOSTED,
        now=NOW,
        synthetic_probe_number=PROBE,
        user=USER,
        whitelist={},
        profile=None,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_the_users_own_spam_report_rejects_their_calls_whatever_the_shared_risk() -> None:
    harmless = CallerProfile(risk_score=0.1, confidence=0.9, category="unknown")
    decision = decide(_call(profile=harmless, own_verdict=Verdict.SPAM))
    assert (decision.decision, decision.reason) == (Decision.REJECT, Reason.OWN_REPORT)
    as_ai = replace(USER, known_spam_action=KnownSpamAction.AI)
    assert decide(_call(user=as_ai, own_verdict=Verdict.SPAM)).decision is Decision.AI


def test_the_users_not_spam_report_overrides_the_shared_risk_for_them() -> None:
    spammy = CallerProfile(risk_score=0.95, confidence=0.9, category="loan")
    assert decide(_call(profile=spammy)).reason is Reason.KNOWN_SPAM
    decision = decide(_call(profile=spammy, own_verdict=Verdict.NOT_SPAM))
    assert (decision.decision, decision.reason) == (Decision.AI, Reason.DEFAULT_AI)


def test_the_whitelist_and_ai_off_still_come_before_the_users_own_report() -> None:
    listed = decide(_call(whitelist={CALLER: None}, own_verdict=Verdict.SPAM))
    assert listed.reason is Reason.WHITELISTED
    off = decide(_call(user=replace(USER, ai_enabled=False), own_verdict=Verdict.SPAM))
    assert off.reason is Reason.AI_DISABLED
