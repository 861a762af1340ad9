"""Passwords (argon2) and tokens (JWT access + refresh, revocable), shared by the services that need a user.

Access tokens live ``JWT_ACCESS_MINUTES``, refresh tokens ``JWT_REFRESH_DAYS``. Logout and refresh store the
token's ``jti`` in ``revoked_tokens`` until it would have expired anyway; every check looks there.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Depends, HTTPException
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select

from answer_ninja.platform.app_factory import ServiceContext, context_of
from answer_ninja.platform.db.models import RevokedToken
from answer_ninja.services.user_management.keys import secret_bytes

TokenType = Literal["access", "refresh"]
ALGORITHM = "HS256"
_hasher = PasswordHasher()
_bearer = HTTPBearer(auto_error=False, description="Access token from /api/v1/auth/login")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class TokenClaims:
    user_id: str
    jti: str
    type: TokenType
    expires_at: datetime


def issue_token(ctx: ServiceContext, *, user_id: str, token_type: TokenType, now: datetime) -> tuple[str, int]:
    """A signed token and its lifetime in seconds."""
    settings = ctx.settings
    lifetime = (
        timedelta(minutes=settings.jwt_access_minutes)
        if token_type == "access"
        else timedelta(days=settings.jwt_refresh_days)
    )
    claims = {"sub": user_id, "jti": uuid.uuid4().hex, "type": token_type, "iat": now, "exp": now + lifetime}
    return jwt.encode(claims, secret_bytes(ctx, "jwt_secret"), algorithm=ALGORITHM), int(lifetime.total_seconds())


def decode_token(ctx: ServiceContext, token: str, *, expected: TokenType) -> TokenClaims:
    """Claims of a valid, unexpired token of the expected type; 401 otherwise (revocation is checked apart)."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            secret_bytes(ctx, "jwt_secret"),
            algorithms=[ALGORITHM],
            options={"require": ["sub", "jti", "exp", "type"]},
        )
    except jwt.PyJWTError:
        raise unauthorized("invalid or expired token") from None
    if claims.get("type") != expected:
        raise unauthorized(f"not an {expected} token")
    return TokenClaims(
        user_id=str(claims["sub"]),
        jti=str(claims["jti"]),
        type=expected,
        expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
    )


async def is_revoked(ctx: ServiceContext, jti: str) -> bool:
    async with ctx.require_database().session() as session:
        return (await session.scalar(select(RevokedToken.jti).where(RevokedToken.jti == jti))) is not None


def unauthorized(message: str) -> HTTPException:
    return HTTPException(status_code=401, detail=message, headers={"WWW-Authenticate": "Bearer"})


async def current_claims(
    credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),
    ctx: ServiceContext = Depends(context_of),
) -> TokenClaims:
    """FastAPI dependency: the claims of the caller's valid, unrevoked access token."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise unauthorized("missing bearer token")
    claims = decode_token(ctx, credentials.credentials, expected="access")
    if await is_revoked(ctx, claims.jti):
        raise unauthorized("token revoked")
    return claims


async def current_user_id(claims: TokenClaims = Depends(current_claims)) -> str:
    return claims.user_id
