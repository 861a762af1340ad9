"""Data access of phone-gateway: call records, from the first webhook to the end of the call."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from answer_ninja.platform.db.models import CallRecord


def utcnow() -> datetime:
    return datetime.now(UTC)


async def find_by_carrier_id(session: AsyncSession, *, carrier: str, carrier_call_id: str) -> CallRecord | None:
    return await session.scalar(
        select(CallRecord).where(CallRecord.carrier == carrier, CallRecord.carrier_call_id == carrier_call_id)
    )


async def update_record(session: AsyncSession, *, record: CallRecord, **changes: Any) -> None:
    for name, value in changes.items():
        setattr(record, name, value)
    await session.commit()


def mark_status(record: CallRecord, status: str, *, now: datetime, duration: float | None = None) -> None:
    """Move the record along (answered, in-progress, completed, failed ...), keeping the times consistent."""
    record.status = status
    if status in ("in-progress", "answered") and record.answered_at is None:
        record.answered_at = now
    if status in ("completed", "busy", "failed", "no-answer", "canceled", "rejected", "ended"):
        record.ended_at = record.ended_at or now
        if duration is not None:
            record.duration_seconds = duration
        elif record.duration_seconds is None and record.answered_at is not None:
            answered = record.answered_at if record.answered_at.tzinfo else record.answered_at.replace(tzinfo=UTC)
            record.duration_seconds = round((now - answered).total_seconds(), 3)
