"""Proving a number: a 6-digit code sent to it by SMS or call; the user types it back.

Codes are random (``secrets``), stored only as an HMAC (key derived from JWT_SECRET for this purpose, bound to the
claim's id, so a code is worth nothing for another claim), expire after VERIFICATION_CODE_SECONDS, work once
(the claim is deleted on success) and allow VERIFICATION_MAX_ATTEMPTS wrong tries before a new code is needed.
Sending is throttled three ways: one code per claim per VERIFICATION_RESEND_SECONDS, VERIFICATION_SENDS_PER_HOUR
per user, and the same per number across all users (nobody may use us to flood someone's phone with codes, nor
pump SMS to premium destinations).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from fastapi import HTTPException
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from answer_ninja.platform.app_factory import ServiceContext
from answer_ninja.platform.auth.keys import secret_bytes
from answer_ninja.platform.auth.tokens import derived_key
from answer_ninja.platform.db.models import NumberVerification
from answer_ninja.platform.logging import get_logger
from answer_ninja.services.user_management.errors import field_error
from answer_ninja.services.user_management.schemas import as_utc
from answer_ninja.services.user_management.throttle import Quota, ThrottleRule
from answer_ninja.telephony.code_delivery import Channel, CodeSender, LoopbackSender, TwilioSender

log = get_logger(__name__)

CODE_DIGITS = 6
HOUR = 3600.0


def new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def code_digest(key: bytes, claim_id: str, code: str) -> str:
    return hmac.new(key, f"{claim_id}:{code}".encode(), hashlib.sha256).hexdigest()


def sender_of(ctx: ServiceContext) -> CodeSender:
    """The configured carrier for codes (built once per process)."""
    sender = ctx.extras.get("code_sender")
    if sender is None:
        settings = ctx.settings
        if settings.verification_carrier == "twilio":
            if not (settings.twilio_account_sid and settings.twilio_auth_token and settings.twilio_from_number):
                raise HTTPException(
                    status_code=503,
                    detail="verification: the SMS carrier is not configured (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, "
                    "TWILIO_FROM_NUMBER)",
                )
            sender = TwilioSender(
                account_sid=settings.twilio_account_sid,
                auth_token=settings.twilio_auth_token.get_secret_value(),
                from_number=settings.twilio_from_number,
                api_url=settings.twilio_api_url,
            )
        else:
            sender = LoopbackSender()
        ctx.extras["code_sender"] = sender
    return sender


@dataclass(frozen=True)
class Sent:
    number: str
    channel: Channel
    expires_at: datetime
    resend_after_seconds: float


def _key(ctx: ServiceContext) -> bytes:
    return derived_key(secret_bytes(ctx, "jwt_secret"), "number-verification")


async def _claim(session: AsyncSession, *, user_id: str, purpose: str, number: str) -> NumberVerification | None:
    return await session.scalar(
        select(NumberVerification).where(
            NumberVerification.user_id == user_id,
            NumberVerification.purpose == purpose,
            NumberVerification.number == number,
        )
    )


async def send_code(
    ctx: ServiceContext, session: AsyncSession, *, user_id: str, purpose: str, number: str, channel: Channel
) -> Sent:
    """Make (or renew) the claim's code and send it; commits. 429 when a throttle says no."""
    settings = ctx.settings
    now = datetime.now(UTC)
    claim = await _claim(session, user_id=user_id, purpose=purpose, number=number)
    if claim is not None:
        waited = (now - as_utc(claim.sent_at)).total_seconds()
        if waited < settings.verification_resend_seconds:
            retry = int(settings.verification_resend_seconds - waited) + 1
            raise HTTPException(
                status_code=429,
                detail=f"verification: a code was sent {int(waited)} s ago; ask again in {retry} s",
                headers={"Retry-After": str(retry)},
            )
    cache = ctx.require_cache()
    per_user = ThrottleRule("code-user", "codes sent for this account", 0, HOUR, HOUR, HOUR)
    per_number = ThrottleRule("code-number", "codes sent to this number", 0, HOUR, HOUR, HOUR)
    await Quota(cache, per_user, settings.verification_sends_per_hour).take(user_id, "verification")
    await Quota(cache, per_number, settings.verification_sends_per_hour).take(number, "verification")
    if claim is None:
        claim = NumberVerification(user_id=user_id, purpose=purpose, number=number, code_hash="", expires_at=now)
        session.add(claim)
        await session.flush()  # the id binds the code's digest
    code = new_code()
    claim.code_hash = code_digest(_key(ctx), claim.id, code)
    claim.channel = channel
    claim.attempts = 0
    claim.sent_at = now
    claim.expires_at = now + timedelta(seconds=settings.verification_code_seconds)
    await session.commit()
    try:
        await sender_of(ctx).send(number=number, code=code, channel=channel)
    except HTTPException:
        raise
    except Exception as error:  # the carrier refused or is unreachable: say so, the user may ask again
        log.warning("verification_send_failed", channel=channel, error_type=type(error).__name__)
        raise HTTPException(status_code=502, detail="verification: the carrier did not take the code; retry") from None
    log.info("verification_code_sent", purpose=purpose, channel=channel, carrier=sender_of(ctx).name)
    return Sent(number, channel, claim.expires_at, settings.verification_resend_seconds)


async def check_code(
    ctx: ServiceContext, session: AsyncSession, *, user_id: str, purpose: str, number: str, code: str
) -> None:
    """Accept the code (the claim is consumed, not committed here) or raise 422/429 naming ``code``."""
    settings = ctx.settings
    claim = await _claim(session, user_id=user_id, purpose=purpose, number=number)
    if claim is None:
        raise field_error("code", "no code was sent for this number: ask for one")
    if as_utc(claim.expires_at) <= datetime.now(UTC):
        await session.delete(claim)
        await session.commit()
        raise field_error("code", "expired: ask for a new one")
    if claim.attempts >= settings.verification_max_attempts:
        raise HTTPException(
            status_code=429,
            detail="code: too many wrong codes; ask for a new one",
            headers={"Retry-After": str(int(settings.verification_resend_seconds) or 1)},
        )
    if not hmac.compare_digest(code_digest(_key(ctx), claim.id, code), claim.code_hash):
        claim.attempts += 1
        left = settings.verification_max_attempts - claim.attempts
        await session.commit()
        raise field_error("code", f"wrong code ({left} tries left)")
    await session.delete(claim)


async def forget(session: AsyncSession, *, user_id: str, purpose: str, number: str) -> None:
    claim = await _claim(session, user_id=user_id, purpose=purpose, number=number)
    if claim is not None:
        await session.delete(claim)
