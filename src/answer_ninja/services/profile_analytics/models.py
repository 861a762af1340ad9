"""Request and response bodies of profile-analytics."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from answer_ninja.services.user_management.schemas import ID_PATTERN, RequestModel, UtcDatetime

Period = Literal["day", "week", "month"]


class ProfileOut(BaseModel):
    caller_hash: str
    category: str
    risk_score: float
    confidence: float
    total_calls: int
    spam_calls: int
    spam_reports: int
    not_spam_reports: int
    first_seen: UtcDatetime
    last_seen: UtcDatetime
    # How the risk was reached: the rule, the calls, which reports counted for everyone, with their weights.
    evidence: dict[str, Any] = Field(default_factory=dict)
    # The asking user's own latest verdict on this caller (internal lookups for routing; null otherwise).
    own_verdict: Literal["spam", "not_spam"] | None = None


class FeedbackIn(RequestModel):
    model_config = ConfigDict(extra="forbid")

    verdict: Literal["spam", "not_spam"]
    # The caller: either a number, or one of the user's own calls.
    number: str | None = Field(default=None, min_length=3, max_length=40)
    call_id: str | None = Field(default=None, pattern=ID_PATTERN)
    category: str | None = Field(default=None, min_length=1, max_length=24, pattern=r"^[a-z_]+$")
    comment: str = Field(default="", max_length=1000)


class FinishedOut(BaseModel):
    call_id: str
    learned: bool  # false when this call had been learned from already (the endpoint is idempotent)
    summary: dict[str, Any]
    profile: ProfileOut | None


class SummaryOut(BaseModel):
    call_id: str
    caller_number: str
    started_at: UtcDatetime
    decision: str | None
    summary: dict[str, Any]


class StatsOut(BaseModel):
    period: Period
    since: UtcDatetime
    calls_total: int
    answered_by_ai: int
    spam_blocked: int
    transferred: int
    time_saved_seconds: float
