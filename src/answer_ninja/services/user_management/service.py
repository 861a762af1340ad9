"""Data access of user-management: users, hosted numbers, whitelist, revoked tokens.

Functions take keyword-only arguments and a session; they never commit on their own unless they say so.
Every change that phone-gateway routes on invalidates its cached snapshot (see ``invalidate_routing``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from answer_ninja.platform.cache import Cache
from answer_ninja.platform.db.models import HostedNumber, RevokedToken, User, WhitelistEntry
from answer_ninja.services.phone_gateway.cache_keys import routing_user_key
from answer_ninja.services.phone_gateway.invalidation import announce
from answer_ninja.services.user_management.models import (
    HostedNumberOut,
    Preferences,
    RoutingSnapshot,
    RoutingUser,
    UserOut,
    WhitelistOut,
)
from answer_ninja.services.user_management.schemas import as_utc

# Whitelists up to this many active entries are sent whole with the routing settings (~22 KB at most); longer
# ones are answered one caller at a time.
WHOLE_WHITELIST_MAX = 1000


async def get_user(session: AsyncSession, *, user_id: str) -> User | None:
    return await session.get(User, user_id)


async def get_user_by_email(session: AsyncSession, *, email: str) -> User | None:
    return await session.scalar(select(User).where(User.email == email.lower()))


async def number_owner(session: AsyncSession, *, number: str) -> str | None:
    """The user who holds ``number`` proven (unproven claims own nothing)."""
    return await session.scalar(
        select(HostedNumber.user_id).where(HostedNumber.number == number, HostedNumber.verified_at.is_not(None))
    )


async def touch_routing(session: AsyncSession, *, user_id: str) -> None:
    """Bump the user's routing version (in the caller's transaction): phone-gateway's cached answers go stale."""
    await session.execute(update(User).where(User.id == user_id).values(routing_version=User.routing_version + 1))


async def whitelist_size(session: AsyncSession, *, user_id: str) -> int:
    return int(await session.scalar(select(func.count()).where(WhitelistEntry.user_id == user_id)) or 0)


async def list_whitelist(session: AsyncSession, *, user_id: str, status: str | None = None) -> Sequence[WhitelistEntry]:
    query = select(WhitelistEntry).where(WhitelistEntry.user_id == user_id)
    if status is not None:
        query = query.where(WhitelistEntry.status == status)
    return (await session.scalars(query.order_by(WhitelistEntry.created_at, WhitelistEntry.id))).all()


async def get_whitelist_entry(session: AsyncSession, *, user_id: str, entry_id: str) -> WhitelistEntry | None:
    """The entry only if it belongs to ``user_id``: another user's entry does not exist for this user."""
    return await session.scalar(
        select(WhitelistEntry).where(WhitelistEntry.id == entry_id, WhitelistEntry.user_id == user_id)
    )


async def whitelist_numbers(session: AsyncSession, *, user_id: str) -> set[str]:
    rows = await session.scalars(select(WhitelistEntry.number).where(WhitelistEntry.user_id == user_id))
    return set(rows.all())


async def revoke(session: AsyncSession, *, jti: str, user_id: str, expires_at: datetime) -> None:
    if await session.get(RevokedToken, jti) is None:
        session.add(RevokedToken(jti=jti, user_id=user_id, expires_at=expires_at))


async def purge_expired_revocations(session: AsyncSession, *, now: datetime) -> None:
    await session.execute(delete(RevokedToken).where(RevokedToken.expires_at < now))


async def routing_snapshot(
    session: AsyncSession, *, number: str, caller: str | None, now: datetime
) -> RoutingSnapshot | None:
    """The owner of a proven hosted number with their settings, and the caller's active, unexpired whitelist
    entry (one indexed row, whatever the list's size); None when nobody holds the number proven."""
    user = await session.scalar(
        select(User).join(HostedNumber).where(HostedNumber.number == number, HostedNumber.verified_at.is_not(None))
    )
    if user is None:
        return None
    # A short list travels whole (the gateway then answers every caller of this user from memory, also while we
    # are unreachable); a long one never does: only the asked caller's entry.
    rows = (
        await session.execute(
            select(WhitelistEntry.number, WhitelistEntry.expires_at)
            .where(WhitelistEntry.user_id == user.id, WhitelistEntry.status == "active")
            .limit(WHOLE_WHITELIST_MAX + 1)
        )
    ).all()
    complete = len(rows) <= WHOLE_WHITELIST_MAX
    if not complete:
        rows = []
        if caller is not None:
            rows = (
                await session.execute(
                    select(WhitelistEntry.number, WhitelistEntry.expires_at).where(
                        WhitelistEntry.user_id == user.id,
                        WhitelistEntry.number == caller,
                        WhitelistEntry.status == "active",
                    )
                )
            ).all()
    whitelist: dict[str, str | None] = {}
    for number, expires in rows:
        expires_at = as_utc(expires) if expires else None
        if expires_at is None or expires_at > now:
            whitelist[number] = expires_at.isoformat() if expires_at else None
    return RoutingSnapshot(
        user=RoutingUser(
            user_id=user.id,
            real_number=user.real_number,
            ai_enabled=user.ai_enabled,
            ai_off_action=user.ai_off_action,
            spam_threshold=user.spam_threshold,
            known_spam_action=user.known_spam_action,
            persona=user.persona,
            language=user.language,
            max_call_seconds=user.max_call_seconds,
            fallback=user.fallback or "ring",
        ),
        version=user.routing_version,
        caller=caller,
        whitelist=whitelist,
        whitelist_complete=complete,
    )


async def invalidate_routing(cache: Cache, *, numbers: Sequence[str]) -> None:
    """Drop phone-gateway's cached snapshot of these hosted numbers, so the next call sees the change."""
    for number in numbers:
        await cache.delete(routing_user_key(number))
        await announce(cache, routing_user_key(number))


def user_out(user: User) -> UserOut:
    return UserOut(
        id=user.id,
        email=user.email,
        display_name=user.display_name,
        real_number=user.real_number,
        pending_real_number=user.pending_real_number,
        language=user.language,
        hosted_numbers=sorted(number.number for number in user.hosted_numbers if number.verified),
        pending_hosted_numbers=sorted(number.number for number in user.hosted_numbers if not number.verified),
        preferences=preferences_of(user),
        created_at=user.created_at,
    )


def preferences_of(user: User) -> Preferences:
    return Preferences.model_validate(
        {
            "ai_enabled": user.ai_enabled,
            "ai_off_action": user.ai_off_action,
            "persona": user.persona,
            "max_call_seconds": user.max_call_seconds,
            "spam_threshold": user.spam_threshold,
            "known_spam_action": user.known_spam_action,
            "fallback": user.fallback or "ring",
        }
    )


def hosted_out(number: HostedNumber) -> HostedNumberOut:
    return HostedNumberOut(
        id=number.id,
        number=number.number,
        status="verified" if number.verified else "pending",
        verified_at=number.verified_at,
        created_at=number.created_at,
    )


def whitelist_out(entry: WhitelistEntry) -> WhitelistOut:
    return WhitelistOut.model_validate(entry, from_attributes=True)
