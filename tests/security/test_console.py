"""Attacks on the console's doors, against a real stack (``answer-ninja up`` on free ports): no cookie, another
person's call and live stream, a form without its CSRF token (or from another site), an ordinary user on operator
pages, markup in a caller's words, a forged session cookie, an open redirect after sign-in. Each asserts the
refusal AND that nothing changed."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from answer_ninja.platform.auth.rules import access_map
from answer_ninja.services.console.app import create_app
from tests.harness.console import ConsoleClient, verify_number
from tests.harness.credentials import SECRETS
from tests.harness.stack import LocalStack

pytestmark = pytest.mark.integration

HOSTED_A, HOSTED_B = "+8610012340001", "+8610012340002"
XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    running = LocalStack(tmp_path_factory.mktemp("console-security")).start(timeout=180)  # a busy shared machine
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def people(stack: LocalStack) -> Iterator[dict[str, ConsoleClient]]:
    alice, bob = ConsoleClient(stack.url("console")), ConsoleClient(stack.url("console"))
    alice.sign_up("alice@example.com", hosted_number=HOSTED_A, real_number="+8613900000011")
    bob.sign_up("bob@example.com", hosted_number=HOSTED_B, real_number="+8613900000012")
    verify_number(stack.env, "alice@example.com", HOSTED_A)  # pending numbers are not routed until proven
    yield {"alice": alice, "bob": bob}
    alice.close()
    bob.close()


@pytest.fixture(scope="module")
def alices_call(stack: LocalStack, people: dict[str, ConsoleClient]) -> str:
    """A live AI call to Alice's number (generic webhook: the record exists from the first ring)."""
    status, body = stack.post(
        stack.url("phone-gateway") + "/webhook/incoming-call", {"from": "+8613800138000", "to": HOSTED_A}
    )
    assert status == 200, body
    assert body["decision"] == "ai"
    return str(body["call_id"])


def _database(stack: LocalStack) -> Path:
    return stack.data_dir / "answer_ninja.db"


def _record(stack: LocalStack, call_id: str) -> dict[str, Any]:
    with sqlite3.connect(_database(stack)) as db:
        db.row_factory = sqlite3.Row
        row = db.execute("SELECT status, outcome, details FROM call_records WHERE id = ?", (call_id,)).fetchone()
    return dict(row)


def test_every_console_door_declares_a_rule_and_only_sign_in_reset_and_status_are_public() -> None:
    app = create_app()
    public = {door.path for door in access_map(app) if all(rule.kind == "public" for rule in door.rules)}
    assert public == {
        "/openapi.json", "/health", "/ready", "/metrics", "/static/{path}", "/", "/login", "/signup",
        "/lang/{language}", "/status", "/status.json", "/favicon.ico", "/forgot", "/reset",
    }  # fmt: skip
    assert "/docs" not in {door.path for door in access_map(app)}  # FastAPI's docs load scripts from a CDN


@pytest.mark.parametrize(
    "path", ["/calls", "/calls/rows", "/whitelist", "/settings", "/stats", "/ops", "/ops/incidents", "/ops/drills"]
)
def test_no_cookie_means_the_sign_in_page_and_no_data(stack: LocalStack, path: str) -> None:
    response = httpx.get(stack.url("console") + path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")


def test_streams_and_fragments_without_a_cookie_are_401(stack: LocalStack, alices_call: str) -> None:
    for path in ("/live/events", f"/calls/{alices_call}/events"):
        response = httpx.get(stack.url("console") + path, headers={"accept": "text/event-stream"})
        assert response.status_code == 401
        assert "data:" not in response.text


def test_a_forged_or_foreign_session_cookie_is_no_session(stack: LocalStack) -> None:
    for value in ("forged", "eyJhIjoiYiJ9.AAAA.BBBB"):
        response = httpx.get(stack.url("console") + "/calls", cookies={"an_session": value})
        assert response.status_code == 303


def test_another_persons_call_looks_like_no_call(
    stack: LocalStack, people: dict[str, ConsoleClient], alices_call: str
) -> None:
    assert people["alice"].http.get(f"/calls/{alices_call}").status_code == 200
    bob = people["bob"].http
    page = bob.get(f"/calls/{alices_call}")
    assert page.status_code == 404
    assert "+8613800138000" not in page.text
    stream = bob.get(f"/calls/{alices_call}/events", headers={"accept": "text/event-stream"})
    assert stream.status_code == 404
    before = _record(stack, alices_call)
    for action in ("takeover", "hangup"):
        response = people["bob"].post_form(f"/calls/{alices_call}/{action}", {}, page="/calls")
        assert response.status_code == 404
    assert _record(stack, alices_call) == before  # nothing moved Alice's call
    # Straight at phone-gateway with Bob's own token: the same answer.
    token = _access_token(people["bob"])
    direct = httpx.post(
        f"{stack.url('phone-gateway')}/api/v1/calls/{alices_call}/takeover",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert direct.status_code == 404


def _access_token(client: ConsoleClient) -> str:
    from answer_ninja.services.console.sessions import SessionCodec

    codec = SessionCodec(SECRETS["internal_secret"].encode(), max_age_seconds=3600)
    session = codec.loads(client.http.cookies.get("an_session"))
    assert session is not None
    return session.access


def test_forms_without_the_csrf_token_change_nothing(stack: LocalStack, people: dict[str, ConsoleClient]) -> None:
    alice = people["alice"].http
    before = alice.get("/whitelist").text
    attempts = [
        alice.post("/whitelist", data={"number": "+8613811112222", "name": "csrf"}),  # no token
        alice.post("/whitelist", data={"number": "+8613811112222", "csrf_token": "guessed"}),
        alice.post(
            "/whitelist",
            data={"number": "+8613811112222", "csrf_token": "x"},
            headers={"origin": "https://evil.example"},
        ),
    ]
    assert [response.status_code for response in attempts] == [403, 403, 403]
    assert "+8613811112222" not in alice.get("/whitelist").text
    assert alice.get("/whitelist").text.count("<tr") == before.count("<tr")
    # Another browser's token does not work with this browser's cookie either.
    other = ConsoleClient(stack.url("console"))
    stolen = other.csrf()
    other.close()
    assert alice.post("/whitelist", data={"number": "+8613811112222", "csrf_token": stolen}).status_code == 403
    # Sign-out needs it too (a cross-site form must not sign a person out).
    assert alice.post("/logout").status_code == 403
    assert alice.get("/calls").status_code == 200


def test_an_ordinary_user_gets_no_operator_page_or_action(stack: LocalStack, people: dict[str, ConsoleClient]) -> None:
    bob = people["bob"]
    for path in ("/ops", "/ops/board", "/ops/incidents", "/ops/audit", "/ops/budgets", "/ops/drills", "/ops/approvals"):
        response = bob.http.get(path)
        assert response.status_code == 403, path
        assert "phone-gateway" not in response.text
    drill = bob.post_form("/ops/drills", {"fault": "kill", "service": "phone-gateway", "confirm": "phone-gateway"},
                          page="/calls")  # fmt: skip
    assert drill.status_code == 403
    assert stack.service_status("phone-gateway")["restarts"] == 0  # nothing was injected
    # The responder itself refuses the person's token too.
    token = _access_token(bob)
    assert (
        httpx.get(stack.url("responder") + "/incidents", headers={"Authorization": f"Bearer {token}"}).status_code
        == 403
    )


def test_markup_in_a_callers_words_is_shown_as_text(
    stack: LocalStack, people: dict[str, ConsoleClient], alices_call: str
) -> None:
    with sqlite3.connect(_database(stack)) as db:
        db.execute(
            "INSERT INTO conversation_turns (id, call_id, turn_index, speaker, text, timings_ms, interrupted, "
            "created_at) VALUES (?, ?, 1, 'caller', ?, '{}', 0, CURRENT_TIMESTAMP)",
            (uuid.uuid4().hex, alices_call, XSS),
        )
        db.execute(
            "UPDATE call_records SET status = 'completed', outcome = 'caller_hung_up', ended_at = CURRENT_TIMESTAMP, "
            "summary = ? WHERE id = ?",
            ('{"intent": "<b>x</b>", "key_lines": [{"speaker": "caller", "text": "' + XSS.replace('"', '\\"') + '"}]}',
             alices_call),
        )  # fmt: skip
    page = people["alice"].http.get(f"/calls/{alices_call}").text
    assert "<script>alert" not in page
    assert "<img src=x" not in page
    assert "&lt;script&gt;alert" in page


def test_every_response_carries_the_content_security_policy(
    stack: LocalStack, people: dict[str, ConsoleClient]
) -> None:
    for response in (
        httpx.get(stack.url("console") + "/login"),
        httpx.get(stack.url("console") + "/status"),
        httpx.get(stack.url("console") + "/static/console.css"),
        people["alice"].http.get("/calls"),
    ):
        policy = response.headers["content-security-policy"]
        assert "script-src 'self'" in policy
        assert "frame-ancestors 'none'" in policy
        assert "unsafe-inline" not in policy
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["x-content-type-options"] == "nosniff"
    session_cookie = next(c for c in people["alice"].http.cookies.jar if c.name == "an_session")
    assert session_cookie.has_nonstandard_attr("HttpOnly")
    assert session_cookie.get_nonstandard_attr("SameSite") == "Lax"


def test_sign_in_never_redirects_off_the_console(stack: LocalStack, people: dict[str, ConsoleClient]) -> None:
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        with ConsoleClient(stack.url("console")) as client:
            response = client.post_form("/login", {"email": "alice@example.com", "password": "a long password",
                                                   "next": target})  # fmt: skip
        assert response.status_code == 303
        assert response.headers["location"] == "/calls"


def test_wrong_password_reveals_nothing_and_sets_no_session(
    stack: LocalStack, people: dict[str, ConsoleClient]
) -> None:
    client = ConsoleClient(stack.url("console"))
    try:
        known = client.post_form("/login", {"email": "alice@example.com", "password": "wrong password"})
        unknown = client.post_form("/login", {"email": "nobody@example.com", "password": "wrong password"})
        assert known.status_code == unknown.status_code == 401
        assert "an_session" not in client.http.cookies or not client.http.cookies.get("an_session")
    finally:
        client.close()
