"""The session and CSRF cookies: what one key signs another cannot forge, old or altered cookies are refused."""

from __future__ import annotations

import pytest

from answer_ninja.services.console.sessions import Session, SessionCodec, csrf_matches

SESSION = Session("access.jwt", "refresh.jwt", "u1", "user", "me@example.com", "zh-CN")


def test_a_session_survives_the_round_trip() -> None:
    codec = SessionCodec(b"k" * 32, max_age_seconds=3600)
    assert codec.loads(codec.dumps(SESSION)) == SESSION


@pytest.mark.parametrize("value", [None, "", "garbage", "e30.AAAA.BBBB"])
def test_absent_or_garbled_cookies_are_no_session(value: str | None) -> None:
    assert SessionCodec(b"k" * 32, max_age_seconds=3600).loads(value) is None


def test_another_key_or_a_changed_byte_is_refused() -> None:
    cookie = SessionCodec(b"k" * 32, max_age_seconds=3600).dumps(SESSION)
    assert SessionCodec(b"x" * 32, max_age_seconds=3600).loads(cookie) is None
    tampered = cookie[:-2] + ("A" if cookie[-2] != "A" else "B") + cookie[-1]
    assert SessionCodec(b"k" * 32, max_age_seconds=3600).loads(tampered) is None


def test_an_expired_session_is_refused() -> None:
    codec = SessionCodec(b"k" * 32, max_age_seconds=0)
    cookie = codec.dumps(SESSION)
    import time

    time.sleep(1.1)
    assert codec.loads(cookie) is None


def test_csrf_cookie_is_signed_and_compared_exactly() -> None:
    codec = SessionCodec(b"k" * 32, max_age_seconds=3600)
    token, cookie = codec.new_csrf()
    assert codec.csrf_from_cookie(cookie) == token
    assert codec.csrf_from_cookie(token) is None  # the bare token is not a valid cookie
    assert SessionCodec(b"x" * 32, max_age_seconds=3600).csrf_from_cookie(cookie) is None
    assert csrf_matches(token, token)
    assert not csrf_matches(token, token + "x")
    assert not csrf_matches(None, token)
    assert not csrf_matches(token, None)
