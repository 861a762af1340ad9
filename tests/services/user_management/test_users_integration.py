"""user-management over HTTP on real PostgreSQL and Redis: auth, isolation between users, whitelist."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
import redis

from answer_ninja.services.phone_gateway.cache_keys import routing_user_key
from tests.services.phone_gateway.live import LiveServices
from tests.services.user_management.test_imports import VCARDS

pytestmark = pytest.mark.integration
HOSTED_A, HOSTED_B = "+8610012345678", "+8610087654321"


def test_register_login_refresh_logout(live: LiveServices) -> None:
    with live.client("user-management") as users:
        created = users.post(
            "/api/v1/auth/register",
            json={"email": "Zhang@Example.com", "password": "long enough pw", "hosted_numbers": ["010 1234 5678"]},
        )
        assert created.status_code == 202, created.text
        # The same answer for an email that already has an account: registration reveals nothing.
        again = users.post("/api/v1/auth/register", json={"email": "zhang@example.com", "password": "x" * 8})
        assert (again.status_code, again.json()) == (created.status_code, created.json())
        wrong = users.post("/api/v1/auth/login", json={"email": "zhang@example.com", "password": "wrong password"})
        assert wrong.status_code == 401
        tokens = users.post(
            "/api/v1/auth/login", json={"email": "zhang@example.com", "password": "long enough pw"}
        ).json()
        auth = {"Authorization": f"Bearer {tokens['access_token']}"}
        me = users.get("/api/v1/me", headers=auth).json()
        assert me["email"] == "zhang@example.com"
        # The number given at registration waits for its proof: not routed yet.
        assert (me["hosted_numbers"], me["pending_hosted_numbers"]) == ([], ["+861012345678"])
        assert users.get("/api/v1/me").status_code == 401
        # Refresh rotates: the old refresh token works once.
        rotated = users.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
        assert rotated.status_code == 200
        assert users.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}).status_code == 401
        # An access token is not a refresh token.
        assert users.post("/api/v1/auth/refresh", json={"refresh_token": tokens["access_token"]}).status_code == 401
        # Logout revokes the access token (and the refresh token given).
        new = rotated.json()
        new_auth = {"Authorization": f"Bearer {new['access_token']}"}
        assert (
            users.post(
                "/api/v1/auth/logout", json={"refresh_token": new["refresh_token"]}, headers=new_auth
            ).status_code
            == 204
        )
        assert users.get("/api/v1/me", headers=new_auth).status_code == 401
        assert users.post("/api/v1/auth/refresh", json={"refresh_token": new["refresh_token"]}).status_code == 401
        assert users.get("/api/v1/me", headers=auth).status_code == 200  # the other session is untouched


def test_users_only_see_and_change_their_own_data(live: LiveServices) -> None:
    _, token_a = live.register("a@example.com", HOSTED_A)
    _, token_b = live.register("b@example.com", HOSTED_B)
    with live.client("user-management", token_a) as alice, live.client("user-management", token_b) as bob:
        entry = alice.post("/api/v1/whitelist", json={"number": "13800138000", "name": "Mum"}).json()
        assert [item["number"] for item in alice.get("/api/v1/whitelist").json()] == ["+8613800138000"]
        assert bob.get("/api/v1/whitelist").json() == []
        assert bob.get(f"/api/v1/whitelist/{entry['id']}").status_code == 404
        assert bob.patch(f"/api/v1/whitelist/{entry['id']}", json={"name": "mine"}).status_code == 404
        assert bob.delete(f"/api/v1/whitelist/{entry['id']}").status_code == 404
        assert alice.get(f"/api/v1/whitelist/{entry['id']}").json()["name"] == "Mum"
        numbers_a = alice.get("/api/v1/me/numbers").json()
        assert bob.delete(f"/api/v1/me/numbers/{numbers_a[0]['id']}").status_code == 404
        assert bob.post("/api/v1/me/numbers", json={"number": HOSTED_A}).status_code == 409
        assert bob.get("/api/v1/me").json()["hosted_numbers"] == [HOSTED_B]
        # Bob whitelisting the same number is his own entry, independent of Alice's.
        assert bob.post("/api/v1/whitelist", json={"number": "+8613800138000"}).status_code == 201
        assert alice.delete(f"/api/v1/whitelist/{entry['id']}").status_code == 204
        assert len(bob.get("/api/v1/whitelist").json()) == 1


def test_whitelist_import_csv_and_vcard(live: LiveServices) -> None:
    _, token = live.register("import@example.com", HOSTED_A)
    with live.client("user-management", token) as users:
        csv_result = users.post(
            "/api/v1/whitelist/import",
            json={"format": "csv", "content": "name,phone\nMum,13800138000\nBad,12\nDad,+86 139 0000 0002\n"},
        ).json()
        assert csv_result == {"imported": 2, "already_present": 0, "invalid": ["12"], "invalid_count": 1}
        vcard_result = users.post("/api/v1/whitelist/import", json={"format": "vcard", "content": VCARDS}).json()
        assert vcard_result == {"imported": 2, "already_present": 1, "invalid": [], "invalid_count": 0}
        entries = {item["number"]: item for item in users.get("/api/v1/whitelist").json()}
        assert set(entries) == {"+8613800138000", "+8613900000002", "+861012345678", "+14155552671"}
        assert entries["+14155552671"]["name"] == "Alice"
        assert entries["+14155552671"]["kind"] == "import"
        broken = users.post("/api/v1/whitelist/import", json={"format": "vcard", "content": "BEGIN:VCARD\n"})
        assert broken.status_code == 422
        assert broken.json()["fields"][0]["field"] == "content"


def test_temporary_entries_learned_proposals_and_field_errors(live: LiveServices) -> None:
    user_id, token = live.register("temp@example.com", HOSTED_A)
    soon = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    with live.client("user-management", token) as users:
        temporary = users.post("/api/v1/whitelist", json={"number": "13700000000", "expires_at": soon}).json()
        assert temporary["kind"] == "temporary"
        past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
        expired = users.post("/api/v1/whitelist", json={"number": "13700000001", "expires_at": past})
        assert expired.status_code == 422
        assert expired.json()["fields"][0]["field"] == "expires_at"
        bad = users.post("/api/v1/whitelist", json={"number": "not a number"})
        assert bad.status_code == 422
        assert bad.json()["fields"][0]["field"] == "number"
        bad_pref = users.patch("/api/v1/me/preferences", json={"spam_threshold": 2})
        assert bad_pref.status_code == 422
        assert bad_pref.json()["fields"][0]["field"] == "spam_threshold"

    with live.client("user-management", as_service="profile-analytics") as internal:
        proposed = internal.post("/internal/v1/whitelist/learned", json={"user_id": user_id, "number": "13600000000"})
        assert proposed.status_code == 201
        assert proposed.json()["status"] == "proposed"
        again = internal.post("/internal/v1/whitelist/learned", json={"user_id": user_id, "number": "13600000000"})
        assert again.json() is None
    with live.client("user-management", as_service="phone-gateway") as internal:
        temporary_answer = internal.get(f"/internal/v1/routing/{HOSTED_A}", params={"caller": "13700000000"}).json()
        proposed_answer = internal.get(f"/internal/v1/routing/{HOSTED_A}", params={"caller": "+8613600000000"}).json()
        no_caller = internal.get(f"/internal/v1/routing/{HOSTED_A}").json()
    # A short list travels whole with the settings (a long one never does: tests/security/test_bounded_work.py).
    assert temporary_answer["whitelist_complete"] is True
    assert set(temporary_answer["whitelist"]) == {"+8613700000000"}
    assert temporary_answer["whitelist"]["+8613700000000"] is not None
    assert no_caller["whitelist"] == temporary_answer["whitelist"]
    # Proposed entries do not let anyone through until the user accepts them.
    assert "+8613600000000" not in proposed_answer["whitelist"]
    with live.client("user-management", token) as users:
        accepted = users.patch(f"/api/v1/whitelist/{proposed.json()['id']}", json={"status": "active"})
        assert accepted.json()["status"] == "active"
    with live.client("user-management", as_service="phone-gateway") as internal:
        after = internal.get(f"/internal/v1/routing/{HOSTED_A}", params={"caller": "+8613600000000"}).json()
        assert "+8613600000000" in after["whitelist"]
        assert after["version"] > proposed_answer["version"]
        assert internal.get("/internal/v1/routing/+8610099999999").status_code == 404


def test_changes_invalidate_the_gateways_cached_snapshot(live: LiveServices) -> None:
    _, token = live.register("cache@example.com", HOSTED_A)
    with live.client("phone-gateway", as_service="responder") as gateway:
        first = gateway.post("/webhook/incoming-call", json={"from": "+8613800138000", "to": HOSTED_A}).json()
    assert first["decision"] == "ai"
    cache = redis.Redis.from_url(live.settings.redis_url or "")
    assert cache.exists(routing_user_key(HOSTED_A))
    with live.client("user-management", token) as users:
        users.post("/api/v1/whitelist", json={"number": "+8613800138000"})
    assert not cache.exists(routing_user_key(HOSTED_A))
    cache.close()
    # The gateway's in-process copy is dropped by a pub/sub announcement, which arrives within milliseconds.
    deadline = time.monotonic() + 2
    with live.client("phone-gateway", as_service="responder") as gateway:
        while True:
            second = gateway.post("/webhook/incoming-call", json={"from": "+8613800138000", "to": HOSTED_A}).json()
            if second["decision"] == "transfer" or time.monotonic() > deadline:
                break
            time.sleep(0.02)
    assert (second["decision"], second["reason"]) == ("transfer", "whitelisted")
