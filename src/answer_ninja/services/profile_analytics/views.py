"""HTTP routes of profile-analytics."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Depends, HTTPException, Path, Query

from answer_ninja.platform.app_factory import ServiceContext, context_of
from answer_ninja.platform.auth.dependencies import UserId, service_caller
from answer_ninja.services.profile_analytics import flows, service
from answer_ninja.services.profile_analytics.models import (
    FeedbackIn,
    FinishedOut,
    Period,
    ProfileOut,
    StatsOut,
    SummaryOut,
)
from answer_ninja.services.user_management.errors import field_error
from answer_ninja.services.user_management.schemas import HASH_PATTERN, ID_PATTERN, id_path
from answer_ninja.telephony.phone_numbers import InvalidPhoneNumberError, to_e164

router = APIRouter()
Ctx = Depends(context_of)


def _e164(ctx: ServiceContext, raw: str, field: str, location: str = "body") -> str:
    try:
        return to_e164(raw, region=ctx.settings.default_phone_region)
    except InvalidPhoneNumberError as error:
        raise field_error(field, f"not a phone number: {error}", location=location) from None


@router.post(
    "/internal/v1/calls/{call_id}/finished",
    response_model=FinishedOut,
    tags=["internal"],
    dependencies=[Depends(service_caller("realtime-processor"))],
)
async def call_finished(call_id: str = id_path(), ctx: ServiceContext = Ctx) -> FinishedOut:
    """realtime-processor's notice that a call ended: summarise it and learn from it (idempotent)."""
    try:
        learned, record, profile = await flows.learn_from_finished_call(ctx, call_id=call_id)
    except flows.CallNotFoundError:
        raise HTTPException(status_code=404, detail="call_id: no such call") from None
    return FinishedOut(
        call_id=record.id,
        learned=learned,
        summary=record.summary,
        profile=service.profile_out(profile) if profile is not None else None,
    )


@router.get("/api/v1/calls/{call_id}/summary", response_model=SummaryOut, tags=["calls"])
async def call_summary(call_id: str = id_path(), user_id: str = UserId, ctx: ServiceContext = Ctx) -> SummaryOut:
    async with ctx.require_database().session() as session:
        record = await service.user_call(session, user_id=user_id, call_id=call_id)
    if record is None:
        raise HTTPException(status_code=404, detail="call_id: no such call")
    return SummaryOut(
        call_id=record.id,
        caller_number=record.caller_number,
        started_at=record.started_at,
        decision=record.decision,
        summary=record.summary or {},
    )


@router.post("/api/v1/feedback", response_model=ProfileOut, tags=["profiles"])
async def feedback(body: FeedbackIn, user_id: str = UserId, ctx: ServiceContext = Ctx) -> ProfileOut:
    """The user's verdict on a caller, by number or by one of their calls; the profile learns from it."""
    if body.call_id is not None:
        async with ctx.require_database().session() as session:
            record = await service.user_call(session, user_id=user_id, call_id=body.call_id)
        if record is None:
            raise HTTPException(status_code=404, detail="call_id: no such call")
        number = _e164(ctx, record.caller_number, "call_id")
    elif body.number is not None:
        number = _e164(ctx, body.number, "number")
    else:
        raise field_error("number", "give the caller's number or a call_id")
    profile = await flows.learn_from_feedback(
        ctx,
        user_id=user_id,
        number=number,
        verdict=body.verdict,
        category=body.category,
        comment=body.comment,
        call_id=body.call_id,
    )
    return service.profile_out(profile)


@router.get("/api/v1/profiles/lookup", response_model=ProfileOut, tags=["profiles"])
async def lookup(
    number: str = Query(min_length=3, max_length=40), user_id: str = UserId, ctx: ServiceContext = Ctx
) -> ProfileOut:
    """What we know about a number (any signed-in user may ask: profiles are shared)."""
    hashed = flows.hash_of(ctx, _e164(ctx, number, "number", location="query"))
    return await _profile(ctx, hashed)


@router.get("/api/v1/stats", response_model=StatsOut, tags=["statistics"])
async def stats(period: Period = Query(default="week"), user_id: str = UserId, ctx: ServiceContext = Ctx) -> StatsOut:
    async with ctx.require_database().session() as session:
        return await service.stats(session, user_id=user_id, period=period, now=datetime.now(UTC))


@router.get(
    "/internal/v1/profiles/{caller_hash}",
    response_model=ProfileOut,
    tags=["internal"],
    dependencies=[Depends(service_caller("phone-gateway"))],
)
async def profile_by_hash(
    caller_hash: str = Path(pattern=HASH_PATTERN),
    user_id: str | None = Query(default=None, pattern=ID_PATTERN),
    ctx: ServiceContext = Ctx,
) -> ProfileOut:
    """For phone-gateway, which hashes numbers with the same secret: 404 when the caller is unknown. With
    ``user_id``, also that user's own verdict on the caller (it decides their calls at once)."""
    profile = await _profile(ctx, caller_hash)
    if user_id is not None:
        async with ctx.require_database().session() as session:
            verdict = await service.own_verdict(session, user_id=user_id, caller_hash=caller_hash)
        profile.own_verdict = verdict if verdict in ("spam", "not_spam") else None  # type: ignore[assignment]
    return profile


async def _profile(ctx: ServiceContext, caller_hash: str) -> ProfileOut:
    async with ctx.require_database().session() as session:
        profile = await service.get_profile(session, caller_hash=caller_hash)
    if profile is None:
        raise HTTPException(status_code=404, detail="caller: no profile yet")
    return service.profile_out(profile)
