"""Tables of the whole system. Services own their rows; the schema is one, migrated by Alembic.

Timestamps are timezone-aware UTC. Phone numbers are stored in E.164. Caller identities in shared tables
(spam profiles, feedback) are keyed hashes, never the raw number.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Stable constraint names make Alembic migrations portable between PostgreSQL and SQLite (batch mode).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return uuid.uuid4().hex


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    display_name: Mapped[str] = mapped_column(String(120), default="")
    real_number: Mapped[str | None] = mapped_column(String(20), nullable=True)
    language: Mapped[str] = mapped_column(String(10), default="zh-CN")
    # user | operator: operators see the service board and incidents; only `answer-ninja users` grants it.
    role: Mapped[str] = mapped_column(String(16), default="user", server_default="user")
    # Preferences
    ai_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    ai_off_action: Mapped[str] = mapped_column(String(16), default="reject")  # reject | ring
    persona: Mapped[str] = mapped_column(String(20), default="polite")
    max_call_seconds: Mapped[int] = mapped_column(Integer, default=180)
    spam_threshold: Mapped[float] = mapped_column(Float, default=0.8)
    known_spam_action: Mapped[str] = mapped_column(String(16), default="reject")  # reject | ai
    # Where an AI call goes when the AI cannot take it or its media stream dies: ring (the proven real number, then
    # voicemail) | voicemail (a short message and a recording). Never a dead end.
    fallback: Mapped[str] = mapped_column(String(16), default="ring", server_default="ring")
    # Where call summaries go: [{"kind": "email|ntfy|webhook|wecom|dingtalk|telegram", "target", "enabled"}].
    notification_channels: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # A forwarding number the user asked for but has not proven yet (a code was sent to it); real_number is the
    # proven one, the only one calls are ever forwarded to.
    pending_real_number: Mapped[str | None] = mapped_column(String(20), nullable=True)
    # Bumped on every change phone-gateway routes on (preferences, numbers, whitelist): its cached answers carry
    # the version they were made at, so a changed user is refetched without refetching the whole whitelist.
    routing_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Set by a password reset: tokens issued before it are refused everywhere (platform/auth/dependencies.py).
    password_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    hosted_numbers: Mapped[list[HostedNumber]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )


class HostedNumber(Base):
    """A number the user gave us: calls to it reach phone-gateway, once the user proved it is theirs.

    Unproven claims (``verified_at`` null) are never routed; several users may claim a number while it is
    unproven (so nobody can squat on someone else's number), but only one may hold it proven.
    """

    __tablename__ = "hosted_numbers"
    __table_args__ = (
        Index(
            "uq_hosted_numbers_verified_number",
            "number",
            unique=True,
            postgresql_where=text("verified_at IS NOT NULL"),
            sqlite_where=text("verified_at IS NOT NULL"),
        ),
        UniqueConstraint("user_id", "number", name="uq_hosted_numbers_user_number"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    number: Mapped[str] = mapped_column(String(20), index=True)
    verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    @property
    def verified(self) -> bool:
        return self.verified_at is not None

    user: Mapped[User] = relationship(back_populates="hosted_numbers")


class NumberVerification(Base):
    """A code sent to a number to prove the user holds it: stored hashed, single-use, expiring, attempts counted.

    ``purpose`` is "hosted" (a number calls arrive on) or "forward" (the real number calls are put through to).
    """

    __tablename__ = "number_verifications"
    __table_args__ = (UniqueConstraint("user_id", "purpose", "number", name="uq_number_verifications_claim"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(16))  # hosted | forward
    number: Mapped[str] = mapped_column(String(20))
    code_hash: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(8), default="sms")  # sms | call
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class RevokedToken(Base):
    """JWTs revoked by logout, kept until they would have expired anyway."""

    __tablename__ = "revoked_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class WhitelistEntry(Base):
    __tablename__ = "whitelist_entries"
    __table_args__ = (UniqueConstraint("user_id", "number", name="uq_whitelist_entries_user_number"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    number: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(120), default="")
    kind: Mapped[str] = mapped_column(String(16), default="manual")  # manual | temporary | learned | import
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | proposed | rejected
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CallRecord(Base):
    """One call, from the first webhook to the end, whatever happens."""

    __tablename__ = "call_records"
    __table_args__ = (
        Index("ix_call_records_user_started", "user_id", "started_at"),
        UniqueConstraint("carrier", "carrier_call_id", name="uq_call_records_carrier_call"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_id)
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True, index=True)
    carrier: Mapped[str] = mapped_column(String(16))  # twilio | acs | generic | loopback
    carrier_call_id: Mapped[str] = mapped_column(String(128))
    caller_number: Mapped[str] = mapped_column(String(32))
    caller_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    dialled_number: Mapped[str] = mapped_column(String(32))
    decision: Mapped[str | None] = mapped_column(String(16), nullable=True)  # ai | transfer | reject | ring
    decision_reason: Mapped[str | None] = mapped_column(String(64), nullable=True)
    decision_latency_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    status: Mapped[str] = mapped_column(String(24), default="received")
    outcome: Mapped[str | None] = mapped_column(String(32), nullable=True)
    intent: Mapped[str | None] = mapped_column(String(24), nullable=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    duration_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    transcript: Mapped[list[Any]] = mapped_column(JSON, default=list)
    turn_timings: Mapped[list[Any]] = mapped_column(JSON, default=list)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    turns: Mapped[list[ConversationTurn]] = relationship(
        back_populates="call", cascade="all, delete-orphan", order_by="ConversationTurn.turn_index"
    )


class ConversationTurn(Base):
    __tablename__ = "conversation_turns"
    __table_args__ = (UniqueConstraint("call_id", "turn_index", "speaker", name="uq_conversation_turns_turn"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    call_id: Mapped[str] = mapped_column(ForeignKey("call_records.id", ondelete="CASCADE"), index=True)
    turn_index: Mapped[int] = mapped_column(Integer)
    speaker: Mapped[str] = mapped_column(String(8))  # caller | ai
    text: Mapped[str] = mapped_column(Text, default="")
    intent: Mapped[str | None] = mapped_column(String(24), nullable=True)
    stage: Mapped[str | None] = mapped_column(String(24), nullable=True)
    # Per-stage timings in milliseconds: endpointing, stt, reply, tts_first_byte, send, voice_to_voice.
    timings_ms: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    interrupted: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    call: Mapped[CallRecord] = relationship(back_populates="turns")


class SpamProfile(Base):
    """What we know about a caller, shared across users, keyed by an HMAC of the E.164 number."""

    __tablename__ = "spam_profiles"

    caller_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    category: Mapped[str] = mapped_column(String(24), default="unknown")
    risk_score: Mapped[float] = mapped_column(Float, default=0.0)
    confidence: Mapped[float] = mapped_column(Float, default=0.0)
    total_calls: Mapped[int] = mapped_column(Integer, default=0)
    spam_calls: Mapped[int] = mapped_column(Integer, default=0)
    spam_reports: Mapped[int] = mapped_column(Integer, default=0)
    not_spam_reports: Mapped[int] = mapped_column(Integer, default=0)
    category_counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # How the risk was reached, for people: the rule, the calls, which reports counted, with their weights.
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    first_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class CallerFeedback(Base):
    """A user's verdict on a caller ("spam" / "not_spam"), which profile-analytics learns from."""

    __tablename__ = "caller_feedback"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    caller_hash: Mapped[str] = mapped_column(String(64), index=True)
    call_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    verdict: Mapped[str] = mapped_column(String(16))  # spam | not_spam
    category: Mapped[str | None] = mapped_column(String(24), nullable=True)
    comment: Mapped[str] = mapped_column(Text, default="")
    # The reporter's standing for this report (0..1, see profile_analytics/learning.py): 0 when they never
    # received a call from the number, so it counts only for themselves.
    weight: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
