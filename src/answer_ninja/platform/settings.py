"""Settings for the whole system, read from the environment (one set of names for every service).

An invalid value stops start-up with one line naming the variable (see ``load_settings``). A missing optional
provider (Azure keys, a model) is not an error: the service starts and reports itself degraded.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from answer_ninja.errors import ConfigurationError

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]

# The embedded default: a SQLite file under the data directory, so nothing external is needed.
EMBEDDED_DATABASE_URL = "sqlite+aiosqlite:///var/answer_ninja.db"


class Settings(BaseSettings):
    """Every setting of every service. Field names map to upper-case environment variables."""

    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    # Storage
    database_url: str = Field(default=EMBEDDED_DATABASE_URL, description="SQLAlchemy URL; postgres or sqlite")
    redis_url: str | None = Field(default=None, description="redis:// URL; unset = in-process cache")
    data_dir: Path = Field(default=Path("var"), description="Local state: SQLite file, logs, supervisor state")

    # Behaviour
    degraded_mode: bool = False
    log_level: LogLevel = "INFO"
    log_json: bool = True
    shutdown_grace_seconds: float = Field(default=10.0, ge=0, le=300)
    dependency_timeout_seconds: float = Field(default=2.0, gt=0, le=30)

    # Security
    jwt_secret: SecretStr | None = None
    profile_hash_secret: SecretStr | None = None

    # Optional cloud providers: absence means "use the local default and report degraded where it matters".
    azure_speech_key: SecretStr | None = None
    azure_speech_region: str | None = None
    azure_openai_endpoint: str | None = None
    azure_openai_api_key: SecretStr | None = None
    azure_openai_deployment: str | None = None

    # Where the services find each other.
    host: str = "127.0.0.1"
    phone_gateway_url: str = "http://127.0.0.1:3001"
    realtime_processor_url: str = "http://127.0.0.1:3002"
    conversation_engine_url: str = "http://127.0.0.1:3003"
    profile_analytics_url: str = "http://127.0.0.1:3004"
    user_management_url: str = "http://127.0.0.1:3005"

    # Local supervisor (``answer-ninja up``): Kubernetes-like crash-loop back-off.
    supervisor_port: int = Field(default=3000, ge=1, le=65535)
    supervisor_backoff_initial_seconds: float = Field(default=10.0, ge=0)
    supervisor_backoff_max_seconds: float = Field(default=300.0, ge=0)
    supervisor_backoff_reset_seconds: float = Field(default=600.0, ge=0)

    # --- conversation-engine (dialogue, intents, LLM) ---

    # --- phone-gateway, user-management, profile-analytics ---

    # --- realtime-processor (voice loop, speech providers) ---

    # --- responder (runbook automation) ---
    responder_url: str = "http://127.0.0.1:3009"
    responder_platform: Literal["local", "kubernetes"] = "local"
    responder_enabled: bool = Field(default=True, description="false = the responder observes and never acts")
    responder_probe_interval_seconds: float = Field(default=2.0, gt=0, le=300)
    responder_probe_timeout_seconds: float = Field(default=2.0, gt=0, le=30)
    # Flap rule: this many failed probes within the window before a service counts as down.
    responder_failures_to_confirm: int = Field(default=3, ge=1, le=100)
    responder_failure_window_seconds: float = Field(default=30.0, gt=0, le=3600)
    responder_ready_timeout_seconds: float = Field(default=120.0, gt=0, le=1800)
    responder_max_restarts_per_service_hour: int = Field(default=3, ge=0, le=100)
    responder_max_services_per_incident: int = Field(default=4, ge=1, le=20)
    responder_approval_required: str = Field(
        default="", description="Comma-separated actions needing a person's approval: rollback,failover"
    )
    responder_escalate_after_seconds: float = Field(default=900.0, gt=0)
    responder_recent_release_seconds: float = Field(default=1800.0, gt=0, description="a release this new is suspect")
    responder_engineer: str = "oncall"
    responder_incident_base_url: str = "http://127.0.0.1:3009/incidents"
    responder_dashboard_url: str = "http://127.0.0.1:3009/metrics"
    responder_synthetic_call: bool = Field(default=True, description="verify with an end-to-end synthetic call")
    # Extra dependencies the responder checks itself (runbook mode C), e.g. "llm=http://127.0.0.1:8080/v1/models".
    responder_provider_checks: str = ""
    slack_webhook_url: SecretStr | None = None

    # --- kubernetes platform ---

    @field_validator("database_url")
    @classmethod
    def _normalise_database_url(cls, value: str) -> str:
        """Accept the URLs people paste (postgres://, postgresql://) and pick the async drivers."""
        if value.startswith("postgres://"):
            value = "postgresql://" + value.removeprefix("postgres://")
        if value.startswith("postgresql://"):
            value = "postgresql+asyncpg://" + value.removeprefix("postgresql://")
        if value.startswith("sqlite:///"):
            value = "sqlite+aiosqlite:///" + value.removeprefix("sqlite:///")
        if not value.startswith(("postgresql+asyncpg://", "sqlite+aiosqlite://")):
            raise ValueError("must be a postgresql:// or sqlite:/// URL")
        return value

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        assert value is not None
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must be a redis://, rediss:// or unix:// URL")
        return value

    @field_validator(
        "phone_gateway_url",
        "realtime_processor_url",
        "conversation_engine_url",
        "profile_analytics_url",
        "user_management_url",
        "azure_openai_endpoint",
    )
    @classmethod
    def _check_http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")

    @property
    def database_kind(self) -> Literal["postgres", "sqlite"]:
        return "postgres" if self.database_url.startswith("postgresql") else "sqlite"

    @property
    def azure_speech_configured(self) -> bool:
        return self.azure_speech_key is not None and bool(self.azure_speech_region)

    @property
    def azure_openai_configured(self) -> bool:
        return (
            self.azure_openai_api_key is not None
            and bool(self.azure_openai_endpoint)
            and bool(self.azure_openai_deployment)
        )

    def service_url(self, service: str) -> str:
        """Base URL of a service by its name (``phone-gateway`` ...)."""
        url: str = getattr(self, service.replace("-", "_") + "_url")
        return url


def describe_validation_error(error: ValidationError) -> str:
    """One line naming each bad environment variable and why, without echoing secret values."""
    parts = []
    for problem in error.errors():
        variable = "_".join(str(part) for part in problem["loc"]).upper() or "settings"
        parts.append(f"{variable}: {problem['msg']}")
    return "invalid setting " + "; ".join(parts)


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment; raise ConfigurationError with one clear line if one is invalid."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        raise ConfigurationError(describe_validation_error(error)) from None


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Process-wide settings, read once."""
    return load_settings()
