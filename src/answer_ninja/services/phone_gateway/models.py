"""Request and response bodies of phone-gateway's JSON endpoints."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from answer_ninja.services.user_management.schemas import RequestModel, UtcDatetime

Carrier = Literal["generic", "loopback"]


class IncomingCallIn(RequestModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    from_: str = Field(alias="from", min_length=1, max_length=40, examples=["+8613800138000"])
    to: str = Field(min_length=3, max_length=40, examples=["+8610000000000"])
    call_id: str | None = Field(default=None, min_length=1, max_length=128, description="The carrier's call id")
    carrier: Carrier = "generic"


class DecisionOut(BaseModel):
    call_id: str
    decision: Literal["ai", "transfer", "reject", "ring"]
    reason: str
    latency_ms: float
    stream_url: str | None = None
    transfer_to: str | None = None
    parameters: dict[str, str] = Field(default_factory=dict, description="What the media stream is told")


class CallStatusIn(RequestModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["answered", "in-progress", "completed", "failed", "ended", "transfer_failed"]
    duration_seconds: float | None = Field(default=None, ge=0, le=86400)


class CallRecordOut(BaseModel):
    id: str
    user_id: str | None
    carrier: str
    carrier_call_id: str
    caller_number: str
    dialled_number: str
    decision: str | None
    decision_reason: str | None
    decision_latency_ms: float | None
    status: str
    outcome: str | None
    started_at: UtcDatetime
    answered_at: UtcDatetime | None
    ended_at: UtcDatetime | None
    duration_seconds: float | None
    details: dict[str, Any]
