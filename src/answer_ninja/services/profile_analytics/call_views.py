"""A person's own calls, for the console and any client: the list (newest first, live ones apart, paginated by a
cursor), one call in full (transcript with per-turn timings, summary, the caller's profile and the person's own
verdict), and day-by-day statistics. Another person's call answers 404, as if it did not exist.

profile-analytics serves them because it already reads finished calls to summarise and learn from them; the
records stay phone-gateway's and realtime-processor's (this module only reads).
"""

from __future__ import annotations

import base64
import binascii
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel
from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from answer_ninja.platform.app_factory import ServiceContext, context_of
from answer_ninja.platform.auth.dependencies import UserId
from answer_ninja.platform.db.models import CallerFeedback, CallRecord, ConversationTurn
from answer_ninja.services.profile_analytics import service
from answer_ninja.services.profile_analytics.models import ProfileOut
from answer_ninja.services.user_management.errors import field_error
from answer_ninja.services.user_management.schemas import UtcDatetime, as_utc, id_path

router = APIRouter()
Ctx = Depends(context_of)

# Statuses after which a call is over; anything else on an AI call is live.
FINAL_STATUSES = frozenset({"completed", "ended", "rejected", "failed", "busy", "no-answer", "canceled"})
# A call still "live" after this long lost its end (a crashed stream): it is not shown as live any more.
LIVE_AT_MOST = timedelta(hours=2)
PAGE_MAX = 100
STATS_DAYS_MAX = 90


class CallItem(BaseModel):
    id: str
    caller_number: str
    started_at: UtcDatetime
    ended_at: UtcDatetime | None
    decision: str | None
    decision_reason: str | None
    intent: str | None
    outcome: str | None
    status: str
    duration_seconds: float | None
    live: bool


class CallPage(BaseModel):
    calls: list[CallItem]
    live: list[CallItem]
    next: str | None  # cursor of the next (older) page


class TurnOut(BaseModel):
    turn: int
    speaker: str
    text: str
    intent: str | None
    stage: str | None
    interrupted: bool
    timings_ms: dict[str, Any]


class CallDetail(CallItem):
    dialled_number: str
    carrier: str
    decision_latency_ms: float | None
    answered_at: UtcDatetime | None
    transcript: list[Any]
    turns: list[TurnOut]
    turn_timings: list[Any]
    summary: dict[str, Any]
    details: dict[str, Any]
    profile: ProfileOut | None
    my_verdict: str | None


class DayCount(BaseModel):
    day: str
    decisions: dict[str, int]


class DailyStats(BaseModel):
    days: list[DayCount]
    intents: dict[str, int]
    calls_total: int
    minutes_saved: float


def is_live(record: CallRecord, now: datetime) -> bool:
    return (
        record.decision == "ai"
        and record.status not in FINAL_STATUSES
        and record.ended_at is None
        and now - as_utc(record.started_at) < LIVE_AT_MOST
    )


def _item(record: CallRecord, now: datetime) -> CallItem:
    return CallItem(
        id=record.id,
        caller_number=record.caller_number,
        started_at=record.started_at,
        ended_at=record.ended_at,
        decision=record.decision,
        decision_reason=record.decision_reason,
        intent=record.intent,
        outcome=record.outcome,
        status=record.status,
        duration_seconds=record.duration_seconds,
        live=is_live(record, now),
    )


def encode_cursor(record: CallRecord) -> str:
    raw = f"{as_utc(record.started_at).isoformat()}|{record.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        moment, call_id = raw.split("|", 1)
        return as_utc(datetime.fromisoformat(moment)), call_id
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise field_error("before", "not a cursor this service gave", location="query") from None


@router.get("/api/v1/calls", response_model=CallPage, tags=["calls"])
async def list_calls(
    limit: int = Query(default=20, ge=1, le=PAGE_MAX),
    before: str | None = Query(default=None, max_length=200),
    user_id: str = UserId,
    ctx: ServiceContext = Ctx,
) -> CallPage:
    """The person's calls, newest first; ``live`` lists the calls the AI is on now (first page only)."""
    now = datetime.now(UTC)
    mine = CallRecord.user_id == user_id
    query = select(CallRecord).where(mine)
    if before is not None:
        moment, call_id = decode_cursor(before)
        query = query.where(
            or_(CallRecord.started_at < moment, and_(CallRecord.started_at == moment, CallRecord.id < call_id))
        )
    query = query.order_by(CallRecord.started_at.desc(), CallRecord.id.desc()).limit(limit + 1)
    async with ctx.require_database().session() as session:
        records = list((await session.scalars(query)).all())
        live: list[CallRecord] = []
        if before is None:
            recent = select(CallRecord).where(
                mine,
                CallRecord.decision == "ai",
                CallRecord.ended_at.is_(None),
                CallRecord.started_at >= now - LIVE_AT_MOST,
            )
            live = [record for record in (await session.scalars(recent)).all() if is_live(record, now)]
    page = records[:limit]
    return CallPage(
        calls=[_item(record, now) for record in page],
        live=[_item(record, now) for record in sorted(live, key=lambda r: as_utc(r.started_at), reverse=True)],
        next=encode_cursor(page[-1]) if len(records) > limit else None,
    )


async def _turns(session: AsyncSession, call_id: str) -> list[TurnOut]:
    rows = await session.scalars(
        select(ConversationTurn)
        .where(ConversationTurn.call_id == call_id)
        .order_by(ConversationTurn.turn_index, ConversationTurn.speaker.desc())
    )
    return [
        TurnOut(
            turn=row.turn_index,
            speaker=row.speaker,
            text=row.text,
            intent=row.intent,
            stage=row.stage,
            interrupted=row.interrupted,
            timings_ms=row.timings_ms or {},
        )
        for row in rows.all()
    ]


@router.get("/api/v1/calls/{call_id}", response_model=CallDetail, tags=["calls"])
async def call_detail(call_id: str = id_path(), user_id: str = UserId, ctx: ServiceContext = Ctx) -> CallDetail:
    """One of the person's calls in full, with what we know about the caller."""
    now = datetime.now(UTC)
    async with ctx.require_database().session() as session:
        record = await service.user_call(session, user_id=user_id, call_id=call_id)
        if record is None:
            raise HTTPException(status_code=404, detail="call_id: no such call")
        turns = await _turns(session, call_id)
        profile = await service.get_profile(session, caller_hash=record.caller_hash) if record.caller_hash else None
        verdict = None
        if record.caller_hash:
            verdict = await session.scalar(
                select(CallerFeedback.verdict).where(
                    CallerFeedback.user_id == user_id, CallerFeedback.caller_hash == record.caller_hash
                )
            )
    item = _item(record, now)
    # Internal bookkeeping (lookup sources, timings) stays inside; the person sees what happened to the call.
    details = {key: value for key, value in (record.details or {}).items() if key in ("takeover", "hangup", "transfer")}
    return CallDetail(
        **item.model_dump(),
        dialled_number=record.dialled_number,
        carrier=record.carrier,
        decision_latency_ms=record.decision_latency_ms,
        answered_at=record.answered_at,
        transcript=list(record.transcript or []),
        turns=turns,
        turn_timings=list(record.turn_timings or []),
        summary=dict(record.summary or {}),
        details=details,
        profile=service.profile_out(profile) if profile is not None else None,
        my_verdict=verdict,
    )


@router.get("/api/v1/stats/daily", response_model=DailyStats, tags=["statistics"])
async def daily_stats(
    days: int = Query(default=30, ge=1, le=STATS_DAYS_MAX), user_id: str = UserId, ctx: ServiceContext = Ctx
) -> DailyStats:
    """Calls per day by decision, the callers' intents, and the person's minutes the AI saved, over ``days``."""
    now = datetime.now(UTC)
    first_day = (now - timedelta(days=days - 1)).date()
    since = datetime(first_day.year, first_day.month, first_day.day, tzinfo=UTC)
    query = select(
        CallRecord.started_at,
        CallRecord.decision,
        CallRecord.decision_reason,
        CallRecord.intent,
        CallRecord.duration_seconds,
        CallRecord.details,
    ).where(CallRecord.user_id == user_id, CallRecord.started_at >= since)
    async with ctx.require_database().session() as session:
        rows = (await session.execute(query)).all()
    per_day: dict[str, Counter[str]] = defaultdict(Counter)
    intents: Counter[str] = Counter()
    saved_seconds = 0.0
    total = 0
    for started_at, decision, reason, intent, duration, details in rows:
        if (details or {}).get("synthetic"):
            continue
        total += 1
        per_day[as_utc(started_at).date().isoformat()][decision or "unknown"] += 1
        if intent:
            intents[intent] += 1
        if decision == "ai":
            saved_seconds += duration or 0.0
        elif decision == "reject" and reason == "known_spam":  # as /api/v1/stats counts it
            saved_seconds += service.SECONDS_SAVED_PER_BLOCKED_CALL
    calendar = [(first_day + timedelta(days=offset)).isoformat() for offset in range(days)]
    return DailyStats(
        days=[DayCount(day=day, decisions=dict(per_day.get(day, Counter()))) for day in calendar],
        intents=dict(intents.most_common()),
        calls_total=total,
        minutes_saved=round(saved_seconds / 60, 1),
    )
