"""How a caller profile learns: the update rule, pure and explainable.

Evidence about a caller (shared across users, keyed by an HMAC of the number):

* spam evidence  = spam_calls + 2 x (counted weight of "spam" reports)
* ham evidence   = (total_calls - spam_calls) + 2 x (counted weight of "not_spam" reports)

``spam_calls`` are finished calls whose conversation found an unwanted intent (``calls.vocabulary.Intent``:
sales, loan, investment, insurance, telecom, survey, real estate, scam); a finished call without one counts as
weak evidence of a legitimate caller.

Reports (users' verdicts) are where abuse between users comes in: two fresh accounts reporting a number used to
take it to risk 0.83 and have it rejected for every user (issue 10). So a report counts in two places:

* For its author, at once and fully: their own calls from that number are rejected (or answered by the AI) per
  their settings, or, for "not_spam", the shared profile no longer applies to them (``calls/routing.py``).
* For everyone else (this profile), only under the community rules:
  1. the reporter must have received a call from the number (a call record says so); otherwise weight 0;
  2. the report weighs the reporter's standing, 0..1 (``standing``): how long they have been receiving calls
     through us (full after FULL_STANDING_DAYS days) times how often their past reports agreed with the
     community's view of those numbers ((agreed + 1) / (agreed + disagreed + 1));
  3. reports of one verdict count only once at least MIN_REPORTERS distinct reporters with weight > 0 made it.
  Each user has one verdict per caller (their latest), so nobody can push a number by reporting it a hundred
  times. A report's weight is fixed when it is made (reporting again refreshes it).

A counted report still weighs twice a call (REPORT_WEIGHT), because a person looked at it.

* risk_score = (spam + 1) / (spam + ham + 2)   -- the Laplace rule of succession: 0.5 with no evidence, moving
  towards the observed spam share as evidence accumulates, never exactly 0 or 1.
* confidence = n / (n + 5), n = spam + ham     -- 0 with no evidence, 0.5 after five units, approaching 1.
* category = the most frequent spam category seen (calls and reports), "unknown" until there is one.

Examples: two fresh accounts report a number that never called them: both weights are 0, nothing counts for
others, risk stays 0.5 (below the default threshold 0.8), and only those two accounts reject it. Three users of
two weeks' standing who each received its calls report it: spam = 2 x 3 = 6, risk = 7/8 = 0.875, rejected for
everyone whose threshold is 0.8. ``explain`` writes all of this into the profile's ``evidence``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from answer_ninja.calls.vocabulary import Intent

# A counted report weighs as much as two calls: a human judgement is stronger evidence than a classifier's.
REPORT_WEIGHT = 2
# Evidence needed for confidence 0.5: five units (five calls, or two reports and a call).
CONFIDENCE_HALF_POINT = 5.0
# Distinct reporters (weight > 0) one verdict needs before it counts for anyone but them: one or two accounts,
# however old, cannot take a number out for everybody.
MIN_REPORTERS = 3
# Days of receiving calls through us before a reporter's standing is full (a fresh account weighs nothing).
FULL_STANDING_DAYS = 14.0
# A profile this far from even odds has a view a past report can agree or disagree with.
VIEW_MARGIN = 0.1


def standing(*, received_call: bool, days_receiving_calls: float, agreed: int, disagreed: int) -> float:
    """The weight of one report for other users, 0..1 (rules 1 and 2 of the module docstring)."""
    if not received_call:
        return 0.0
    tenure = min(1.0, max(0.0, days_receiving_calls) / FULL_STANDING_DAYS)
    track_record = (agreed + 1) / (agreed + disagreed + 1)
    return round(tenure * track_record, 4)


def agrees(verdict: str, risk_score: float) -> bool | None:
    """Whether a verdict agrees with a profile's view (None: the profile has no view yet)."""
    if abs(risk_score - 0.5) < VIEW_MARGIN:
        return None
    return (verdict == "spam") == (risk_score > 0.5)


@dataclass(frozen=True)
class Reports:
    """The reports of one verdict on a caller: how many, how many with weight > 0, and their summed weight."""

    received: int = 0
    weighted: int = 0
    weight: float = 0.0

    @property
    def counted(self) -> bool:
        return self.weighted >= MIN_REPORTERS

    @property
    def counted_weight(self) -> float:
        return self.weight if self.counted else 0.0


@dataclass(frozen=True)
class Evidence:
    total_calls: int
    spam_calls: int
    spam_reports: Reports = Reports()
    not_spam_reports: Reports = Reports()

    @property
    def spam(self) -> float:
        return self.spam_calls + REPORT_WEIGHT * self.spam_reports.counted_weight

    @property
    def ham(self) -> float:
        return max(0, self.total_calls - self.spam_calls) + REPORT_WEIGHT * self.not_spam_reports.counted_weight


@dataclass(frozen=True)
class Assessment:
    risk_score: float
    confidence: float
    category: str


def assess(evidence: Evidence, category_counts: Mapping[str, int]) -> Assessment:
    """Apply the module docstring's rule."""
    spam, ham = evidence.spam, evidence.ham
    total = spam + ham
    risk = (spam + 1) / (total + 2)
    confidence = total / (total + CONFIDENCE_HALF_POINT)
    known = {name: count for name, count in category_counts.items() if name != "unknown" and count > 0}
    category = max(sorted(known), key=lambda name: known[name]) if known else "unknown"
    return Assessment(risk_score=round(risk, 4), confidence=round(confidence, 4), category=category)


def explain(evidence: Evidence, assessment: Assessment) -> dict[str, Any]:
    """The profile's ``evidence``: which rule, how many reporters, which weights, for people to read."""

    def reports(item: Reports) -> dict[str, Any]:
        return {
            "reporters": item.received,
            "reporters_with_weight": item.weighted,
            "weight": round(item.weight, 4),
            "counted": item.counted,
            "why": (
                f"counted: {item.weighted} reporters who received its calls (>= {MIN_REPORTERS})"
                if item.counted
                else f"not counted for others: {item.weighted} of {MIN_REPORTERS} reporters needed received its calls"
                " with standing"
            ),
        }

    return {
        "rule": "risk = (spam + 1) / (spam + ham + 2); spam = spam calls + 2 x counted spam-report weight; "
        "ham = other calls + 2 x counted not-spam-report weight",
        "calls": {"total": evidence.total_calls, "spam": evidence.spam_calls},
        "spam_reports": reports(evidence.spam_reports),
        "not_spam_reports": reports(evidence.not_spam_reports),
        "min_reporters": MIN_REPORTERS,
        "spam_evidence": round(evidence.spam, 4),
        "ham_evidence": round(evidence.ham, 4),
        "risk_score": assessment.risk_score,
    }


def _intent(name: str | None) -> Intent | None:
    try:
        return Intent(name.lower()) if name else None
    except ValueError:  # a label outside the system's taxonomy says nothing either way
        return None


def is_spam_intent(name: str | None) -> bool:
    """Sales, loan, investment, insurance, telecom, survey, real estate, scam: the taxonomy's unwanted calls."""
    intent = _intent(name)
    return intent is not None and intent.is_unwanted


def is_legitimate_intent(name: str | None) -> bool:
    return _intent(name) is Intent.LEGITIMATE
