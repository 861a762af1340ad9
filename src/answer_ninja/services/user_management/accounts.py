"""Creating accounts and signing in, with the protections issue 10 asks for: throttles with back-off, the same
answer and the same work for known and unknown emails, password hashing off the event loop with a bound.

Thresholds (Settings, docs/calls-and-users.md): 5 failed sign-ins per account and 20 per client address per
15 minutes are free; each further failure doubles the wait (2 s, 4 s, 8 s ... at most 15 min). 20 registrations per
address per hour.
"""

from __future__ import annotations

from fastapi import HTTPException, Request
from sqlalchemy.exc import IntegrityError

from answer_ninja.platform.app_factory import ServiceContext
from answer_ninja.platform.auth.dependencies import unauthorized
from answer_ninja.platform.db.models import HostedNumber, User
from answer_ninja.platform.logging import get_logger
from answer_ninja.services.user_management import service, verification
from answer_ninja.services.user_management.passwords import HashingBusyError, Passwords, busy
from answer_ninja.services.user_management.throttle import Quota, Throttle, ThrottleRule, too_many

log = get_logger(__name__)

HOUR = 3600.0


def client_address(request: Request) -> str:
    """The peer address (uvicorn resolves X-Forwarded-For only from FORWARDED_ALLOW_IPS, unset by default, so a
    client cannot pose as other addresses)."""
    return request.client.host if request.client is not None else "unknown"


def passwords_of(ctx: ServiceContext) -> Passwords:
    passwords = ctx.extras.get("passwords")
    if not isinstance(passwords, Passwords):
        settings = ctx.settings
        passwords = Passwords(
            concurrency=settings.password_hash_concurrency, wait_seconds=settings.password_hash_wait_seconds
        )
        ctx.extras["passwords"] = passwords
    return passwords


def login_throttles(ctx: ServiceContext) -> tuple[Throttle, Throttle]:
    settings = ctx.settings
    window, base, cap = (
        settings.login_failure_window_seconds,
        settings.login_backoff_base_seconds,
        settings.login_backoff_max_seconds,
    )
    cache = ctx.require_cache()
    account = ThrottleRule(
        "login-account", "failed sign-ins for this account", settings.login_account_free_failures, window, base, cap
    )
    address = ThrottleRule(
        "login-address", "failed sign-ins from this address", settings.login_address_free_failures, window, base, cap
    )
    return Throttle(cache, account), Throttle(cache, address)


def registration_quota(ctx: ServiceContext) -> Quota:
    rule = ThrottleRule("register-address", "registrations from this address", 0, HOUR, HOUR, HOUR)
    return Quota(ctx.require_cache(), rule, ctx.settings.register_address_limit_per_hour)


async def check_login(ctx: ServiceContext, *, email: str, password: str, address: str) -> User:
    """The user whose email and password these are; 429 while throttled, 401 otherwise (one message for an
    unknown email and a wrong password, after the same argon2 work), 503 when every hashing slot is busy."""
    account, by_address = login_throttles(ctx)
    subject = email.strip().lower()
    for throttle, key, field in ((account, subject, "email"), (by_address, address, "address")):
        wait = await throttle.retry_after(key)
        if wait > 0:
            raise too_many(throttle.rule, wait, field)
    passwords = passwords_of(ctx)
    try:
        async with passwords.slot():  # bounds the database lookups of a flood as well as its hashes
            async with ctx.require_database().session() as session:
                user = await service.get_user_by_email(session, email=subject)
            matched = await passwords.verify(user.password_hash if user else None, password)
    except HashingBusyError:
        raise busy() from None
    if user is None or not matched:
        await account.failed(subject)
        await by_address.failed(address)
        raise unauthorized("wrong email or password")
    await account.reset(subject)
    return user


async def create_account(
    ctx: ServiceContext,
    *,
    email: str,
    password: str,
    display_name: str,
    language: str,
    hosted: list[str],
    real_number: str | None,
) -> str | None:
    """The new user's id, or None when the email is taken (the caller answers the same either way). The password
    is hashed in both cases, so both take the same time."""
    try:
        password_hash = await passwords_of(ctx).hash(password)
    except HashingBusyError:
        raise busy() from None
    async with ctx.require_database().session() as session:
        if await service.get_user_by_email(session, email=email) is not None:
            log.info("registration_for_existing_email")
            return None
        user = User(
            email=email.lower(),
            password_hash=password_hash,
            display_name=display_name,
            real_number=None,
            pending_real_number=real_number,
            language=language,
            hosted_numbers=[HostedNumber(number=number) for number in hosted],
        )
        session.add(user)
        try:
            await session.commit()
        except IntegrityError:  # the same email registered concurrently
            return None
        return user.id


async def send_first_codes(ctx: ServiceContext, *, user_id: str, hosted: list[str], real_number: str | None) -> None:
    """After registration (in the background, so the answer's time says nothing): a code to each given number,
    as far as the sending quotas allow; the user can ask again for the rest."""
    claims = [("hosted", number) for number in hosted] + ([("forward", real_number)] if real_number else [])
    for purpose, number in claims:
        try:
            async with ctx.require_database().session() as session:
                await verification.send_code(
                    ctx, session, user_id=user_id, purpose=purpose, number=number, channel="sms"
                )
        except HTTPException as error:
            log.info("first_code_not_sent", purpose=purpose, status=error.status_code)
        except Exception as error:  # a background task must not die loudly: the user can ask again
            log.warning("first_code_failed", purpose=purpose, error_type=type(error).__name__)
