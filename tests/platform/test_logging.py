from __future__ import annotations

from answer_ninja.platform.logging import REDACTED, redact_secrets, redact_text


def test_secret_keys_are_redacted() -> None:
    event = redact_secrets(None, "info", {"event": "x", "api_key": "abc", "jwt_secret": "s", "Authorization": "t"})
    assert event["api_key"] == REDACTED
    assert event["jwt_secret"] == REDACTED
    assert event["Authorization"] == REDACTED
    assert event["event"] == "x"


def test_url_passwords_are_masked_anywhere_in_text() -> None:
    text = "could not connect to postgresql+asyncpg://app:hunter2@db:5432/x and redis://:pw@cache:6379"
    masked = redact_text(text)
    assert "hunter2" not in masked
    assert "app:***@db" in masked
