"""Signed tokens, without I/O: people's access/refresh JWTs and services' short-lived internal JWTs.

People's tokens are signed with JWT_SECRET; services' with a key derived from INTERNAL_SECRET (``derived_key``),
so neither kind can ever pass for the other, and each purpose of the internal secret has its own key.
"""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import jwt

ALGORITHM = "HS256"
TokenType = Literal["access", "refresh"]
Role = Literal["user", "operator"]
ROLES: tuple[Role, ...] = ("user", "operator")

# A service token lives five minutes and is renewed when a minute is left: one signature per caller, target and
# four minutes, and a stolen one is useless soon after.
SERVICE_TOKEN_SECONDS = 300
SERVICE_TOKEN_RENEW_SECONDS = 60
# Verified service tokens are remembered until they expire, so a request costs a dict lookup, not an HMAC.
VERIFIED_CACHE_MAX = 4096


class InvalidTokenError(ValueError):
    """The token is malformed, forged, expired or of the wrong kind; the message says which, for a 401."""


def derived_key(secret: bytes, purpose: str) -> bytes:
    """A key for one purpose of a shared secret (HMAC-SHA256 of the purpose), so purposes never mix."""
    return hmac.new(secret, purpose.encode(), hashlib.sha256).digest()


# --- people ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenClaims:
    """A person's verified token."""

    user_id: str
    jti: str
    type: TokenType
    expires_at: datetime
    role: Role = "user"
    issued_at: datetime | None = None


def issue_user_token(
    secret: bytes, *, user_id: str, role: Role, token_type: TokenType, now: datetime, lifetime: timedelta
) -> str:
    claims = {
        "sub": user_id,
        "jti": uuid.uuid4().hex,
        "type": token_type,
        "role": role,
        "iat": now,
        "exp": now + lifetime,
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def decode_user_token(secret: bytes, token: str, *, expected: TokenType) -> TokenClaims:
    """Claims of a valid, unexpired token of the expected type (revocation is checked apart, with the database)."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token, secret, algorithms=[ALGORITHM], options={"require": ["sub", "jti", "exp", "type"]}
        )
    except jwt.PyJWTError:
        raise InvalidTokenError("invalid or expired token") from None
    if claims.get("type") != expected:
        raise InvalidTokenError(f"not an {expected} token")
    role = claims.get("role", "user")
    return TokenClaims(
        user_id=str(claims["sub"]),
        jti=str(claims["jti"]),
        type=expected,
        expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
        role=role if role in ROLES else "user",
        issued_at=datetime.fromtimestamp(int(claims["iat"]), UTC) if "iat" in claims else None,
    )


# --- services -------------------------------------------------------------------------------------------------

SERVICE_TOKEN_PURPOSE = "service-token"


class ServiceTokenIssuer:
    """Tokens naming this service (``iss``) and the one it calls (``aud``), one per audience, renewed before expiry."""

    def __init__(self, secret: bytes, issuer: str, *, lifetime: float = SERVICE_TOKEN_SECONDS) -> None:
        self._key = derived_key(secret, SERVICE_TOKEN_PURPOSE)
        self.issuer = issuer
        self.lifetime = lifetime
        self._tokens: dict[str, tuple[float, str]] = {}

    def token_for(self, audience: str, *, now: float | None = None) -> str:
        now = time.time() if now is None else now
        cached = self._tokens.get(audience)
        if cached is not None and cached[0] - now > min(SERVICE_TOKEN_RENEW_SECONDS, self.lifetime / 2):
            return cached[1]
        expires = now + self.lifetime
        claims = {"iss": self.issuer, "aud": audience, "iat": int(now), "exp": int(expires), "typ": "service"}
        token = jwt.encode(claims, self._key, algorithm=ALGORITHM)
        self._tokens[audience] = (expires, token)
        return token


class ServiceTokenVerifier:
    """Checks tokens addressed to ``audience``; answers the calling service's name."""

    def __init__(self, secret: bytes, audience: str) -> None:
        self._key = derived_key(secret, SERVICE_TOKEN_PURPOSE)
        self.audience = audience
        self._verified: dict[str, tuple[float, str]] = {}

    def verify(self, token: str, *, now: float | None = None) -> str:
        now = time.time() if now is None else now
        cached = self._verified.get(token)
        if cached is not None and cached[0] > now:
            return cached[1]
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                audience=self.audience,
                options={"require": ["iss", "aud", "exp"]},
            )
        except jwt.PyJWTError as error:
            raise InvalidTokenError(f"service token: {type(error).__name__}") from None
        if claims.get("typ") != "service":
            raise InvalidTokenError("service token: wrong type")
        issuer = str(claims["iss"])
        if len(self._verified) >= VERIFIED_CACHE_MAX:
            self._verified.clear()  # rare (a few callers, renewed every four minutes): cheaper than an LRU
        self._verified[token] = (float(claims["exp"]), issuer)
        return issuer
