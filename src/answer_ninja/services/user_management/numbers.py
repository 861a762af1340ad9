"""Routes for the numbers a user gives us, and proving them.

A hosted number (calls to it reach phone-gateway) and the real number (whitelisted calls are put through to it)
count only once proven: a 6-digit code goes to the number by SMS or call (``verification``), the user sends it
back. Until then a hosted number is "pending" (never routed) and a new real number waits in
``pending_real_number`` (calls keep going to the proven one). An operator may vouch for a number instead
(support, seeding a test stack): ``POST /api/v1/operator/numbers/verified``, ``answer-ninja users verify-number``.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Depends, HTTPException, Response
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from answer_ninja.platform.app_factory import ServiceContext, context_of
from answer_ninja.platform.auth.dependencies import OperatorPrincipal, Principal, UserId
from answer_ninja.platform.db.models import HostedNumber, User
from answer_ninja.platform.logging import get_logger
from answer_ninja.services.user_management import service, verification
from answer_ninja.services.user_management.errors import field_error
from answer_ninja.services.user_management.models import (
    CodeIn,
    HostedNumberIn,
    HostedNumberOut,
    OperatorVerification,
    UserOut,
    VerificationRequest,
    VerificationSent,
)
from answer_ninja.services.user_management.schemas import id_path
from answer_ninja.telephony.phone_numbers import InvalidPhoneNumberError, to_e164

log = get_logger(__name__)
router = APIRouter()
Ctx = Depends(context_of)


def _normalise(ctx: ServiceContext, raw: str, field: str) -> str:
    try:
        return to_e164(raw, region=ctx.settings.default_phone_region)
    except InvalidPhoneNumberError as error:
        raise field_error(field, f"not a phone number: {error}") from None


async def _invalidate(ctx: ServiceContext, numbers: list[str]) -> None:
    await service.invalidate_routing(ctx.require_cache(), numbers=numbers)


def _sent(sent: verification.Sent) -> VerificationSent:
    return VerificationSent(
        number=sent.number,
        channel=sent.channel,
        expires_at=sent.expires_at,
        resend_after_seconds=sent.resend_after_seconds,
    )


async def _own_number(session: AsyncSession, user_id: str, number_id: str) -> HostedNumber:
    hosted = await session.get(HostedNumber, number_id)
    if hosted is None or hosted.user_id != user_id:
        raise HTTPException(status_code=404, detail="number_id: no such hosted number")
    return hosted


async def _mark_proven(ctx: ServiceContext, session: AsyncSession, hosted: HostedNumber) -> None:
    """Make the claim proven and commit; 409 when another user holds the number proven (checked by the
    partial unique index too, so two proofs racing cannot both win)."""
    owner = await service.number_owner(session, number=hosted.number)
    if owner is not None and owner != hosted.user_id:
        raise HTTPException(status_code=409, detail="number: already hosted by another account")
    hosted.verified_at = datetime.now(UTC)
    await service.touch_routing(session, user_id=hosted.user_id)
    try:
        await session.commit()
    except IntegrityError:
        raise HTTPException(status_code=409, detail="number: already hosted by another account") from None


# --- hosted numbers -------------------------------------------------------------------------------------------


@router.get("/api/v1/me/numbers", response_model=list[HostedNumberOut], tags=["numbers"])
async def list_numbers(user_id: str = UserId, ctx: ServiceContext = Ctx) -> list[HostedNumberOut]:
    async with ctx.require_database().session() as session:
        rows = await session.scalars(
            select(HostedNumber).where(HostedNumber.user_id == user_id).order_by(HostedNumber.created_at)
        )
        return [service.hosted_out(number) for number in rows.all()]


@router.post("/api/v1/me/numbers", status_code=201, response_model=HostedNumberOut, tags=["numbers"])
async def add_number(body: HostedNumberIn, user_id: str = UserId, ctx: ServiceContext = Ctx) -> HostedNumberOut:
    """Claim a number: it stays pending (not routed) until the code sent to it comes back to .../verify."""
    number = _normalise(ctx, body.number, "number")
    async with ctx.require_database().session() as session:
        owner = await service.number_owner(session, number=number)
        if owner is not None:
            detail = "number: already yours" if owner == user_id else "number: already hosted by another account"
            raise HTTPException(status_code=409, detail=detail)
        hosted = HostedNumber(user_id=user_id, number=number)
        session.add(hosted)
        try:
            await session.commit()
        except IntegrityError:
            raise HTTPException(status_code=409, detail="number: already claimed by you; verify it") from None
        out = service.hosted_out(hosted)
        await verification.send_code(
            ctx, session, user_id=user_id, purpose="hosted", number=number, channel=body.channel
        )
    return out


@router.post(
    "/api/v1/me/numbers/{number_id}/verification", status_code=202, response_model=VerificationSent, tags=["numbers"]
)
async def resend_number_code(
    body: VerificationRequest, number_id: str = id_path(), user_id: str = UserId, ctx: ServiceContext = Ctx
) -> VerificationSent:
    """Send a new code to a pending number (throttled: once a minute, a few an hour)."""
    async with ctx.require_database().session() as session:
        hosted = await _own_number(session, user_id, number_id)
        if hosted.verified:
            raise HTTPException(status_code=409, detail="number_id: already verified")
        number = hosted.number
        sent = await verification.send_code(
            ctx, session, user_id=user_id, purpose="hosted", number=number, channel=body.channel
        )
    return _sent(sent)


@router.post("/api/v1/me/numbers/{number_id}/verify", response_model=HostedNumberOut, tags=["numbers"])
async def verify_number(
    body: CodeIn, number_id: str = id_path(), user_id: str = UserId, ctx: ServiceContext = Ctx
) -> HostedNumberOut:
    """Prove a pending number with its code; from now on calls to it are routed to this user."""
    async with ctx.require_database().session() as session:
        hosted = await _own_number(session, user_id, number_id)
        if hosted.verified:
            return service.hosted_out(hosted)
        await verification.check_code(
            ctx, session, user_id=user_id, purpose="hosted", number=hosted.number, code=body.code
        )
        await _mark_proven(ctx, session, hosted)
        out = service.hosted_out(hosted)
    await _invalidate(ctx, [out.number])
    log.info("number_verified", purpose="hosted", user_id=user_id)
    return out


@router.delete("/api/v1/me/numbers/{number_id}", status_code=204, tags=["numbers"])
async def remove_number(number_id: str = id_path(), user_id: str = UserId, ctx: ServiceContext = Ctx) -> Response:
    async with ctx.require_database().session() as session:
        hosted = await _own_number(session, user_id, number_id)
        number = hosted.number
        await verification.forget(session, user_id=user_id, purpose="hosted", number=number)
        await session.delete(hosted)
        await service.touch_routing(session, user_id=user_id)
        await session.commit()
    await _invalidate(ctx, [number])
    return Response(status_code=204)


# --- the real number (where whitelisted calls are put through) -------------------------------------------------


async def _user(session: AsyncSession, user_id: str) -> User:
    user = await service.get_user(session, user_id=user_id)
    if user is None:
        raise HTTPException(status_code=401, detail="user no longer exists")
    return user


@router.post("/api/v1/me/real-number/verification", status_code=202, response_model=VerificationSent, tags=["numbers"])
async def resend_real_number_code(
    body: VerificationRequest, user_id: str = UserId, ctx: ServiceContext = Ctx
) -> VerificationSent:
    async with ctx.require_database().session() as session:
        pending = (await _user(session, user_id)).pending_real_number
        if pending is None:
            raise field_error("real_number", "no new real number is waiting: set one with PATCH /api/v1/me")
        sent = await verification.send_code(
            ctx, session, user_id=user_id, purpose="forward", number=pending, channel=body.channel
        )
    return _sent(sent)


@router.post("/api/v1/me/real-number/verify", response_model=UserOut, tags=["numbers"])
async def verify_real_number(body: CodeIn, user_id: str = UserId, ctx: ServiceContext = Ctx) -> UserOut:
    """Prove the pending real number: from now on whitelisted calls are put through to it."""
    async with ctx.require_database().session() as session:
        user = await _user(session, user_id)
        if user.pending_real_number is None:
            raise field_error("code", "no new real number is waiting for a code")
        await verification.check_code(
            ctx, session, user_id=user_id, purpose="forward", number=user.pending_real_number, code=body.code
        )
        user.real_number, user.pending_real_number = user.pending_real_number, None
        await service.touch_routing(session, user_id=user_id)
        await session.commit()
        numbers = [number.number for number in user.hosted_numbers]
    await _invalidate(ctx, numbers)
    log.info("number_verified", purpose="forward", user_id=user_id)
    async with ctx.require_database().session() as session:
        return service.user_out(await _user(session, user_id))


# --- operators ------------------------------------------------------------------------------------------------


@router.post("/api/v1/operator/numbers/verified", response_model=UserOut, tags=["operator"])
async def operator_verify(
    body: OperatorVerification, principal: Principal = OperatorPrincipal, ctx: ServiceContext = Ctx
) -> UserOut:
    """An operator vouches for a user's pending number (hosted or real): it counts as proven. Logged with who."""
    number = _normalise(ctx, body.number, "number")
    async with ctx.require_database().session() as session:
        user = await service.get_user_by_email(session, email=body.email)
        if user is None:
            raise HTTPException(status_code=404, detail="email: no such user")
        if body.purpose == "forward":
            if user.pending_real_number != number:
                raise HTTPException(status_code=404, detail="number: not this user's pending real number")
            await verification.forget(session, user_id=user.id, purpose="forward", number=number)
            user.real_number, user.pending_real_number = number, None
            await service.touch_routing(session, user_id=user.id)
            await session.commit()
        else:
            hosted = next((item for item in user.hosted_numbers if item.number == number), None)
            if hosted is None:
                raise HTTPException(status_code=404, detail="number: not claimed by this user")
            await verification.forget(session, user_id=user.id, purpose="hosted", number=number)
            if not hosted.verified:
                await _mark_proven(ctx, session, hosted)
        user_id = user.id
        numbers = [item.number for item in user.hosted_numbers]
    await _invalidate(ctx, numbers)
    log.info("number_vouched", purpose=body.purpose, user_id=user_id, operator=principal.name)
    async with ctx.require_database().session() as session:
        return service.user_out(await _user(session, user_id))
