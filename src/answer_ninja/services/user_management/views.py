"""HTTP routes of user-management. Every /api/v1 route but register/login/refresh needs an access token, and
a user only ever sees and changes their own rows (others' rows answer 404, as if they did not exist)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Literal

from fastapi import APIRouter, BackgroundTasks, Depends, HTTPException, Path, Query, Request, Response
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from answer_ninja.platform.app_factory import ServiceContext, context_of
from answer_ninja.platform.auth.dependencies import UserClaims, UserId, is_revoked, public, service_caller, unauthorized
from answer_ninja.platform.auth.tokens import Role, TokenClaims
from answer_ninja.platform.db.models import User, WhitelistEntry
from answer_ninja.platform.logging import get_logger
from answer_ninja.services.user_management import accounts, auth, service, verification
from answer_ninja.services.user_management.errors import field_error
from answer_ninja.services.user_management.imports import ContactFileError, import_contacts, lines_of
from answer_ninja.services.user_management.models import (
    ImportRequest,
    ImportResult,
    LearnedProposal,
    LoginRequest,
    LogoutRequest,
    Preferences,
    PreferencesUpdate,
    RefreshRequest,
    RegisterRequest,
    RegistrationAccepted,
    RoutingSnapshot,
    TokenPair,
    UserOut,
    UserUpdate,
    WhitelistIn,
    WhitelistOut,
    WhitelistUpdate,
)
from answer_ninja.services.user_management.schemas import as_utc, id_path
from answer_ninja.telephony.phone_numbers import InvalidPhoneNumberError, forwarding_refusal, to_e164

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


def forwarding_number(ctx: ServiceContext, raw: str, field: str) -> str:
    """A number calls may be forwarded to: E.164 and a personal type (never premium rate, shared cost ...)."""
    number = normalise(ctx, raw, field)
    refusal = forwarding_refusal(number)
    if refusal is not None:
        raise field_error(field, refusal)
    return number


@router.post(
    "/api/v1/auth/register",
    status_code=202,
    response_model=RegistrationAccepted,
    tags=["auth"],
    dependencies=[Depends(public("sign-up: anyone may create an account"))],
)
async def register(
    body: RegisterRequest, request: Request, background: BackgroundTasks, ctx: ServiceContext = Ctx
) -> RegistrationAccepted:
    """Create an account. The answer (and its time) is the same whether the email was free or not; numbers given
    here stay pending until proven with the code sent to each (codes go out after the answer)."""
    real_number = forwarding_number(ctx, body.real_number, "real_number") if body.real_number else None
    hosted = list(
        dict.fromkeys(normalise(ctx, raw, f"hosted_numbers.{i}") for i, raw in enumerate(body.hosted_numbers))
    )
    if real_number is not None and real_number in hosted:
        raise field_error("real_number", "is one of the hosted numbers: a forwarded call would come back here")
    await accounts.registration_quota(ctx).take(accounts.client_address(request), "register")
    user_id = await accounts.create_account(
        ctx,
        email=body.email,
        password=body.password,
        display_name=body.display_name,
        language=body.language,
        hosted=hosted,
        real_number=real_number,
    )
    if user_id is not None:
        log.info("user_registered", user_id=user_id, pending_numbers=len(hosted) + (1 if real_number else 0))
        background.add_task(accounts.send_first_codes, ctx, user_id=user_id, hosted=hosted, real_number=real_number)
    return RegistrationAccepted()


@router.post(
    "/api/v1/auth/login",
    response_model=TokenPair,
    tags=["auth"],
    dependencies=[Depends(public("sign-in: the password is the credential (throttled per account and address)"))],
)
async def login(body: LoginRequest, request: Request, ctx: ServiceContext = Ctx) -> TokenPair:
    """Tokens for a right email and password. Throttled per account and per client address (429 + Retry-After);
    the same answer, in the same time, whether the email is unknown or the password wrong."""
    user = await accounts.check_login(
        ctx, email=body.email, password=body.password, address=accounts.client_address(request)
    )
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
        if user is None or await is_revoked(ctx, claims):
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
    """Change the name or language at once; a new real_number waits (pending_real_number) until proven with the
    code sent to it (POST /api/v1/me/real-number/verify): calls keep going to the proven one meanwhile."""
    real_number = forwarding_number(ctx, body.real_number, "real_number") if body.real_number else None
    async with ctx.require_database().session() as session:
        user = await service.get_user(session, user_id=user_id)
        if user is None:
            raise unauthorized("user no longer exists")
        if real_number is not None and real_number in {number.number for number in user.hosted_numbers}:
            raise field_error("real_number", "is one of your hosted numbers: a forwarded call would come back here")
        if body.display_name is not None:
            user.display_name = body.display_name
        if body.language is not None:
            user.language = body.language
            await service.touch_routing(session, user_id=user_id)
        ask_code = real_number is not None and real_number != user.real_number
        if real_number is not None:
            user.pending_real_number = real_number if ask_code else None
        await session.commit()
        if ask_code and real_number is not None:
            await verification.send_code(
                ctx, session, user_id=user_id, purpose="forward", number=real_number, channel="sms"
            )
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
        await service.touch_routing(session, user_id=user_id)
        await session.commit()
    await _invalidate_user(ctx, user_id)
    return service.preferences_of(await _load_user(ctx, user_id))


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
        limit = ctx.settings.whitelist_max_entries
        if await service.whitelist_size(session, user_id=user_id) >= limit:
            raise field_error("number", f"the whitelist is full ({limit} entries): remove some first")
        entry = WhitelistEntry(
            user_id=user_id,
            number=number,
            name=body.name,
            kind="temporary" if body.expires_at else "manual",
            status="active",
            expires_at=as_utc(body.expires_at) if body.expires_at else None,
        )
        session.add(entry)
        await service.touch_routing(session, user_id=user_id)
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
        await service.touch_routing(session, user_id=user_id)
        await session.commit()
    await _invalidate_user(ctx, user_id)
    return service.whitelist_out(entry)


@router.delete("/api/v1/whitelist/{entry_id}", status_code=204, tags=["whitelist"])
async def delete_whitelist(entry_id: str = id_path(), user_id: str = UserId, ctx: ServiceContext = Ctx) -> Response:
    async with ctx.require_database().session() as session:
        entry = await _own_entry(session, user_id, entry_id)
        await session.delete(entry)
        await service.touch_routing(session, user_id=user_id)
        await session.commit()
    await _invalidate_user(ctx, user_id)
    return Response(status_code=204)


@router.post("/api/v1/whitelist/import", response_model=ImportResult, tags=["whitelist"])
async def import_whitelist(body: ImportRequest, user_id: str = UserId, ctx: ServiceContext = Ctx) -> ImportResult:
    """Bulk import from a CSV or vCard file in a JSON body; unreadable numbers are listed, not fatal. Large files
    are better sent as they are to /api/v1/whitelist/import/{format} (streamed)."""

    async def chunks() -> AsyncIterator[bytes]:
        yield body.content.encode()

    return await _import(ctx, user_id, body.format, chunks())


@router.post(
    "/api/v1/whitelist/import/{file_format}",
    response_model=ImportResult,
    tags=["whitelist"],
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"text/csv": {"schema": {"type": "string"}}, "text/vcard": {"schema": {"type": "string"}}},
        }
    },
)
async def import_whitelist_file(
    request: Request,
    file_format: Literal["csv", "vcard"] = Path(),
    user_id: str = UserId,
    ctx: ServiceContext = Ctx,
) -> ImportResult:
    """Bulk import from the file itself as the request body (UTF-8), read and parsed as it arrives; at most
    WHITELIST_IMPORT_MAX_BYTES (413 beyond)."""
    return await _import(ctx, user_id, file_format, request.stream())


async def _import(ctx: ServiceContext, user_id: str, file_format: str, chunks: AsyncIterator[bytes]) -> ImportResult:
    settings = ctx.settings
    try:
        result = await import_contacts(
            ctx.require_database(),
            user_id=user_id,
            file_format=file_format,
            lines=lines_of(chunks, max_bytes=settings.whitelist_import_max_bytes),
            region=settings.default_phone_region,
            max_entries=settings.whitelist_max_entries,
        )
    except ContactFileError as error:
        raise field_error("content", str(error)) from None
    await _invalidate_user(ctx, user_id)
    return result


# --- internal: called by phone-gateway and profile-analytics inside the cluster ---------------------------------


@router.get(
    "/internal/v1/routing/{number}",
    response_model=RoutingSnapshot,
    tags=["internal"],
    dependencies=[Depends(service_caller("phone-gateway"))],
)
async def routing(
    number: str = Path(max_length=40),
    caller: str | None = Query(default=None, min_length=1, max_length=40),
    ctx: ServiceContext = Ctx,
) -> RoutingSnapshot:
    """How to route a call to a proven hosted number (E.164): the owner's settings, the routing version, and
    whether ``caller`` is on their whitelist (one indexed lookup; the list itself never travels). 404 when nobody
    holds the number proven."""
    normalised = normalise(ctx, number, "number")
    caller_number = to_e164_or_none(ctx, caller)
    async with ctx.require_database().session() as session:
        snapshot = await service.routing_snapshot(session, number=normalised, caller=caller_number, now=utcnow())
    if snapshot is None:
        raise HTTPException(status_code=404, detail="number: not hosted by any user")
    return snapshot


def to_e164_or_none(ctx: ServiceContext, raw: str | None) -> str | None:
    """A caller as carriers send it: E.164 when readable; anything else ("anonymous") is on nobody's list."""
    if raw is None:
        return None
    try:
        return to_e164(raw, region=ctx.settings.default_phone_region)
    except InvalidPhoneNumberError:
        return None


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
        if await service.whitelist_size(session, user_id=body.user_id) >= ctx.settings.whitelist_max_entries:
            return None  # a full list takes no proposals; the user's own entries come first
        entry = WhitelistEntry(user_id=body.user_id, number=number, name=body.name, kind="learned", status="proposed")
        session.add(entry)
        try:
            await session.commit()
        except IntegrityError:
            return None
    return service.whitelist_out(entry)
