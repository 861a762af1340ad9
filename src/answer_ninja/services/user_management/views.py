"""HTTP routes of user-management. Every /api/v1 route but register/login/refresh needs an access token, and
a user only ever sees and changes their own rows (others' rows answer 404, as if they did not exist)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Response
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from answer_ninja.platform.app_factory import ServiceContext, context_of
from answer_ninja.platform.auth.dependencies import UserClaims, UserId, is_revoked, public, service_caller, unauthorized
from answer_ninja.platform.auth.tokens import Role, TokenClaims
from answer_ninja.platform.db.models import HostedNumber, User, WhitelistEntry
from answer_ninja.platform.logging import get_logger
from answer_ninja.services.user_management import auth, service
from answer_ninja.services.user_management.errors import field_error
from answer_ninja.services.user_management.imports import ContactFileError, contacts_from_csv, contacts_from_vcard
from answer_ninja.services.user_management.models import (
    HostedNumberIn,
    HostedNumberOut,
    ImportRequest,
    ImportResult,
    LearnedProposal,
    LoginRequest,
    LogoutRequest,
    Preferences,
    PreferencesUpdate,
    RefreshRequest,
    RegisterRequest,
    RoutingSnapshot,
    TokenPair,
    UserOut,
    UserUpdate,
    WhitelistIn,
    WhitelistOut,
    WhitelistUpdate,
)
from answer_ninja.services.user_management.schemas import as_utc, id_path
from answer_ninja.telephony.phone_numbers import InvalidPhoneNumberError, to_e164

log = get_logger(__name__)
router = APIRouter()
Ctx = Depends(context_of)


def normalise(ctx: ServiceContext, raw: str, field: str) -> str:
    try:
        return to_e164(raw, region=ctx.settings.default_phone_region)
    except InvalidPhoneNumberError as error:
        raise field_error(field, f"not a phone number: {error}") from None


def utcnow() -> datetime:
    return datetime.now(UTC)


async def _tokens(ctx: ServiceContext, user: User) -> TokenPair:
    now = utcnow()
    role: Role = "operator" if user.role == "operator" else "user"
    access, lifetime = auth.issue_token(ctx, user_id=user.id, role=role, token_type="access", now=now)
    refresh, _ = auth.issue_token(ctx, user_id=user.id, role=role, token_type="refresh", now=now)
    return TokenPair(access_token=access, refresh_token=refresh, expires_in=lifetime)


async def _load_user(ctx: ServiceContext, user_id: str) -> User:
    async with ctx.require_database().session() as session:
        user = await service.get_user(session, user_id=user_id)
    if user is None:
        raise unauthorized("user no longer exists")
    return user


async def _invalidate_user(ctx: ServiceContext, user_id: str) -> None:
    async with ctx.require_database().session() as session:
        user = await service.get_user(session, user_id=user_id)
        numbers = [number.number for number in user.hosted_numbers] if user else []
    await service.invalidate_routing(ctx.require_cache(), numbers=numbers)


# --- authentication -------------------------------------------------------------------------------------------


@router.post(
    "/api/v1/auth/register",
    status_code=201,
    response_model=UserOut,
    tags=["auth"],
    dependencies=[Depends(public("sign-up: anyone may create an account"))],
)
async def register(body: RegisterRequest, ctx: ServiceContext = Ctx) -> UserOut:
    real_number = normalise(ctx, body.real_number, "real_number") if body.real_number else None
    hosted = [normalise(ctx, raw, f"hosted_numbers.{i}") for i, raw in enumerate(body.hosted_numbers)]
    async with ctx.require_database().session() as session:
        if await service.get_user_by_email(session, email=body.email) is not None:
            raise HTTPException(status_code=409, detail="email: already registered")
        for i, number in enumerate(hosted):
            if await service.number_owner(session, number=number) is not None:
                raise HTTPException(status_code=409, detail=f"hosted_numbers.{i}: already hosted by another user")
        user = User(
            email=body.email.lower(),
            password_hash=auth.hash_password(body.password),
            display_name=body.display_name,
            real_number=real_number,
            language=body.language,
            hosted_numbers=[HostedNumber(number=number) for number in dict.fromkeys(hosted)],
        )
        session.add(user)
        try:
            await session.commit()
        except IntegrityError:
            raise HTTPException(status_code=409, detail="email or hosted number already registered") from None
        user_id = user.id
    await service.invalidate_routing(ctx.require_cache(), numbers=hosted)
    log.info("user_registered", user_id=user_id, hosted_numbers=len(hosted))
    return service.user_out(await _load_user(ctx, user_id))


@router.post(
    "/api/v1/auth/login",
    response_model=TokenPair,
    tags=["auth"],
    dependencies=[Depends(public("sign-in: the password is the credential"))],
)
async def login(body: LoginRequest, ctx: ServiceContext = Ctx) -> TokenPair:
    async with ctx.require_database().session() as session:
        user = await service.get_user_by_email(session, email=body.email)
    # The same answer whether the email or the password is wrong: no account enumeration.
    if user is None or not auth.verify_password(user.password_hash, body.password):
        raise unauthorized("wrong email or password")
    return await _tokens(ctx, user)


@router.post(
    "/api/v1/auth/refresh",
    response_model=TokenPair,
    tags=["auth"],
    dependencies=[Depends(public("the refresh token in the body is the credential"))],
)
async def refresh(body: RefreshRequest, ctx: ServiceContext = Ctx) -> TokenPair:
    """A new token pair; the refresh token used is revoked (rotation), so a stolen one works at most once."""
    claims = auth.decode_token(ctx, body.refresh_token, expected="refresh")
    async with ctx.require_database().session() as session:
        user = await service.get_user(session, user_id=claims.user_id)
        if await is_revoked(ctx, claims.jti) or user is None:
            raise unauthorized("refresh token revoked")
        await service.revoke(session, jti=claims.jti, user_id=claims.user_id, expires_at=claims.expires_at)
        await session.commit()
    return await _tokens(ctx, user)


@router.post("/api/v1/auth/logout", status_code=204, tags=["auth"])
async def logout(
    body: LogoutRequest | None = None,
    claims: TokenClaims = UserClaims,
    ctx: ServiceContext = Ctx,
) -> Response:
    """Revoke the access token used (and the refresh token, when given)."""
    revoked = [claims]
    if body is not None and body.refresh_token:
        refresh_claims = auth.decode_token(ctx, body.refresh_token, expected="refresh")
        if refresh_claims.user_id != claims.user_id:
            raise field_error("refresh_token", "belongs to another user")
        revoked.append(refresh_claims)
    async with ctx.require_database().session() as session:
        for item in revoked:
            await service.revoke(session, jti=item.jti, user_id=item.user_id, expires_at=item.expires_at)
        await service.purge_expired_revocations(session, now=utcnow())
        await session.commit()
    return Response(status_code=204)


# --- the user's own account -----------------------------------------------------------------------------------


@router.get("/api/v1/me", response_model=UserOut, tags=["account"])
async def me(user_id: str = UserId, ctx: ServiceContext = Ctx) -> UserOut:
    return service.user_out(await _load_user(ctx, user_id))


@router.patch("/api/v1/me", response_model=UserOut, tags=["account"])
async def update_me(body: UserUpdate, user_id: str = UserId, ctx: ServiceContext = Ctx) -> UserOut:
    real_number = normalise(ctx, body.real_number, "real_number") if body.real_number else None
    async with ctx.require_database().session() as session:
        user = await service.get_user(session, user_id=user_id)
        if user is None:
            raise unauthorized("user no longer exists")
        if body.display_name is not None:
            user.display_name = body.display_name
        if real_number is not None:
            user.real_number = real_number
        if body.language is not None:
            user.language = body.language
        await session.commit()
    await _invalidate_user(ctx, user_id)
    return service.user_out(await _load_user(ctx, user_id))


@router.get("/api/v1/me/preferences", response_model=Preferences, tags=["account"])
async def get_preferences(user_id: str = UserId, ctx: ServiceContext = Ctx) -> Preferences:
    return service.preferences_of(await _load_user(ctx, user_id))


@router.patch("/api/v1/me/preferences", response_model=Preferences, tags=["account"])
async def update_preferences(body: PreferencesUpdate, user_id: str = UserId, ctx: ServiceContext = Ctx) -> Preferences:
    async with ctx.require_database().session() as session:
        user = await service.get_user(session, user_id=user_id)
        if user is None:
            raise unauthorized("user no longer exists")
        for name, value in body.model_dump(exclude_none=True).items():
            setattr(user, name, value)
        await session.commit()
    await _invalidate_user(ctx, user_id)
    return service.preferences_of(await _load_user(ctx, user_id))


@router.get("/api/v1/me/numbers", response_model=list[HostedNumberOut], tags=["account"])
async def list_numbers(user_id: str = UserId, ctx: ServiceContext = Ctx) -> list[HostedNumberOut]:
    user = await _load_user(ctx, user_id)
    return [service.hosted_out(number) for number in user.hosted_numbers]


@router.post("/api/v1/me/numbers", status_code=201, response_model=HostedNumberOut, tags=["account"])
async def add_number(body: HostedNumberIn, user_id: str = UserId, ctx: ServiceContext = Ctx) -> HostedNumberOut:
    number = normalise(ctx, body.number, "number")
    async with ctx.require_database().session() as session:
        if await service.number_owner(session, number=number) is not None:
            raise HTTPException(status_code=409, detail="number: already hosted")
        hosted = HostedNumber(user_id=user_id, number=number)
        session.add(hosted)
        try:
            await session.commit()
        except IntegrityError:
            raise HTTPException(status_code=409, detail="number: already hosted") from None
    await service.invalidate_routing(ctx.require_cache(), numbers=[number])
    return service.hosted_out(hosted)


@router.delete("/api/v1/me/numbers/{number_id}", status_code=204, tags=["account"])
async def remove_number(number_id: str = id_path(), user_id: str = UserId, ctx: ServiceContext = Ctx) -> Response:
    async with ctx.require_database().session() as session:
        hosted = await session.get(HostedNumber, number_id)
        if hosted is None or hosted.user_id != user_id:
            raise HTTPException(status_code=404, detail="number_id: no such hosted number")
        number = hosted.number
        await session.delete(hosted)
        await session.commit()
    await service.invalidate_routing(ctx.require_cache(), numbers=[number])
    return Response(status_code=204)


# --- whitelist ------------------------------------------------------------------------------------------------


@router.get("/api/v1/whitelist", response_model=list[WhitelistOut], tags=["whitelist"])
async def list_whitelist(
    status: Literal["active", "proposed", "rejected"] | None = Query(default=None),
    user_id: str = UserId,
    ctx: ServiceContext = Ctx,
) -> list[WhitelistOut]:
    async with ctx.require_database().session() as session:
        entries = await service.list_whitelist(session, user_id=user_id, status=status)
    return [service.whitelist_out(entry) for entry in entries]


@router.post("/api/v1/whitelist", status_code=201, response_model=WhitelistOut, tags=["whitelist"])
async def add_whitelist(body: WhitelistIn, user_id: str = UserId, ctx: ServiceContext = Ctx) -> WhitelistOut:
    number = normalise(ctx, body.number, "number")
    if body.expires_at is not None and as_utc(body.expires_at) <= utcnow():
        raise field_error("expires_at", "must be in the future")
    async with ctx.require_database().session() as session:
        if number in await service.whitelist_numbers(session, user_id=user_id):
            raise HTTPException(status_code=409, detail="number: already on the whitelist")
        entry = WhitelistEntry(
            user_id=user_id,
            number=number,
            name=body.name,
            kind="temporary" if body.expires_at else "manual",
            status="active",
            expires_at=as_utc(body.expires_at) if body.expires_at else None,
        )
        session.add(entry)
        try:
            await session.commit()
        except IntegrityError:
            raise HTTPException(status_code=409, detail="number: already on the whitelist") from None
    await _invalidate_user(ctx, user_id)
    return service.whitelist_out(entry)


async def _own_entry(session: AsyncSession, user_id: str, entry_id: str) -> WhitelistEntry:
    """The user's own entry; another user's entry answers 404, as if it did not exist."""
    entry = await service.get_whitelist_entry(session, user_id=user_id, entry_id=entry_id)
    if entry is None:
        raise HTTPException(status_code=404, detail="entry_id: no such whitelist entry")
    return entry


@router.get("/api/v1/whitelist/{entry_id}", response_model=WhitelistOut, tags=["whitelist"])
async def get_whitelist(entry_id: str = id_path(), user_id: str = UserId, ctx: ServiceContext = Ctx) -> WhitelistOut:
    async with ctx.require_database().session() as session:
        entry = await _own_entry(session, user_id, entry_id)
    return service.whitelist_out(entry)


@router.patch("/api/v1/whitelist/{entry_id}", response_model=WhitelistOut, tags=["whitelist"])
async def update_whitelist(
    body: WhitelistUpdate, entry_id: str = id_path(), user_id: str = UserId, ctx: ServiceContext = Ctx
) -> WhitelistOut:
    """Rename, change the expiry, or accept ("active") / reject a proposed (learned) entry."""
    async with ctx.require_database().session() as session:
        entry = await _own_entry(session, user_id, entry_id)
        if body.name is not None:
            entry.name = body.name
        if "expires_at" in body.model_fields_set:
            entry.expires_at = as_utc(body.expires_at) if body.expires_at else None
            entry.kind = "temporary" if body.expires_at else ("manual" if entry.kind == "temporary" else entry.kind)
        if body.status is not None:
            entry.status = body.status
        await session.commit()
    await _invalidate_user(ctx, user_id)
    return service.whitelist_out(entry)


@router.delete("/api/v1/whitelist/{entry_id}", status_code=204, tags=["whitelist"])
async def delete_whitelist(entry_id: str = id_path(), user_id: str = UserId, ctx: ServiceContext = Ctx) -> Response:
    async with ctx.require_database().session() as session:
        entry = await _own_entry(session, user_id, entry_id)
        await session.delete(entry)
        await session.commit()
    await _invalidate_user(ctx, user_id)
    return Response(status_code=204)


@router.post("/api/v1/whitelist/import", response_model=ImportResult, tags=["whitelist"])
async def import_whitelist(body: ImportRequest, user_id: str = UserId, ctx: ServiceContext = Ctx) -> ImportResult:
    """Bulk import from a CSV or vCard file; unreadable numbers are listed, not fatal."""
    try:
        contacts = contacts_from_csv(body.content) if body.format == "csv" else contacts_from_vcard(body.content)
    except (ContactFileError, ValueError) as error:
        raise field_error("content", str(error)) from None
    imported, present, invalid = 0, 0, []
    async with ctx.require_database().session() as session:
        known = await service.whitelist_numbers(session, user_id=user_id)
        for raw, name in contacts:
            try:
                number = to_e164(raw, region=ctx.settings.default_phone_region)
            except InvalidPhoneNumberError:
                invalid.append(raw[:40])
                continue
            if number in known:
                present += 1
                continue
            known.add(number)
            session.add(WhitelistEntry(user_id=user_id, number=number, name=name[:120], kind="import"))
            imported += 1
        await session.commit()
    await _invalidate_user(ctx, user_id)
    return ImportResult(imported=imported, already_present=present, invalid=invalid)


# --- internal: called by phone-gateway and profile-analytics inside the cluster ---------------------------------


@router.get(
    "/internal/v1/routing/{number}",
    response_model=RoutingSnapshot,
    tags=["internal"],
    dependencies=[Depends(service_caller("phone-gateway"))],
)
async def routing(number: str = Path(max_length=40), ctx: ServiceContext = Ctx) -> RoutingSnapshot:
    """The routing snapshot of a hosted number (E.164), for phone-gateway's cache; 404 when nobody hosts it."""
    normalised = normalise(ctx, number, "number")
    async with ctx.require_database().session() as session:
        snapshot = await service.routing_snapshot(session, number=normalised, now=utcnow())
    if snapshot is None:
        raise HTTPException(status_code=404, detail="number: not hosted by any user")
    return snapshot


@router.post(
    "/internal/v1/whitelist/learned",
    status_code=201,
    response_model=WhitelistOut | None,
    tags=["internal"],
    dependencies=[Depends(service_caller("profile-analytics"))],
)
async def propose_learned(body: LearnedProposal, ctx: ServiceContext = Ctx) -> WhitelistOut | None:
    """A "learned" entry proposed from call outcomes: it waits (status "proposed") until the user accepts it.
    Answers null when the number is already on that user's list (proposals are idempotent)."""
    number = normalise(ctx, body.number, "number")
    async with ctx.require_database().session() as session:
        if await service.get_user(session, user_id=body.user_id) is None:
            raise HTTPException(status_code=404, detail="user_id: no such user")
        if number in await service.whitelist_numbers(session, user_id=body.user_id):
            return None
        entry = WhitelistEntry(user_id=body.user_id, number=number, name=body.name, kind="learned", status="proposed")
        session.add(entry)
        try:
            await session.commit()
        except IntegrityError:
            return None
    return service.whitelist_out(entry)
