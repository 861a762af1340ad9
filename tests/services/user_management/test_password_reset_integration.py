"""The forgotten-password door on real user-management (PostgreSQL, Redis): the same answer for every email, a
link that works once, every old session signed out, quotas against inbox flooding."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.services.phone_gateway.live import LiveServices

pytestmark = pytest.mark.integration

RESET = "/api/v1/auth/password-reset"


def sent_links(live: LiveServices, email: str) -> list[str]:
    outbox = live.apps["user-management"].state.ctx.extras.get("password_reset_outbox", [])
    return [link for to, link in outbox if to == email]


def wait_for_link(live: LiveServices, email: str, count: int) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        links = sent_links(live, email)
        if len(links) >= count:
            return links[-1]
        time.sleep(0.1)
    raise AssertionError(f"no reset link #{count} for {email}")


def token_of(link: str) -> str:
    """The token of a link to the console's /reset page."""
    parts = urlsplit(link)
    assert (parts.scheme, parts.path) == ("http", "/reset"), link
    return parse_qs(parts.query)["token"][0]


def test_a_reset_link_works_once_and_signs_out_every_old_session(live: LiveServices) -> None:
    email = "forgot@example.com"
    _, old_access = live.register(email, "+8610011112222", real_number=None)
    with live.client("user-management") as users:
        old_refresh = users.post("/api/v1/auth/login", json={"email": email, "password": "correct horse battery"})
        known = users.post(RESET, json={"email": email})
        unknown = users.post(RESET, json={"email": "nobody-here@example.com"})
        assert known.status_code == unknown.status_code == 202
        assert known.json() == unknown.json(), "the answer must not tell whether the email has an account"
        token = token_of(wait_for_link(live, email, 1))
        assert sent_links(live, "nobody-here@example.com") == []

        too_short = users.post(RESET + "/confirm", json={"token": token, "password": "short"})
        assert too_short.status_code == 422
        assert too_short.json()["fields"][0]["field"] == "password"
        forged = users.post(RESET + "/confirm", json={"token": token[:-4] + "AAAA", "password": "a new long password"})
        assert forged.status_code == 401
        assert "token" in forged.json()["detail"]

        time.sleep(1.1)  # tokens carry whole seconds: the old ones are from an earlier second than the change
        assert (
            users.post(RESET + "/confirm", json={"token": token, "password": "a new long password"}).status_code == 204
        )
        again = users.post(RESET + "/confirm", json={"token": token, "password": "yet another password"})
        assert again.status_code == 401
        assert "already used" in again.json()["detail"]

        # Every session from before the reset is signed out; the new password signs in, the old one does not.
        assert users.get("/api/v1/me", headers={"Authorization": f"Bearer {old_access}"}).status_code == 401
        refreshed = users.post("/api/v1/auth/refresh", json={"refresh_token": old_refresh.json()["refresh_token"]})
        assert refreshed.status_code == 401
        assert (
            users.post("/api/v1/auth/login", json={"email": email, "password": "correct horse battery"}).status_code
            == 401
        )
        fresh = users.post("/api/v1/auth/login", json={"email": email, "password": "a new long password"})
        assert fresh.status_code == 200
        assert (
            users.get("/api/v1/me", headers={"Authorization": f"Bearer {fresh.json()['access_token']}"}).status_code
            == 200
        )


def test_reset_links_are_limited_per_email(live: LiveServices) -> None:
    email = "flooded@example.com"
    live.register(email, "+8610011113333", real_number=None)
    with live.client("user-management") as users:
        answers = [users.post(RESET, json={"email": email}).status_code for _ in range(4)]
        assert answers == [202, 202, 202, 429]
        bad = users.post(RESET, json={"email": "not an email"})
        assert bad.status_code == 422
        assert bad.json()["fields"][0]["field"] == "email"
    wait_for_link(live, email, 3)
    assert len(sent_links(live, email)) == 3
