"""Media stream tokens: phone-gateway signs, per answered call, what realtime-processor may do with the stream.

A token is a JWT (HS256) keyed by ``derived_key(INTERNAL_SECRET, "media-stream")``, so it can pass for no other
token. Its claims are the ONLY source of the call's identity and limits on the media socket (call id, user,
language, persona, longest call, carrier): whatever the client sends beside it is ignored. It lives a minute (the
carrier connects within seconds of our answer) and is single use: its ``jti`` is spent on first use, in Redis
(SET NX with the token's remaining life) when the service has it, in process otherwise.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any, Literal

import jwt

from answer_ninja.platform.auth.tokens import ALGORITHM, derived_key
from answer_ninja.platform.cache import Cache

STREAM_TOKEN_PURPOSE = "media-stream"
STREAM_TOKEN_AUDIENCE = "realtime-processor"
STREAM_TOKEN_TYPE = "media-stream"
# Time for the carrier to open the stream after our answer (Twilio and ACS connect within a second or two).
STREAM_TOKEN_SECONDS = 60
# Clock difference tolerated between the gateway's and the media service's hosts.
CLOCK_LEEWAY_SECONDS = 5
SPENT_KEY_PREFIX = "media-stream:spent:"

# Why a stream was refused (the label of the refusals counter; never the token itself).
RefusalReason = Literal["missing", "invalid", "expired", "replayed", "not_configured"]


class StreamTokenError(ValueError):
    """The stream may not start; ``reason`` says why (for the log and the counter)."""

    def __init__(self, reason: RefusalReason, message: str) -> None:
        super().__init__(message)
        self.reason: RefusalReason = reason


@dataclass(frozen=True)
class StreamClaims:
    """What a verified token allows: this call, for this user, with these settings and limits."""

    call_id: str
    user_id: str | None
    language: str
    persona: str
    max_call_seconds: float
    carrier: str
    jti: str
    expires_at: float


def stream_key(internal_secret: bytes) -> bytes:
    return derived_key(internal_secret, STREAM_TOKEN_PURPOSE)


def issue_stream_token(
    key: bytes,
    *,
    call_id: str,
    user_id: str | None,
    language: str,
    persona: str,
    max_call_seconds: float,
    carrier: str,
    now: float | None = None,
    lifetime: float = STREAM_TOKEN_SECONDS,
) -> str:
    """A signed token for one stream of one call (``key`` from ``stream_key``)."""
    now = time.time() if now is None else now
    claims = {
        "typ": STREAM_TOKEN_TYPE,
        "aud": STREAM_TOKEN_AUDIENCE,
        "jti": uuid.uuid4().hex,
        "iat": int(now),
        "exp": int(now + lifetime),
        "call_id": call_id,
        "sub": user_id or "",
        "language": language,
        "persona": persona,
        "max_call_seconds": float(max_call_seconds),
        "carrier": carrier,
    }
    return jwt.encode(claims, key, algorithm=ALGORITHM)


def verify_stream_token(key: bytes, token: str | None, *, now: float | None = None) -> StreamClaims:
    """The claims of a well-signed, unexpired stream token (not yet checked for reuse: see ``spend``)."""
    if not token:
        raise StreamTokenError("missing", "no stream token")
    now = time.time() if now is None else now
    try:
        # Expiry is checked below against ``now`` (the tests' and the benchmark's clock), with the same leeway.
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            audience=STREAM_TOKEN_AUDIENCE,
            options={"require": ["exp", "jti", "aud", "call_id", "max_call_seconds"], "verify_exp": False},
        )
    except jwt.PyJWTError as error:
        raise StreamTokenError("invalid", f"stream token: {type(error).__name__}") from None
    try:
        expires = float(claims["exp"])
    except (TypeError, ValueError):
        raise StreamTokenError("invalid", "stream token: bad exp") from None
    if expires + CLOCK_LEEWAY_SECONDS <= now:
        raise StreamTokenError("expired", "stream token expired")
    return _claims(claims)


def _claims(claims: dict[str, Any]) -> StreamClaims:
    if claims.get("typ") != STREAM_TOKEN_TYPE:
        raise StreamTokenError("invalid", "stream token: wrong type")
    try:
        max_seconds = float(claims["max_call_seconds"])
    except (TypeError, ValueError):
        raise StreamTokenError("invalid", "stream token: bad max_call_seconds") from None
    call_id = claims.get("call_id")
    if not isinstance(call_id, str) or not call_id:
        raise StreamTokenError("invalid", "stream token: bad call_id")
    return StreamClaims(
        call_id=call_id,
        user_id=str(claims.get("sub") or "") or None,
        language=str(claims.get("language") or ""),  # empty: left open (a probe call, no user)
        persona=str(claims.get("persona") or "polite"),
        max_call_seconds=max_seconds,
        carrier=str(claims.get("carrier") or "twilio"),
        jti=str(claims["jti"]),
        expires_at=float(claims["exp"]),
    )


async def spend(cache: Cache, claims: StreamClaims, *, now: float | None = None) -> None:
    """Mark the token used; a second use (a replay) raises ``replayed``. The mark lives as long as the token."""
    now = time.time() if now is None else now
    remaining = max(1.0, claims.expires_at + CLOCK_LEEWAY_SECONDS - now)
    if not await cache.add(SPENT_KEY_PREFIX + claims.jti, ttl_seconds=remaining):
        raise StreamTokenError("replayed", "stream token already used")
