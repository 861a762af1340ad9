"""The routing decision for an incoming call: pure, with every input explicit (no I/O, no clock).

Order of the rules, and why:

1. A call to the synthetic probe number goes to the AI with no user: the responder uses it to verify the whole
   path end to end, so it must not depend on any user's data.
2. No user owns the dialled number -> reject: we answer only for people who gave us their number.
3. The caller is on the user's whitelist (an active, unexpired entry) -> transfer to the user's real number.
   This comes before "AI off" and spam, because a person the user trusts must always get through.
4. The user turned the AI off -> reject, or ring through to the real number if that is their preference.
5. The user reported this caller themselves: "spam" -> treated as known spam for them at once (reject, or AI by
   preference), whatever anyone else thinks; "not_spam" -> the shared profile does not apply to them.
6. The caller is known spam with a shared risk at or above the user's threshold -> reject, or AI (by preference).
   The shared risk counts other users' reports only under the community rules of
   ``services/profile_analytics/learning.py`` (reporters who received a call from the number, weighted by standing,
   a minimum of distinct reporters), so nobody can get a number rejected for everyone on their own.
7. Otherwise -> AI.

A transfer without a real number to transfer to falls back to the AI (never drop a call). So does ringing through.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime


class Decision(enum.StrEnum):
    AI = "ai"
    TRANSFER = "transfer"
    REJECT = "reject"
    RING = "ring"


class Reason(enum.StrEnum):
    SYNTHETIC_PROBE = "synthetic_probe"
    NO_USER = "no_user"
    WHITELISTED = "whitelisted"
    AI_DISABLED = "ai_disabled"
    KNOWN_SPAM = "known_spam"
    OWN_REPORT = "own_report"
    DEFAULT_AI = "default_ai"
    NO_REAL_NUMBER = "no_real_number"
    ROUTING_ERROR = "routing_error"
    DIRECTORY_UNAVAILABLE = "directory_unavailable"
    TRANSFER_FAILED = "transfer_failed"


class AiOffAction(enum.StrEnum):
    REJECT = "reject"
    RING = "ring"


class KnownSpamAction(enum.StrEnum):
    REJECT = "reject"
    AI = "ai"


class Verdict(enum.StrEnum):
    """A user's own report on a caller."""

    SPAM = "spam"
    NOT_SPAM = "not_spam"


@dataclass(frozen=True)
class UserRouting:
    """What routing needs to know about the user who owns the dialled number."""

    user_id: str
    real_number: str | None
    ai_enabled: bool
    ai_off_action: AiOffAction
    spam_threshold: float
    known_spam_action: KnownSpamAction
    persona: str
    language: str
    max_call_seconds: int
    fallback: str = "ring"  # ring | voicemail: where the call goes when the AI cannot take it


@dataclass(frozen=True)
class CallerProfile:
    """What profile-analytics knows about the caller (shared across users)."""

    risk_score: float
    confidence: float
    category: str


@dataclass(frozen=True)
class RoutingInput:
    caller: str
    dialled: str
    now: datetime
    synthetic_probe_number: str
    user: UserRouting | None
    # Whitelisted numbers of that user -> expiry (None = permanent).
    whitelist: Mapping[str, datetime | None]
    profile: CallerProfile | None
    # The user's own latest report on this caller, if any.
    own_verdict: Verdict | None = None


@dataclass(frozen=True)
class RoutingDecision:
    decision: Decision
    reason: Reason
    transfer_to: str | None = None

    @property
    def synthetic(self) -> bool:
        return self.reason is Reason.SYNTHETIC_PROBE


def is_whitelisted(caller: str, whitelist: Mapping[str, datetime | None], now: datetime) -> bool:
    """True when ``caller`` has an entry that has not expired (an entry expiring exactly now has expired)."""
    if caller not in whitelist:
        return False
    expires_at = whitelist[caller]
    return expires_at is None or expires_at > now


def is_known_spam(profile: CallerProfile | None, threshold: float) -> bool:
    return profile is not None and profile.risk_score >= threshold


def decide(call: RoutingInput) -> RoutingDecision:
    """Apply the rules of this module's docstring, in order."""
    if call.dialled == call.synthetic_probe_number:
        return RoutingDecision(Decision.AI, Reason.SYNTHETIC_PROBE)
    user = call.user
    if user is None:
        return RoutingDecision(Decision.REJECT, Reason.NO_USER)
    if is_whitelisted(call.caller, call.whitelist, call.now):
        if user.real_number is None:
            return RoutingDecision(Decision.AI, Reason.NO_REAL_NUMBER)
        return RoutingDecision(Decision.TRANSFER, Reason.WHITELISTED, transfer_to=user.real_number)
    if not user.ai_enabled:
        if user.ai_off_action is AiOffAction.RING and user.real_number is not None:
            return RoutingDecision(Decision.RING, Reason.AI_DISABLED, transfer_to=user.real_number)
        return RoutingDecision(Decision.REJECT, Reason.AI_DISABLED)
    if call.own_verdict is Verdict.SPAM:
        return _spam(user, Reason.OWN_REPORT)
    if call.own_verdict is not Verdict.NOT_SPAM and is_known_spam(call.profile, user.spam_threshold):
        return _spam(user, Reason.KNOWN_SPAM)
    return RoutingDecision(Decision.AI, Reason.DEFAULT_AI)


def _spam(user: UserRouting, reason: Reason) -> RoutingDecision:
    if user.known_spam_action is KnownSpamAction.AI:
        return RoutingDecision(Decision.AI, reason)
    return RoutingDecision(Decision.REJECT, reason)


def fallback(reason: Reason) -> RoutingDecision:
    """When routing itself fails (an error, no directory and no cache), the AI answers: never drop a call."""
    return RoutingDecision(Decision.AI, reason)
