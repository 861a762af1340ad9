"""Orchestration of profile-analytics: learn from a finished call, learn from a user's verdict."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from answer_ninja.platform.app_factory import ServiceContext
from answer_ninja.platform.auth.keys import secret_bytes
from answer_ninja.platform.db.models import CallerFeedback, CallRecord, ConversationTurn, SpamProfile
from answer_ninja.platform.logging import get_logger
from answer_ninja.services.profile_analytics import notifier, service
from answer_ninja.services.profile_analytics.learning import is_legitimate_intent, is_spam_intent
from answer_ninja.services.profile_analytics.summaries import Line, lines_from_transcript, summarise
from answer_ninja.telephony.phone_numbers import caller_hash

log = get_logger(__name__)


class CallNotFoundError(LookupError):
    pass


def hash_of(ctx: ServiceContext, e164: str) -> str:
    return caller_hash(e164, secret_bytes(ctx, "profile_hash_secret"))


async def learn_from_finished_call(ctx: ServiceContext, *, call_id: str) -> tuple[bool, CallRecord, SpamProfile | None]:
    """Summarise the call and update its caller's profile, once: a call already learned from is left alone.

    The call record is locked for the transaction, so two concurrent notifications cannot both learn.
    """
    now = datetime.now(UTC)
    async with ctx.require_database().session() as session:
        record = await session.scalar(select(CallRecord).where(CallRecord.id == call_id).with_for_update())
        if record is None:
            raise CallNotFoundError(call_id)
        if (record.summary or {}).get("learned_at"):
            profile = await service.get_profile(session, caller_hash=record.caller_hash) if record.caller_hash else None
            return False, record, profile
        lines = [
            Line(turn.speaker, turn.text, turn.intent) for turn in await _turns(session, record) if turn.text.strip()
        ] or lines_from_transcript(record.transcript or [])
        summary = summarise(
            record_intent=record.intent,
            outcome=record.outcome,
            decision=record.decision,
            duration_seconds=record.duration_seconds,
            lines=lines,
        )
        summary["learned_at"] = now.isoformat()
        record.summary = summary
        profile = None
        synthetic = bool((record.details or {}).get("synthetic"))
        if not synthetic and record.caller_number.startswith("+"):
            record.caller_hash = record.caller_hash or hash_of(ctx, record.caller_number)
            profile = await service.profile_for_update(session, caller_hash=record.caller_hash, now=now)
            profile.total_calls += 1
            if is_spam_intent(summary["intent"]):
                profile.spam_calls += 1
                service.count_category(profile, summary["intent"])
            profile.last_seen = now
            await service.reassess(session, profile)
        await session.commit()
    if profile is not None:
        await service.write_through(ctx.require_cache(), profile)
    if record.user_id and is_legitimate_intent(summary["intent"]) and not synthetic:
        await propose_whitelist(ctx, user_id=record.user_id, number=record.caller_number)
    if record.user_id and record.decision == "ai" and not synthetic:  # the person hears what the AI handled
        notifier.notify_in_background(ctx, user_id=record.user_id, caller=record.caller_number, summary=summary)
    log.info("call_learned", call_id=call_id, intent=summary["intent"], synthetic=synthetic)
    return True, record, profile


async def _turns(session: AsyncSession, record: CallRecord) -> list[ConversationTurn]:
    rows = await session.scalars(
        select(ConversationTurn).where(ConversationTurn.call_id == record.id).order_by(ConversationTurn.turn_index)
    )
    return list(rows.all())


async def learn_from_feedback(
    ctx: ServiceContext,
    *,
    user_id: str,
    number: str,
    verdict: str,
    category: str | None,
    comment: str,
    call_id: str | None,
) -> SpamProfile:
    """Record the user's verdict (replacing their earlier one on this caller), weighted by their standing, and
    re-assess the profile. The verdict applies to the user's own calls at once (written through for routing);
    for everyone else it counts only under the community rules (``learning``)."""
    now = datetime.now(UTC)
    hashed = hash_of(ctx, number)
    async with ctx.require_database().session() as session:
        profile = await service.profile_for_update(session, caller_hash=hashed, now=now)
        weight = await service.report_standing(session, user_id=user_id, caller_hash=hashed, now=now)
        await service.replace_feedback(
            session,
            feedback=CallerFeedback(
                user_id=user_id,
                caller_hash=hashed,
                call_id=call_id,
                verdict=verdict,
                category=category,
                comment=comment,
                weight=weight,
            ),
        )
        if verdict == "spam" and weight > 0:
            service.count_category(profile, category)
        profile.last_seen = now
        await service.reassess(session, profile)
        await session.commit()
    cache = ctx.require_cache()
    await service.write_verdict(cache, user_id=user_id, caller_hash=hashed, verdict=verdict)
    await service.write_through(cache, profile)
    if verdict == "not_spam":
        await propose_whitelist(ctx, user_id=user_id, number=number)
    log.info("feedback_learned", verdict=verdict, weight=weight, risk_score=profile.risk_score)
    return profile


async def propose_whitelist(ctx: ServiceContext, *, user_id: str, number: str) -> None:
    """Ask user-management to propose a "learned" whitelist entry; it waits for the user's yes. Best effort."""
    url = ctx.settings.user_management_url + "/internal/v1/whitelist/learned"
    try:
        response = await ctx.require_http().post(url, json={"user_id": user_id, "number": number})
        response.raise_for_status()
    except Exception as error:  # a proposal is a nicety: learning must not fail because user-management is away
        log.warning("whitelist_proposal_failed", error=type(error).__name__)
