"""Data access of profile-analytics: spam profiles, feedback, summaries and statistics over call records."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from answer_ninja.platform.cache import Cache
from answer_ninja.platform.db.models import CallerFeedback, CallRecord, SpamProfile
from answer_ninja.services.phone_gateway.cache_keys import PROFILES_COMPLETE_KEY, routing_profile_key
from answer_ninja.services.phone_gateway.invalidation import announce
from answer_ninja.services.profile_analytics.learning import Evidence, assess, is_spam_intent
from answer_ninja.services.profile_analytics.models import Period, ProfileOut, StatsOut

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


def reassess(profile: SpamProfile) -> None:
    evidence = Evidence(profile.total_calls, profile.spam_calls, profile.spam_reports, profile.not_spam_reports)
    result = assess(evidence, profile.category_counts or {})
    profile.risk_score, profile.confidence, profile.category = result.risk_score, result.confidence, result.category


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


async def recount_reports(session: AsyncSession, *, profile: SpamProfile) -> None:
    rows = await session.execute(
        select(CallerFeedback.verdict, func.count())
        .where(CallerFeedback.caller_hash == profile.caller_hash)
        .group_by(CallerFeedback.verdict)
    )
    counts = {verdict: int(count) for verdict, count in rows.all()}
    profile.spam_reports = counts.get("spam", 0)
    profile.not_spam_reports = counts.get("not_spam", 0)


def routing_document(profile: SpamProfile) -> dict[str, Any]:
    return {"risk_score": profile.risk_score, "confidence": profile.confidence, "category": profile.category}


async def write_through(cache: Cache, profile: SpamProfile) -> None:
    """Put the new profile where phone-gateway looks first (no expiry: see PROFILES_COMPLETE_KEY)."""
    key = routing_profile_key(profile.caller_hash)
    await cache.set_json(key, routing_document(profile))
    await announce(cache, key)


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
    rejected = [record for record in records if record.decision == "reject" and record.decision_reason == "known_spam"]
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
