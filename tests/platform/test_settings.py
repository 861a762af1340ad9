from __future__ import annotations

import pytest

from answer_ninja.errors import ConfigurationError
from answer_ninja.platform.settings import EMBEDDED_DATABASE_URL, load_settings


def test_defaults_are_the_embedded_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "REDIS_URL", "DEGRADED_MODE"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert settings.database_url == EMBEDDED_DATABASE_URL
    assert settings.redis_url is None
    assert settings.degraded_mode is False
    assert settings.azure_speech_configured is False
    assert settings.azure_openai_configured is False


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@db:5432/x", "postgresql+asyncpg://u:p@db:5432/x"),
        ("postgresql://u@db/x", "postgresql+asyncpg://u@db/x"),
        ("sqlite:///var/x.db", "sqlite+aiosqlite:///var/x.db"),
    ],
)
def test_database_url_is_normalised_to_async_drivers(
    monkeypatch: pytest.MonkeyPatch, given: str, expected: str
) -> None:
    monkeypatch.setenv("DATABASE_URL", given)
    assert load_settings().database_url == expected


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DATABASE_URL", "mysql://db/x"),
        ("REDIS_URL", "http://cache"),
        ("DEGRADED_MODE", "perhaps"),
        ("LOG_LEVEL", "LOUD"),
        ("SHUTDOWN_GRACE_SECONDS", "-1"),
        ("CONVERSATION_ENGINE_URL", "ftp://x"),
    ],
)
def test_invalid_value_names_the_variable_in_one_line(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError) as caught:
        load_settings()
    message = str(caught.value)
    assert variable in message
    assert "\n" not in message


def test_secrets_are_hidden_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "sk-very-secret")
    monkeypatch.setenv("JWT_SECRET", "jwt-very-secret")
    settings = load_settings()
    assert "very-secret" not in repr(settings)
    assert settings.azure_openai_api_key is not None
    assert settings.azure_openai_api_key.get_secret_value() == "sk-very-secret"


def test_service_url_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROFILE_ANALYTICS_URL", "http://10.0.0.9:9999/")
    assert load_settings().service_url("profile-analytics") == "http://10.0.0.9:9999"
