"""The FastAPI dependencies a route declares to say who may use it; each is the one check for its kind of caller.

``UserClaims``/``UserId`` (people), ``OperatorPrincipal`` (operators: people with the role, or the operator's
machine), ``service_caller(...)`` (other services, by name), ``caller(...)`` (any mix of those), ``public(...)``.
A missing or bad credential is a 401 saying what is missing; a valid one without the right is a 403.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from fastapi import Depends, HTTPException
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select

from answer_ninja.platform.app_factory import ServiceContext, context_of
from answer_ninja.platform.auth.client import SERVICE_TOKEN_HEADER
from answer_ninja.platform.auth.keys import is_configured, secret_bytes
from answer_ninja.platform.auth.rules import AccessRule, RuleKind, mark, public
from answer_ninja.platform.auth.tokens import (
    InvalidTokenError,
    Role,
    ServiceTokenVerifier,
    TokenClaims,
    decode_user_token,
)
from answer_ninja.platform.db.models import RevokedToken, User

__all__ = [
    "OperatorPrincipal",
    "Principal",
    "UserClaims",
    "UserId",
    "alertmanager",
    "caller",
    "current_claims",
    "current_user_id",
    "forbidden",
    "operator",
    "public",
    "secret_bearer",
    "service_caller",
    "unauthorized",
]

_bearer = HTTPBearer(auto_error=False, description="A person's access token (/api/v1/auth/login) or OPERATOR_TOKEN")
_service_token = APIKeyHeader(name=SERVICE_TOKEN_HEADER, auto_error=False, description="Service-to-service token")


@dataclass(frozen=True)
class Principal:
    """Who is calling: a person (``user``), the operator's machine (``machine``) or another service (``service``)."""

    kind: Literal["user", "machine", "service"]
    name: str  # the user's id, "operator-token", or the service's name
    role: Role | None = None
    claims: TokenClaims | None = None

    @property
    def is_operator(self) -> bool:
        return self.kind == "machine" or self.role == "operator"


def unauthorized(message: str) -> HTTPException:
    return HTTPException(status_code=401, detail=message, headers={"WWW-Authenticate": "Bearer"})


def forbidden(message: str) -> HTTPException:
    return HTTPException(status_code=403, detail=message)


async def is_revoked(ctx: ServiceContext, claims: TokenClaims) -> bool:
    """Revoked one by one (sign-out, refresh rotation), or all at once by a password reset: a token issued before
    the person's password last changed is refused (one query for both)."""
    revoked = select(RevokedToken.jti).where(RevokedToken.jti == claims.jti).exists()
    async with ctx.require_database().session() as session:
        row = (
            await session.execute(select(revoked, User.password_changed_at).where(User.id == claims.user_id))
        ).first()
        if row is None:  # no such user in this database: only the token's own revocation can tell
            return bool(await session.scalar(select(revoked)))
    was_revoked, changed_at = row
    return bool(was_revoked) or _issued_before(claims, changed_at)


def _issued_before(claims: TokenClaims, changed_at: datetime | None) -> bool:
    if changed_at is None or claims.issued_at is None:
        return False
    if changed_at.tzinfo is None:  # SQLite keeps no zone; the column is written in UTC
        changed_at = changed_at.replace(tzinfo=UTC)
    # Token times are whole seconds: one issued in the second of the change is the new sign-in's, not an old one.
    return claims.issued_at < changed_at.replace(microsecond=0)


async def claims_of(ctx: ServiceContext, token: str) -> TokenClaims:
    """A person's valid access token (revocation checked where the service has the database)."""
    try:
        claims = decode_user_token(secret_bytes(ctx, "jwt_secret"), token, expected="access")
    except InvalidTokenError as error:
        raise unauthorized(str(error)) from None
    if ctx.database is not None and await is_revoked(ctx, claims):
        raise unauthorized("token revoked")
    return claims


def _is_operator_token(ctx: ServiceContext, token: str) -> bool:
    if not is_configured(ctx, "operator_token"):
        return False
    expected = secret_bytes(ctx, "operator_token")
    return hmac.compare_digest(token.encode(), expected)


def _verifier(ctx: ServiceContext) -> ServiceTokenVerifier:
    verifier = ctx.extras.get("service_token_verifier")
    if not isinstance(verifier, ServiceTokenVerifier):
        verifier = ServiceTokenVerifier(secret_bytes(ctx, "internal_secret"), ctx.spec.name)
        ctx.extras["service_token_verifier"] = verifier
    return verifier


def _service_name(ctx: ServiceContext, token: str | None, callers: tuple[str, ...]) -> str:
    if not is_configured(ctx, "internal_secret"):
        raise unauthorized("service authentication is not configured here (INTERNAL_SECRET unset)")
    if not token:
        raise unauthorized(f"missing {SERVICE_TOKEN_HEADER}")
    try:
        caller = _verifier(ctx).verify(token)
    except InvalidTokenError as error:
        raise unauthorized(str(error)) from None
    if caller not in callers:
        raise forbidden(f"{caller} may not call this route")
    return caller


# --- people ---------------------------------------------------------------------------------------------------


async def current_claims(
    credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),
    ctx: ServiceContext = Depends(context_of),
) -> TokenClaims:
    """The signed-in person's valid, unrevoked access token."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise unauthorized("missing bearer token")
    return await claims_of(ctx, credentials.credentials)


mark(current_claims, AccessRule("user", "a signed-in person (own rows only)"))


async def current_user_id(claims: TokenClaims = Depends(current_claims)) -> str:
    return claims.user_id


UserClaims = Depends(current_claims)
UserId = Depends(current_user_id)


# --- services, or several kinds of caller --------------------------------------------------------------------


def service_caller(*callers: str) -> Callable[..., Awaitable[str]]:
    """Only the named services (by the signed token they send); answers the caller's name."""

    async def check(token: str | None = Depends(_service_token), ctx: ServiceContext = Depends(context_of)) -> str:
        return _service_name(ctx, token, callers)

    return mark(check, AccessRule("service", ", ".join(callers)))


def caller(
    *, services: tuple[str, ...] = (), users: bool = False, operators: bool = False
) -> Callable[..., Awaitable[Principal]]:
    """Any of: the named services, a signed-in person (the route limits them to their own rows), an operator.

    A service token, when sent, decides alone; otherwise the bearer credential does.
    """
    if not (services or users or operators):
        raise ValueError("a rule must let someone in (use public() for an open door)")
    who = [*([", ".join(services)] if services else []), *(["user (own rows only)"] if users else [])]
    who += ["operator"] if operators else []

    async def check(
        token: str | None = Depends(_service_token),
        credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),
        ctx: ServiceContext = Depends(context_of),
    ) -> Principal:
        if token and services:
            return Principal("service", _service_name(ctx, token, services))
        if credentials is None or credentials.scheme.lower() != "bearer":
            expected = " or ".join(
                [*([SERVICE_TOKEN_HEADER] if services else []), *(["a bearer token"] if users or operators else [])]
            )
            raise unauthorized(f"missing {expected}")
        if operators and _is_operator_token(ctx, credentials.credentials):
            return Principal("machine", "operator-token")
        if not (users or operators):
            raise unauthorized(f"missing {SERVICE_TOKEN_HEADER}")
        claims = await claims_of(ctx, credentials.credentials)
        if not users and claims.role != "operator":
            raise forbidden("operator role required")
        return Principal("user", claims.user_id, claims.role, claims)

    kind: RuleKind = "service" if services else ("user" if users else "operator")
    return mark(check, AccessRule(kind, "; or ".join(who)))


# An operator: a person with the operator role, or the operator's machine (OPERATOR_TOKEN).
operator = caller(operators=True)
OperatorPrincipal = Depends(operator)


# --- machines holding one shared secret (Alertmanager) --------------------------------------------------------


def secret_bearer(setting: str, rule: AccessRule) -> Callable[..., Awaitable[None]]:
    """``Authorization: Bearer <the secret in settings.<setting>>``, compared in constant time; refused with
    "not configured" while the secret is unset (default deny, never an open door)."""

    async def check(
        credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),
        ctx: ServiceContext = Depends(context_of),
    ) -> None:
        if not is_configured(ctx, setting):
            raise unauthorized(f"{setting.upper()} is not configured here: this door is closed")
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise unauthorized(f"missing bearer token ({setting.upper()})")
        if not hmac.compare_digest(credentials.credentials.encode(), secret_bytes(ctx, setting)):
            raise unauthorized(f"invalid {setting.upper()}")

    return mark(check, rule)


# Alertmanager's webhook: http_config.authorization credentials = ALERTMANAGER_TOKEN.
alertmanager = secret_bearer("alertmanager_token", AccessRule("alertmanager", "Alertmanager (ALERTMANAGER_TOKEN)"))
