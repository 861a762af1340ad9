"""Data access of profile-analytics: spam profiles, feedback, summaries and statistics over call records."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from answer_ninja.platform.cache import Cache
from answer_ninja.platform.db.models import CallerFeedback, CallRecord, SpamProfile
from answer_ninja.services.phone_gateway.cache_keys import (
    PROFILES_COMPLETE_KEY,
    routing_profile_key,
    routing_verdict_key,
)
from answer_ninja.services.phone_gateway.invalidation import announce
from answer_ninja.services.profile_analytics.learning import (
    Evidence,
    Reports,
    agrees,
    assess,
    explain,
    is_spam_intent,
    standing,
)
from answer_ninja.services.profile_analytics.models import Period, ProfileOut, StatsOut
from answer_ninja.services.user_management.schemas import as_utc

PERIODS: dict[str, timedelta] = {"day": timedelta(days=1), "week": timedelta(days=7), "month": timedelta(days=30)}
# A blocked spam call still costs its user the time to look at the phone and decline it.
SECONDS_SAVED_PER_BLOCKED_CALL = 30.0
# Profiles are copied to Redis in pages of this many rows.
PROFILE_SYNC_PAGE = 1000


def profile_out(profile: SpamProfile) -> ProfileOut:
    return ProfileOut.model_validate(profile, from_attributes=True)


async def get_profile(session: AsyncSession, *, caller_hash: str) -> SpamProfile | None:
    return await session.get(SpamProfile, caller_hash)


async def profile_for_update(session: AsyncSession, *, caller_hash: str, now: datetime) -> SpamProfile:
    """The profile row locked for this transaction (PostgreSQL), created empty when the caller is new."""
    profile = await session.scalar(select(SpamProfile).where(SpamProfile.caller_hash == caller_hash).with_for_update())
    if profile is None:
        profile = SpamProfile(
            caller_hash=caller_hash,
            total_calls=0,
            spam_calls=0,
            spam_reports=0,
            not_spam_reports=0,
            category_counts={},
            first_seen=now,
            last_seen=now,
        )
        session.add(profile)
    return profile


# Past reports looked at for a reporter's track record (the most recent ones).
TRACK_RECORD_REPORTS = 200


async def reassess(session: AsyncSession, profile: SpamProfile) -> None:
    """Recount the caller's reports (all, and those that count for others) and apply the learning rule."""
    rows = await session.execute(
        select(
            CallerFeedback.verdict,
            func.count(),
            func.count().filter(CallerFeedback.weight > 0),
            func.coalesce(func.sum(CallerFeedback.weight), 0.0),
        )
        .where(CallerFeedback.caller_hash == profile.caller_hash)
        .group_by(CallerFeedback.verdict)
    )
    reports = {verdict: Reports(int(n), int(weighted), float(weight)) for verdict, n, weighted, weight in rows.all()}
    evidence = Evidence(
        profile.total_calls,
        profile.spam_calls,
        reports.get("spam", Reports()),
        reports.get("not_spam", Reports()),
    )
    result = assess(evidence, profile.category_counts or {})
    profile.spam_reports = evidence.spam_reports.received
    profile.not_spam_reports = evidence.not_spam_reports.received
    profile.risk_score, profile.confidence, profile.category = result.risk_score, result.confidence, result.category
    profile.evidence = explain(evidence, result)


async def report_standing(session: AsyncSession, *, user_id: str, caller_hash: str, now: datetime) -> float:
    """The weight of ``user_id``'s report on ``caller_hash`` for other users (``learning.standing``): from the call
    records (did the number call them; since when do they receive calls) and their past reports' agreement."""
    received = await session.scalar(
        select(func.count())
        .select_from(CallRecord)
        .where(CallRecord.user_id == user_id, CallRecord.caller_hash == caller_hash)
    )
    if not received:
        return 0.0
    first_call = await session.scalar(select(func.min(CallRecord.started_at)).where(CallRecord.user_id == user_id))
    days = (now - as_utc(first_call)).total_seconds() / 86400 if first_call is not None else 0.0
    past = await session.execute(
        select(CallerFeedback.verdict, SpamProfile.risk_score)
        .join(SpamProfile, SpamProfile.caller_hash == CallerFeedback.caller_hash)
        .where(CallerFeedback.user_id == user_id, CallerFeedback.caller_hash != caller_hash)
        .order_by(CallerFeedback.created_at.desc())
        .limit(TRACK_RECORD_REPORTS)
    )
    views = [agrees(verdict, float(risk)) for verdict, risk in past.all()]
    return standing(
        received_call=True,
        days_receiving_calls=days,
        agreed=sum(1 for view in views if view is True),
        disagreed=sum(1 for view in views if view is False),
    )


def count_category(profile: SpamProfile, category: str | None) -> None:
    if category and category != "unknown":
        counts = dict(profile.category_counts or {})
        counts[category] = int(counts.get(category, 0)) + 1
        profile.category_counts = counts  # a new dict: JSON columns are not mutation-tracked


async def replace_feedback(session: AsyncSession, *, feedback: CallerFeedback) -> None:
    """Keep one verdict per user and caller: the latest."""
    await session.execute(
        delete(CallerFeedback).where(
            CallerFeedback.user_id == feedback.user_id, CallerFeedback.caller_hash == feedback.caller_hash
        )
    )
    session.add(feedback)
    await session.flush()


def routing_document(profile: SpamProfile) -> dict[str, Any]:
    return {"risk_score": profile.risk_score, "confidence": profile.confidence, "category": profile.category}


async def write_through(cache: Cache, profile: SpamProfile) -> None:
    """Put the new profile where phone-gateway looks first (no expiry: see PROFILES_COMPLETE_KEY)."""
    key = routing_profile_key(profile.caller_hash)
    await cache.set_json(key, routing_document(profile))
    await announce(cache, key)


async def write_verdict(cache: Cache, *, user_id: str, caller_hash: str, verdict: str | None) -> None:
    """Put a user's own verdict where phone-gateway looks first: it applies to their calls at once."""
    key = routing_verdict_key(user_id, caller_hash)
    await cache.set_json(key, {"verdict": verdict})
    await announce(cache, key)


async def own_verdict(session: AsyncSession, *, user_id: str, caller_hash: str) -> str | None:
    return await session.scalar(
        select(CallerFeedback.verdict).where(
            CallerFeedback.user_id == user_id, CallerFeedback.caller_hash == caller_hash
        )
    )


async def copy_profiles_to_cache(session: AsyncSession, cache: Cache) -> int:
    """Copy every profile to the cache, then mark the copy complete; returns how many were copied."""
    copied, last = 0, ""
    while True:
        page = (
            await session.scalars(
                select(SpamProfile)
                .where(SpamProfile.caller_hash > last)
                .order_by(SpamProfile.caller_hash)
                .limit(PROFILE_SYNC_PAGE)
            )
        ).all()
        for profile in page:
            await cache.set_json(routing_profile_key(profile.caller_hash), routing_document(profile))
        copied += len(page)
        if len(page) < PROFILE_SYNC_PAGE:
            break
        last = page[-1].caller_hash
    last = ""
    while True:
        verdicts = (
            await session.scalars(
                select(CallerFeedback)
                .where(CallerFeedback.id > last)
                .order_by(CallerFeedback.id)
                .limit(PROFILE_SYNC_PAGE)
            )
        ).all()
        for feedback in verdicts:
            await cache.set_json(
                routing_verdict_key(feedback.user_id, feedback.caller_hash), {"verdict": feedback.verdict}
            )
        if len(verdicts) < PROFILE_SYNC_PAGE:
            break
        last = verdicts[-1].id
    await cache.set_json(PROFILES_COMPLETE_KEY, {"at": datetime.now(UTC).isoformat(), "profiles": copied})
    return copied


async def user_call(session: AsyncSession, *, user_id: str, call_id: str) -> CallRecord | None:
    return await session.scalar(select(CallRecord).where(CallRecord.id == call_id, CallRecord.user_id == user_id))


async def stats(session: AsyncSession, *, user_id: str, period: Period, now: datetime) -> StatsOut:
    """Per-user figures over the period. Synthetic probe calls have no user, so they never count."""
    since = now - PERIODS[period]
    records: Sequence[CallRecord] = (
        await session.scalars(select(CallRecord).where(CallRecord.user_id == user_id, CallRecord.started_at >= since))
    ).all()
    records = [record for record in records if not (record.details or {}).get("synthetic")]
    ai = [record for record in records if record.decision == "ai"]
    rejected = [
        record
        for record in records
        if record.decision == "reject" and record.decision_reason in ("known_spam", "own_report")
    ]
    # Spam the AI talked to is blocked too: it never reached the user.
    blocked = rejected + [record for record in ai if is_spam_intent(record.intent)]
    transferred = [record for record in records if record.decision in ("transfer", "ring")]
    saved = sum(record.duration_seconds or 0.0 for record in ai) + SECONDS_SAVED_PER_BLOCKED_CALL * len(rejected)
    return StatsOut(
        period=period,
        since=since,
        calls_total=len(records),
        answered_by_ai=len(ai),
        spam_blocked=len(blocked),
        transferred=len(transferred),
        time_saved_seconds=round(saved, 1),
    )
