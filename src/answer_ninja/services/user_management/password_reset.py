"""A forgotten password: a reset link by e-mail, a new password, every old session signed out.

The link carries a signed token (JWT, key derived from JWT_SECRET for this purpose only, 30 minutes) naming the
account and a fingerprint of its current password hash. Setting a new password changes the hash, so the token
works once and any other link sent before dies with it: no table of reset tokens to keep or purge. The reset also
sets ``users.password_changed_at``, which makes every token issued before it invalid on every service.

Asking for a link answers the same (202, same body) whether or not the email has an account, and is limited per
client address and per email, so the door tells an attacker nothing and cannot be used to flood someone's inbox.
The mail goes out through NOTIFY_EMAIL_URL (apprise, the same SMTP server as call summaries); without one, the
link is written to user-management's log, as the loopback carrier does with verification codes, so a person can
try it with `make up`.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import deque
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import apprise
import jwt

from answer_ninja.platform.app_factory import ServiceContext
from answer_ninja.platform.auth.dependencies import unauthorized
from answer_ninja.platform.auth.keys import secret_bytes
from answer_ninja.platform.auth.tokens import ALGORITHM, derived_key
from answer_ninja.platform.db.models import User
from answer_ninja.platform.logging import get_logger
from answer_ninja.services.user_management import service
from answer_ninja.services.user_management.accounts import passwords_of
from answer_ninja.services.user_management.passwords import HashingBusyError, busy
from answer_ninja.services.user_management.throttle import Quota, ThrottleRule

log = get_logger(__name__)

PURPOSE = "password-reset"
LINK_MINUTES = 30
HOUR = 3600.0
# Links asked for per email and per client address per hour: enough for a person who mistypes, too few to flood.
PER_EMAIL_PER_HOUR = 3
PER_ADDRESS_PER_HOUR = 10
SEND_TIMEOUT_SECONDS = 20.0
# The loopback outbox keeps the last links for in-process tests, like the loopback code sender.
OUTBOX_SIZE = 50


def _key(ctx: ServiceContext) -> bytes:
    return derived_key(secret_bytes(ctx, "jwt_secret"), PURPOSE)


def fingerprint(password_hash: str) -> str:
    """Changes whenever the password does (argon2 hashes are salted: even the same password gives a new one)."""
    return hashlib.sha256(password_hash.encode()).hexdigest()[:32]


def reset_token(ctx: ServiceContext, user: User, *, now: datetime) -> str:
    claims = {"sub": user.id, "pwf": fingerprint(user.password_hash), "exp": now + timedelta(minutes=LINK_MINUTES)}
    return jwt.encode(claims, _key(ctx), algorithm=ALGORITHM)


def reset_link(ctx: ServiceContext, token: str) -> str:
    return f"{ctx.settings.console_url.rstrip('/')}/reset?token={quote(token, safe='')}"


def quotas(ctx: ServiceContext) -> tuple[Quota, Quota]:
    cache = ctx.require_cache()
    per_email = ThrottleRule("reset-email", "password reset links for this email", 0, HOUR, HOUR, HOUR)
    per_address = ThrottleRule("reset-address", "password reset links from this address", 0, HOUR, HOUR, HOUR)
    return Quota(cache, per_email, PER_EMAIL_PER_HOUR), Quota(cache, per_address, PER_ADDRESS_PER_HOUR)


def outbox(ctx: ServiceContext) -> deque[tuple[str, str]]:
    """(email, link) of the links the loopback delivery wrote to the log, newest last."""
    found: deque[tuple[str, str]] = ctx.extras.setdefault("password_reset_outbox", deque(maxlen=OUTBOX_SIZE))
    return found


def message(language: str, link: str) -> tuple[str, str]:
    if language.startswith("zh"):
        return (
            "重设 AI Answer Ninja 密码",
            f"请打开下面的链接设置新密码（{LINK_MINUTES} 分钟内有效，只能使用一次）：\n{link}\n\n"
            "如果不是您本人操作，请忽略这封邮件，您的密码不会改变。",
        )
    return (
        "Reset your AI Answer Ninja password",
        f"Open this link to choose a new password (valid for {LINK_MINUTES} minutes, once):\n{link}\n\n"
        "If you did not ask for it, ignore this e-mail: your password stays as it is.",
    )


def _send_blocking(url: str, title: str, body: str) -> bool:
    sender = apprise.Apprise()
    if not sender.add(url):
        return False
    return bool(sender.notify(title=title, body=body))


def mail_target(server_url: str, email: str) -> str:
    """The apprise URL of the configured SMTP server, addressed to this person."""
    separator = "&" if "?" in server_url else "?"
    return f"{server_url}{separator}to={quote(email, safe='@')}"


async def send_link(ctx: ServiceContext, *, email: str, language: str, link: str) -> str:
    """Deliver the link; returns how: "email", "email-failed" or "log"."""
    server = ctx.settings.notify_email_url.get_secret_value() if ctx.settings.notify_email_url else None
    if server is None:
        outbox(ctx).append((email, link))
        # Logged on purpose: without a mail server this is how the person at the keyboard gets the link.
        log.warning("loopback_password_reset_link", email=email, reset_link=link)
        return "log"
    title, body = message(language, link)
    try:
        sent = await asyncio.wait_for(
            asyncio.to_thread(_send_blocking, mail_target(server, email), title, body), SEND_TIMEOUT_SECONDS
        )
    except Exception as error:  # the person can ask again; the answer they got said nothing either way
        log.warning("password_reset_mail_failed", error_type=type(error).__name__)
        return "email-failed"
    log.info("password_reset_mailed", sent=sent)
    return "email" if sent else "email-failed"


async def request_link(ctx: ServiceContext, *, email: str) -> None:
    """In the background, after the answer: a link to the account's address, if there is such an account."""
    try:
        async with ctx.require_database().session() as session:
            user = await service.get_user_by_email(session, email=email)
        if user is None:
            log.info("password_reset_for_unknown_email")
            return
        token = reset_token(ctx, user, now=datetime.now(UTC))
        how = await send_link(ctx, email=user.email, language=user.language, link=reset_link(ctx, token))
        log.info("password_reset_requested", user_id=user.id, delivery=how)
    except Exception as error:  # a background task must not die loudly
        log.warning("password_reset_request_failed", error_type=type(error).__name__)


def _claims(ctx: ServiceContext, token: str) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(
            token, _key(ctx), algorithms=[ALGORITHM], options={"require": ["sub", "pwf", "exp"]}
        )
    except jwt.ExpiredSignatureError:
        raise unauthorized("token: the reset link has expired; ask for a new one") from None
    except jwt.PyJWTError:
        raise unauthorized("token: not a valid reset link") from None
    return claims


async def reset_password(ctx: ServiceContext, *, token: str, password: str) -> str:
    """Set the new password if the link is valid and unused; returns the user's id. 401 naming ``token``
    otherwise (expired, forged, already used or superseded by a newer password)."""
    claims = _claims(ctx, token)
    try:
        new_hash = await passwords_of(ctx).hash(password)
    except HashingBusyError:
        raise busy() from None
    async with ctx.require_database().session() as session:
        user = await service.get_user(session, user_id=str(claims["sub"]))
        if user is None or fingerprint(user.password_hash) != claims["pwf"]:
            raise unauthorized("token: this reset link was already used")
        user.password_hash = new_hash
        user.password_changed_at = datetime.now(UTC)
        await session.commit()
        log.info("password_reset", user_id=user.id)
        return user.id
