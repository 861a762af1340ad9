"""Request and response bodies of user-management (the OpenAPI schema is generated from these)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from answer_ninja.services.user_management.schemas import RequestModel, UtcDatetime

Persona = Literal["polite", "direct", "humorous", "professional"]
Language = Literal["zh-CN", "en-US"]
# A phone number as people type it; the service normalises it to E.164 and names the field if it cannot.
PhoneText = Field(min_length=3, max_length=40, examples=["+8613800138000"])


class RegisterRequest(RequestModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    password: str = Field(min_length=8, max_length=256)
    display_name: str = Field(default="", max_length=120)
    real_number: str | None = Field(default=None, min_length=3, max_length=40)
    hosted_numbers: list[str] = Field(default_factory=list, max_length=10)
    language: Language = "zh-CN"


class LoginRequest(RequestModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=256)


class RefreshRequest(RequestModel):
    model_config = ConfigDict(extra="forbid")

    refresh_token: str = Field(min_length=10, max_length=4096)


class LogoutRequest(RequestModel):
    model_config = ConfigDict(extra="forbid")

    refresh_token: str | None = Field(default=None, min_length=10, max_length=4096)


class RegistrationAccepted(BaseModel):
    """The same answer whether the email was free or not (no account enumeration)."""

    status: Literal["accepted"] = "accepted"
    message: str = (
        "If this email had no account, it has one now: sign in with it. Numbers you gave stay pending (not routed, "
        "never forwarded to) until you prove them with the code sent to each."
    )


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


class Preferences(BaseModel):
    ai_enabled: bool
    ai_off_action: Literal["reject", "ring"]
    persona: Persona
    max_call_seconds: int = Field(ge=30, le=1800)
    spam_threshold: float = Field(ge=0.0, le=1.0)
    known_spam_action: Literal["reject", "ai"]
    # When the AI cannot take a call (or its media stream dies): ring the real number, or take a voicemail.
    fallback: Literal["ring", "voicemail"] = "ring"


class PreferencesUpdate(RequestModel):
    model_config = ConfigDict(extra="forbid")

    ai_enabled: bool | None = None
    ai_off_action: Literal["reject", "ring"] | None = None
    persona: Persona | None = None
    max_call_seconds: int | None = Field(default=None, ge=30, le=1800)
    spam_threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    known_spam_action: Literal["reject", "ai"] | None = None
    fallback: Literal["ring", "voicemail"] | None = None


class UserOut(BaseModel):
    id: str
    email: str
    display_name: str
    # The proven forwarding number (the only one calls are put through to) and one waiting for its code.
    real_number: str | None
    pending_real_number: str | None = None
    language: str
    # Proven hosted numbers (routed) and claims waiting for their code (not routed).
    hosted_numbers: list[str]
    pending_hosted_numbers: list[str] = Field(default_factory=list)
    preferences: Preferences
    created_at: UtcDatetime


class UserUpdate(RequestModel):
    model_config = ConfigDict(extra="forbid")

    display_name: str | None = Field(default=None, max_length=120)
    real_number: str | None = Field(default=None, min_length=3, max_length=40)
    language: Language | None = None


Channel = Literal["sms", "call"]


class HostedNumberIn(RequestModel):
    model_config = ConfigDict(extra="forbid")

    number: str = PhoneText
    channel: Channel = "sms"  # how the code reaches the number


class HostedNumberOut(BaseModel):
    id: str
    number: str
    status: Literal["pending", "verified"]
    verified_at: UtcDatetime | None
    created_at: UtcDatetime


class VerificationRequest(RequestModel):
    model_config = ConfigDict(extra="forbid")

    channel: Channel = "sms"


class CodeIn(RequestModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=r"^[0-9]{6}$", examples=["123456"])


class VerificationSent(BaseModel):
    number: str
    channel: Channel
    expires_at: UtcDatetime
    resend_after_seconds: float


class OperatorVerification(RequestModel):
    """An operator vouches for a number (support, seeding a test stack): marks a user's pending claim proven."""

    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=3, max_length=320)
    number: str = PhoneText
    purpose: Literal["hosted", "forward"] = "hosted"


WhitelistKind = Literal["manual", "temporary", "learned", "import"]
WhitelistStatus = Literal["active", "proposed", "rejected"]


class WhitelistIn(RequestModel):
    model_config = ConfigDict(extra="forbid")

    number: str = PhoneText
    name: str = Field(default="", max_length=120)
    # Set for a temporary entry (a delivery driver today); it stops counting at that instant.
    expires_at: datetime | None = None


class WhitelistUpdate(RequestModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=120)
    expires_at: datetime | None = None
    status: Literal["active", "rejected"] | None = None


class WhitelistOut(BaseModel):
    id: str
    number: str
    name: str
    kind: str
    status: str
    expires_at: UtcDatetime | None
    created_at: UtcDatetime


class ImportRequest(RequestModel):
    model_config = ConfigDict(extra="forbid")

    format: Literal["csv", "vcard"]
    # The file's text: CSV with a number column (and optionally name), or one or more vCards.
    content: str = Field(min_length=1, max_length=2_000_000)


class ImportResult(BaseModel):
    imported: int
    already_present: int
    invalid: list[str]  # the first 100 unreadable numbers, as written
    invalid_count: int = 0


class LearnedProposal(RequestModel):
    model_config = ConfigDict(extra="forbid")

    user_id: str = Field(min_length=1, max_length=32)
    number: str = PhoneText
    name: str = Field(default="", max_length=120)


class RoutingUser(BaseModel):
    user_id: str
    real_number: str | None
    ai_enabled: bool
    ai_off_action: str
    spam_threshold: float
    known_spam_action: str
    persona: str
    language: str
    max_call_seconds: int
    fallback: str = "ring"


class RoutingSnapshot(BaseModel):
    """What phone-gateway needs to route one call to a hosted number: the owner's settings and whether this
    caller is on their whitelist (a long list never travels whole: it may hold 50,000 entries)."""

    user: RoutingUser
    # Bumped on every change of the user's routing data: cached answers made at an older version are stale.
    version: int
    # The caller asked about (E.164), or null when none was given.
    caller: str | None = None
    # Active entries: E.164 number -> expiry (ISO 8601) or null for permanent. The whole list when it is short
    # (``whitelist_complete``: up to 1,000 entries); otherwise only the asked caller's entry, if listed.
    whitelist: dict[str, str | None]
    whitelist_complete: bool = False
