"""Passwords (argon2) and issuing people's tokens (JWT access + refresh, revocable). Checking a token is the
platform's (``platform.auth``), the same in every service.

Access tokens live ``JWT_ACCESS_MINUTES``, refresh tokens ``JWT_REFRESH_DAYS``. Logout and refresh store the
token's ``jti`` in ``revoked_tokens`` until it would have expired anyway; every check looks there.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from answer_ninja.platform.app_factory import ServiceContext
from answer_ninja.platform.auth.dependencies import unauthorized
from answer_ninja.platform.auth.keys import secret_bytes
from answer_ninja.platform.auth.tokens import (
    InvalidTokenError,
    Role,
    TokenClaims,
    TokenType,
    decode_user_token,
    issue_user_token,
)

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def issue_token(
    ctx: ServiceContext, *, user_id: str, role: Role, token_type: TokenType, now: datetime
) -> tuple[str, int]:
    """A signed token and its lifetime in seconds."""
    settings = ctx.settings
    lifetime = (
        timedelta(minutes=settings.jwt_access_minutes)
        if token_type == "access"
        else timedelta(days=settings.jwt_refresh_days)
    )
    token = issue_user_token(
        secret_bytes(ctx, "jwt_secret"), user_id=user_id, role=role, token_type=token_type, now=now, lifetime=lifetime
    )
    return token, int(lifetime.total_seconds())


def decode_token(ctx: ServiceContext, token: str, *, expected: TokenType) -> TokenClaims:
    """Claims of a valid, unexpired token of the expected type; 401 otherwise (revocation is checked apart)."""
    try:
        return decode_user_token(secret_bytes(ctx, "jwt_secret"), token, expected=expected)
    except InvalidTokenError as error:
        raise unauthorized(str(error)) from None
