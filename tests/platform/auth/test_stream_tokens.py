"""Stream tokens: what realtime-processor believes about a media stream, and that it is believed once."""

from __future__ import annotations

import asyncio
import time

import jwt
import pytest

from answer_ninja.platform.auth.stream_tokens import (
    STREAM_TOKEN_SECONDS,
    StreamTokenError,
    issue_stream_token,
    spend,
    stream_key,
    verify_stream_token,
)
from answer_ninja.platform.auth.tokens import SERVICE_TOKEN_PURPOSE, ServiceTokenIssuer, derived_key
from answer_ninja.platform.cache import MemoryCache

SECRET = b"internal-secret-for-tests"
KEY = stream_key(SECRET)


def token(call_id: str = "call-a", **overrides: object) -> str:
    claims: dict[str, object] = {
        "call_id": call_id,
        "user_id": "user-1",
        "language": "en-US",
        "persona": "humorous",
        "max_call_seconds": 120.0,
        "carrier": "twilio",
    }
    claims.update(overrides)
    return issue_stream_token(KEY, **claims)  # type: ignore[arg-type]


def test_claims_round_trip() -> None:
    claims = verify_stream_token(KEY, token())
    assert (claims.call_id, claims.user_id, claims.language, claims.persona) == (
        "call-a",
        "user-1",
        "en-US",
        "humorous",
    )
    assert claims.max_call_seconds == 120.0
    assert claims.carrier == "twilio"
    assert claims.expires_at - time.time() == pytest.approx(STREAM_TOKEN_SECONDS, abs=2)


def test_a_probe_call_has_no_user_and_leaves_the_language_open() -> None:
    claims = verify_stream_token(KEY, token(user_id=None, language=""))
    assert claims.user_id is None
    assert claims.language == ""


@pytest.mark.parametrize("presented", [None, ""])
def test_missing(presented: str | None) -> None:
    with pytest.raises(StreamTokenError) as refused:
        verify_stream_token(KEY, presented)
    assert refused.value.reason == "missing"


def test_expired_after_its_minute() -> None:
    issued = token(now=1_000_000.0)
    assert verify_stream_token(KEY, issued, now=1_000_030.0).call_id == "call-a"
    with pytest.raises(StreamTokenError) as refused:
        verify_stream_token(KEY, issued, now=1_000_000.0 + STREAM_TOKEN_SECONDS + 10)
    assert refused.value.reason == "expired"


def test_tampered_claims_break_the_signature() -> None:
    header, _payload, signature = token().split(".")
    forged_payload = jwt.utils.base64url_encode(b'{"call_id":"victim","max_call_seconds":99999}').decode()
    with pytest.raises(StreamTokenError) as refused:
        verify_stream_token(KEY, f"{header}.{forged_payload}.{signature}")
    assert refused.value.reason == "invalid"


def test_other_keys_and_other_token_kinds_never_pass() -> None:
    with pytest.raises(StreamTokenError):
        verify_stream_token(stream_key(b"another machine"), token())
    # A service token signed from the same INTERNAL_SECRET is not a stream token (a different derived key).
    service = ServiceTokenIssuer(SECRET, "phone-gateway").token_for("realtime-processor")
    with pytest.raises(StreamTokenError):
        verify_stream_token(KEY, service)
    assert derived_key(SECRET, SERVICE_TOKEN_PURPOSE) != KEY
    # Signed with the right key but "alg: none" or another type: refused.
    unsigned = jwt.encode({"call_id": "x", "max_call_seconds": 1, "exp": time.time() + 60}, None, algorithm="none")
    with pytest.raises(StreamTokenError):
        verify_stream_token(KEY, unsigned)
    wrong_type = jwt.encode(
        {"typ": "service", "aud": "realtime-processor", "jti": "j", "call_id": "x", "max_call_seconds": 1,
         "exp": int(time.time() + 60)},
        KEY,
        algorithm="HS256",
    )  # fmt: skip
    with pytest.raises(StreamTokenError):
        verify_stream_token(KEY, wrong_type)


def test_single_use() -> None:
    cache = MemoryCache()
    claims = verify_stream_token(KEY, token())

    async def use_twice() -> None:
        await spend(cache, claims)
        with pytest.raises(StreamTokenError) as refused:
            await spend(cache, claims)
        assert refused.value.reason == "replayed"
        # Another call's token is unaffected.
        await spend(cache, verify_stream_token(KEY, token("call-b")))

    asyncio.run(use_twice())


def test_memory_cache_add_is_set_if_absent_with_expiry() -> None:
    cache = MemoryCache()

    async def run() -> None:
        assert await cache.add("k", ttl_seconds=0.05)
        assert not await cache.add("k", ttl_seconds=0.05)
        await asyncio.sleep(0.08)
        assert await cache.add("k", ttl_seconds=0.05)

    asyncio.run(run())
