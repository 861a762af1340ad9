"""How a caller profile learns: the update rule, pure and explainable.

Evidence about a caller (counted over everything we know, shared across users):

* spam evidence  = spam_calls + 2 x spam_reports
* ham evidence   = (total_calls - spam_calls) + 2 x not_spam_reports

``spam_calls`` are finished calls whose conversation found an unwanted intent (``calls.vocabulary.Intent``:
sales, loan, investment, insurance, telecom, survey, real estate, scam); a finished call without one counts as
weak evidence of a legitimate caller. A user's verdict counts twice as much as a call, because a person looked
at it; each user has one verdict per caller (their latest), so one user cannot push a number to "spam" by
reporting it a hundred times.

* risk_score = (spam + 1) / (spam + ham + 2)   -- the Laplace rule of succession: 0.5 with no evidence, moving
  towards the observed spam share as evidence accumulates, never exactly 0 or 1.
* confidence = n / (n + 5), n = spam + ham     -- 0 with no evidence, 0.5 after five units, approaching 1.
* category = the most frequent spam category seen (calls and reports), "unknown" until there is one.

Example: two users report a number as spam and it made no other call: spam = 4, ham = 0, risk = 5/6 = 0.83,
which is above the default threshold 0.8, so phone-gateway rejects the next call from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from answer_ninja.calls.vocabulary import Intent

# A user's verdict weighs as much as two calls: a human judgement is stronger evidence than a classifier's.
REPORT_WEIGHT = 2
# Evidence needed for confidence 0.5: five units (five calls, or two reports and a call).
CONFIDENCE_HALF_POINT = 5.0


@dataclass(frozen=True)
class Evidence:
    total_calls: int
    spam_calls: int
    spam_reports: int
    not_spam_reports: int

    @property
    def spam(self) -> float:
        return self.spam_calls + REPORT_WEIGHT * self.spam_reports

    @property
    def ham(self) -> float:
        return max(0, self.total_calls - self.spam_calls) + REPORT_WEIGHT * self.not_spam_reports


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
