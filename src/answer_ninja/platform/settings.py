"""Settings for the whole system, read from the environment (one set of names for every service).

An invalid value stops start-up with one line naming the variable (see ``load_settings``). A missing optional
provider (Azure keys, a model) is not an error: the service starts and reports itself degraded.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Literal
from urllib.parse import urlparse

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from answer_ninja.catalogue import entry_for
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

    # Security (docs/security.md says where each lives; `answer-ninja up` generates them per machine)
    jwt_secret: SecretStr | None = None  # signs people's tokens
    profile_hash_secret: SecretStr | None = None  # keys the caller hashes in shared profiles
    internal_secret: SecretStr | None = None  # signs service-to-service tokens (unset: internal calls refused)
    operator_token: SecretStr | None = None  # the operator's machine (answer-ninja commands) as an operator
    supervisor_token: SecretStr | None = None  # the local supervisor's control API
    # Alertmanager's bearer token for the responder's POST /alerts (http_config.authorization; unset: refused)
    alertmanager_token: SecretStr | None = None

    # Optional cloud providers: absence means "use the local default and report degraded where it matters".
    azure_speech_key: SecretStr | None = None
    azure_speech_region: str | None = None
    azure_openai_endpoint: str | None = None
    azure_openai_api_key: SecretStr | None = None
    azure_openai_deployment: str | None = None

    # Where the services find each other.
    host: str = "127.0.0.1"
    # Reverse proxies whose X-Forwarded-For is believed (comma-separated addresses); unset = none, the peer counts.
    forwarded_allow_ips: str | None = None
    phone_gateway_url: str = "http://127.0.0.1:3001"
    realtime_processor_url: str = "http://127.0.0.1:3002"
    conversation_engine_url: str = "http://127.0.0.1:3003"
    profile_analytics_url: str = "http://127.0.0.1:3004"
    user_management_url: str = "http://127.0.0.1:3005"
    console_url: str = "http://127.0.0.1:3006"

    # Local supervisor (``answer-ninja up``): Kubernetes-like crash-loop back-off.
    supervisor_port: int = Field(default=3000, ge=1, le=65535)
    supervisor_backoff_initial_seconds: float = Field(default=10.0, ge=0)
    supervisor_backoff_max_seconds: float = Field(default=300.0, ge=0)
    supervisor_backoff_reset_seconds: float = Field(default=600.0, ge=0)

    # --- conversation-engine (dialogue, intents, LLM) ---
    conversation_max_turns: int = Field(default=8, ge=1, le=200, description="AI ends the call after N turns")
    conversation_max_duration_seconds: float = Field(default=180.0, gt=0, le=3600)
    conversation_persistence_limit: int = Field(default=6, ge=1, le=100, description="pushes before hanging up")
    conversation_frustration_limit: int = Field(default=2, ge=1, le=100, description="angry turns before hanging up")
    conversation_state_ttl_seconds: float = Field(default=3600.0, gt=0, description="call state lifetime in cache")
    conversation_default_persona: Literal["polite", "direct", "humorous", "professional", "time_waster"] = "polite"
    llm_base_url: str | None = Field(default=None, description="OpenAI-compatible /v1 URL; unset = templates only")
    llm_api_key: SecretStr | None = None
    llm_model: str = "smollm2"
    # Intent + reply get 200 ms of a turn; the LLM must answer inside that or the template is used.
    llm_timeout_seconds: float = Field(default=0.15, gt=0, le=30)
    # A dry run prepares the reply while the caller is still talking, so it may wait longer for the LLM.
    llm_prepare_timeout_seconds: float = Field(default=1.5, gt=0, le=30)
    llm_max_tokens: int = Field(default=32, ge=1, le=512, description="a spoken reply is under 20-30 tokens")
    llm_breaker_failures: int = Field(default=3, ge=1, le=100, description="failures in a row that open the breaker")
    llm_breaker_reset_seconds: float = Field(default=30.0, gt=0, le=3600, description="open time before a retry")

    @field_validator("llm_base_url")
    @classmethod
    def _check_llm_base_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        assert value is not None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")

    # --- phone-gateway, user-management, profile-analytics ---
    # Twilio webhooks: X-Twilio-Signature (keyed by this token) is checked on every Twilio route; unset = Twilio's
    # webhooks are refused (403 "twilio is not configured"). `answer-ninja up` generates one for the loopback carrier.
    twilio_auth_token: SecretStr | None = None
    # ACS / Event Grid webhooks (/webhook/azure-events, /acs/callbacks): a shared secret in the URL's ?secret= or
    # the X-Acs-Webhook-Secret header, and/or an Entra ID JWT (Authorization: Bearer) checked against the keys at
    # ACS_JWT_JWKS_URL (or the PEM public key ACS_JWT_PUBLIC_KEY), audience ACS_JWT_AUDIENCE, issuer ACS_JWT_ISSUER.
    # Neither set = ACS webhooks are refused (403 "acs is not configured").
    acs_webhook_secret: SecretStr | None = None
    acs_jwt_audience: str | None = None
    acs_jwt_issuer: str | None = None
    acs_jwt_jwks_url: str | None = None
    acs_jwt_public_key: str | None = Field(default=None, description="PEM public key for ACS JWTs (tests, offline)")
    # The generic JSON webhook (/webhook/incoming-call) from a carrier: X-Webhook-Signature: sha256=<hex HMAC-SHA256
    # of the body keyed by this secret>. Unset = only services and the operator may use it (their own tokens).
    carrier_webhook_secret: SecretStr | None = None
    # DEV ONLY: carriers whose credentials are unset are let in from loopback clients (127.0.0.1/::1), with a
    # warning at start and on every use. Never in production.
    carrier_loopback_dev: bool = False
    # Twilio REST (TWILIO_ACCOUNT_SID below) also moves a live call ("Take the call"); unset = loopback simulates it.
    twilio_api_base_url: str | None = Field(default=None, description="Twilio REST base URL; unset = Twilio's own")
    # The public URL carriers reach phone-gateway at, for absolute callback URLs in call updates (unset = relative).
    gateway_public_url: str | None = None
    # Azure Communication Services call automation: unset = ACS events are parsed but no call is answered.
    acs_connection_string: SecretStr | None = None
    acs_callback_url: str | None = Field(default=None, description="Public URL ACS posts call events to")
    # The Azure AI services (Cognitive Services) endpoint linked to the ACS resource: ACS speaks the fallback's
    # voicemail message with it (text-to-speech in call automation). Unset: ACS calls get no spoken message.
    acs_cognitive_services_endpoint: str | None = None
    # Calls TO this number are the responder's end-to-end probe: routed to AI, no user, kept out of statistics.
    synthetic_probe_number: str = "+10000000000"
    # Region used to read numbers written without a country code ("138 0013 8000" is Chinese by default).
    default_phone_region: str = Field(default="CN", min_length=2, max_length=2)
    jwt_access_minutes: int = Field(default=15, ge=1, le=1440)
    jwt_refresh_days: int = Field(default=30, ge=1, le=365)
    # How long phone-gateway trusts cached users, whitelists and profiles (changes invalidate them at once).
    routing_cache_seconds: float = Field(default=300.0, gt=0, le=86400)

    # --- accounts (user-management): throttling, password hashing, number proofs, limits (docs/calls-and-users.md) ---
    # Failed sign-ins allowed per account (the email typed, known or not) and per client address within the window;
    # past them every further failure waits twice as long as the one before (base, 2x, 4x ... capped), and a
    # sign-in during a wait answers 429 with Retry-After. A person mistypes 1-3 times; a guesser needs thousands.
    login_account_free_failures: int = Field(default=5, ge=1, le=1000)
    login_address_free_failures: int = Field(default=20, ge=1, le=100000)
    login_failure_window_seconds: float = Field(default=900.0, gt=0, le=86400)
    login_backoff_base_seconds: float = Field(default=2.0, gt=0, le=3600)
    login_backoff_max_seconds: float = Field(default=900.0, gt=0, le=86400)
    # Account creations per client address per hour (each costs a password hash and a row).
    register_address_limit_per_hour: int = Field(default=20, ge=1, le=1000000)
    # argon2 runs in this many threads at once (64 MiB each); a request waits this long for one, then 503.
    password_hash_concurrency: int = Field(default=2, ge=1, le=64)
    password_hash_wait_seconds: float = Field(default=2.0, gt=0, le=60)
    # Proving a number: a 6-digit code by SMS or call; it expires, works once, allows a few tries.
    verification_code_seconds: float = Field(default=600.0, ge=30, le=86400)
    verification_max_attempts: int = Field(default=5, ge=1, le=100)
    verification_resend_seconds: float = Field(default=60.0, ge=0, le=86400)
    verification_sends_per_hour: int = Field(default=5, ge=1, le=1000, description="per user")
    # loopback = the code is written to user-management's log (make up); twilio = SMS/call through Twilio's REST API.
    verification_carrier: Literal["loopback", "twilio"] = "loopback"
    twilio_account_sid: str | None = Field(default=None, description="Twilio account (REST API: codes by SMS/call)")
    twilio_from_number: str | None = Field(default=None, description="E.164 number codes are sent from")
    twilio_api_url: str = Field(
        default="https://api.twilio.com", description="Twilio REST base URL (tests: a recorder)"
    )
    # Whitelist bounds: entries per user (an address book rarely has more than a few thousand) and import size.
    whitelist_max_entries: int = Field(default=50_000, ge=1, le=1_000_000)
    whitelist_import_max_bytes: int = Field(default=4_000_000, ge=1024, le=100_000_000)

    # --- realtime-processor (voice loop, speech providers) ---
    # local = offline (webrtcvad, faster-whisper, piper/espeak-ng); azure = Azure Speech, local as fallback.
    stt_provider: Literal["local", "azure"] = "local"
    tts_provider: Literal["local", "azure"] = "local"
    # Where the packaged Whisper model is assembled at first use (unset = $ANSWER_NINJA_CACHE or DATA_DIR/models).
    speech_model_dir: Path | None = None
    # Threads per Whisper pass, and how many passes run at once (model replicas; see whisper_stt.py).
    whisper_cpu_threads: int = Field(default=1, ge=1, le=64)
    whisper_workers: int = Field(default=2, ge=1, le=16)
    # fit = the encoder sees the utterance plus 2 s (a short turn costs a fraction of a pass); full = Whisper's 30 s.
    whisper_window: Literal["fit", "full"] = "fit"
    vad_aggressiveness: int = Field(default=2, ge=0, le=3)
    # transcript = the silence that ends a turn depends on whether what was said so far sounds finished (160 ms
    # after a finished sentence, 760 ms after a comma or a conjunction); fixed = END_OF_TURN_SILENCE_MS always.
    turn_policy: Literal["transcript", "fixed"] = "transcript"
    # Silence after the caller's last voiced frame that ends a turn under TURN_POLICY=fixed.
    end_of_turn_silence_ms: int = Field(default=300, ge=60, le=3000)
    # Whisper passes read only the utterance's uncommitted tail (committed at pauses and by agreement of passes).
    stt_streaming: bool = True
    # The caller must speak this long over the AI before it stops talking (shorter = backchannel candidate).
    barge_in_min_speech_ms: int = Field(default=400, ge=60, le=5000)
    silence_prompt_seconds: float = Field(default=8.0, gt=0, le=120)
    silence_goodbye_seconds: float = Field(default=8.0, gt=0, le=120)
    # Spoken reply lines prepared at start-up come from conversation-engine's templates.
    tts_presynthesize_templates: bool = True
    # Prepared Mandarin lines in Kokoro-82M's natural voice (Apache-2.0; slow, so live replies stay on espeak-ng).
    tts_natural_voice: bool = True
    # Media streams one process carries at once (each holds a VAD, a Whisper share, a reply loop); past it a new
    # stream is closed with 1013 "try again later" and counted, rather than slowing every live call down.
    media_max_sessions: int = Field(default=32, ge=1, le=10_000)

    # --- console (the browser face, port 3006) and notifications ---
    # Session cookies carry Secure when the console is served over https; set true behind a TLS-terminating proxy.
    console_cookie_secure: bool = False
    # A signed-in browser session lasts this long at most (the refresh token's own lifetime bounds it too).
    console_session_hours: float = Field(default=12.0, gt=0, le=24 * 30)
    # The console samples each service's /metrics this often for the service board's sparklines (kept in memory).
    console_metrics_interval_seconds: float = Field(default=10.0, gt=0, le=3600)
    # An Apprise mailto:// URL of the SMTP server that sends people's e-mail notifications (unset: no e-mail).
    notify_email_url: SecretStr | None = None
    # Notification targets (webhook, ntfy) on loopback or private addresses are refused unless this is true
    # (a person's webhook must not reach inside the cluster); local stacks and tests set it.
    notify_allow_private_targets: bool = False

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
    kube_namespace: str = Field(default="ai-ninja", description="Namespace the responder observes and changes")
    kubeconfig: Path | None = Field(default=None, description="kubeconfig file; unset = in-cluster, then ~/.kube")
    kube_rollout_timeout_seconds: float = Field(default=120.0, gt=0, le=3600, description="runbook: --timeout=120s")
    # Where the responder reaches a Service. In the cluster: its DNS name. From outside (a jump host, a test
    # harness), any URL pattern with {service}, {namespace} and {port} that routes to the Service.
    kube_service_url_template: str = "http://{service}.{namespace}.svc:{port}"
    prometheus_url: str | None = Field(default=None, description="Prometheus the responder queries; unset = scrape")

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
        "console_url",
        "azure_openai_endpoint",
        "twilio_api_url",
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

    def service_port(self, service: str) -> int:
        """The port a service listens on: the one in its configured URL (so tests and hosts can move it)."""
        return urlparse(self.service_url(service)).port or entry_for(service).port


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
