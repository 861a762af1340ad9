"""Tokens without I/O: people's JWTs with roles, services' short-lived tokens, purpose-bound keys."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from answer_ninja.platform.auth.tokens import (
    InvalidTokenError,
    ServiceTokenIssuer,
    ServiceTokenVerifier,
    decode_user_token,
    derived_key,
    issue_user_token,
)

SECRET = b"s" * 32


def _user_token(role: str = "user", token_type: str = "access", lifetime: timedelta = timedelta(minutes=5)) -> str:
    return issue_user_token(
        SECRET,
        user_id="u1",
        role=role,
        token_type=token_type,
        now=datetime.now(UTC),
        lifetime=lifetime,  # type: ignore[arg-type]
    )


def test_user_token_round_trip_keeps_role() -> None:
    claims = decode_user_token(SECRET, _user_token("operator"), expected="access")
    assert (claims.user_id, claims.role, claims.type) == ("u1", "operator", "access")


def test_user_token_of_wrong_type_expired_or_forged_is_refused() -> None:
    with pytest.raises(InvalidTokenError, match="not an access token"):
        decode_user_token(SECRET, _user_token(token_type="refresh"), expected="access")
    with pytest.raises(InvalidTokenError, match="expired"):
        decode_user_token(SECRET, _user_token(lifetime=timedelta(seconds=-1)), expected="access")
    with pytest.raises(InvalidTokenError):
        decode_user_token(b"x" * 32, _user_token(), expected="access")


def test_an_unknown_role_claim_is_an_ordinary_user() -> None:
    forged_role = _user_token(role="root")
    assert decode_user_token(SECRET, forged_role, expected="access").role == "user"


def test_service_token_names_caller_and_is_bound_to_its_audience() -> None:
    token = ServiceTokenIssuer(SECRET, "phone-gateway").token_for("user-management")
    assert ServiceTokenVerifier(SECRET, "user-management").verify(token) == "phone-gateway"
    with pytest.raises(InvalidTokenError):
        ServiceTokenVerifier(SECRET, "profile-analytics").verify(token)  # sent to one service, replayed to another
    with pytest.raises(InvalidTokenError):
        ServiceTokenVerifier(b"other" * 8, "user-management").verify(token)


def test_a_person_token_is_never_a_service_token_and_back() -> None:
    person = _user_token()
    with pytest.raises(InvalidTokenError):
        ServiceTokenVerifier(SECRET, "user-management").verify(person)
    service = ServiceTokenIssuer(SECRET, "phone-gateway").token_for("user-management")
    with pytest.raises(InvalidTokenError):
        decode_user_token(SECRET, service, expected="access")


def test_service_tokens_are_reused_until_near_expiry_then_renewed() -> None:
    issuer = ServiceTokenIssuer(SECRET, "phone-gateway", lifetime=300)
    now = time.time()
    first = issuer.token_for("user-management", now=now)
    assert issuer.token_for("user-management", now=now + 200) == first
    renewed = issuer.token_for("user-management", now=now + 250)
    assert renewed != first


def test_an_expired_service_token_is_refused_even_if_verified_before() -> None:
    verifier = ServiceTokenVerifier(SECRET, "user-management")
    token = ServiceTokenIssuer(SECRET, "phone-gateway", lifetime=2).token_for("user-management")
    assert verifier.verify(token) == "phone-gateway"
    time.sleep(2.1)
    with pytest.raises(InvalidTokenError):
        verifier.verify(token)  # the cache remembers the expiry, not just the verdict


def test_service_token_with_a_wrong_type_claim_is_refused() -> None:
    key = derived_key(SECRET, "service-token")
    forged = jwt.encode({"iss": "x", "aud": "user-management", "exp": int(time.time()) + 60}, key, algorithm="HS256")
    with pytest.raises(InvalidTokenError, match="wrong type"):
        ServiceTokenVerifier(SECRET, "user-management").verify(forged)


def test_derived_keys_differ_by_purpose() -> None:
    assert derived_key(SECRET, "service-token") != derived_key(SECRET, "media-stream")
