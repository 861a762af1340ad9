"""Orchestration of an incoming call, whatever the carrier: normalise, look up, decide, record.

Whatever fails, the call is never dropped: an error in routing -> AI (``routing_error``); user-management
unreachable with nothing cached -> AI (``directory_unavailable``); the database unreachable -> the decision is
still answered, and its record waits in memory until the database is back (``record_writer``).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from prometheus_client import Counter, Histogram

from answer_ninja.calls.routing import (
    Decision,
    Reason,
    RoutingDecision,
    RoutingInput,
    UserRouting,
    decide,
    fallback,
)
from answer_ninja.platform.app_factory import ServiceContext
from answer_ninja.platform.auth.keys import secret_bytes
from answer_ninja.platform.auth.stream_tokens import issue_stream_token, stream_key
from answer_ninja.platform.db.models import CallRecord, new_id
from answer_ninja.platform.logging import get_logger
from answer_ninja.services.phone_gateway import service
from answer_ninja.services.phone_gateway.directory import Lookup, RoutingDirectory
from answer_ninja.services.phone_gateway.record_writer import RecordWriter
from answer_ninja.telephony.phone_numbers import caller_hash, to_e164_or_raw
from answer_ninja.telephony.twilio_voice import http_to_ws

log = get_logger(__name__)

DECISIONS = Counter(
    "ai_ninja_call_decisions_total", "Routing decisions, by decision and reason.", ["decision", "reason"]
)
DECISION_LATENCY = Histogram(
    "ai_ninja_call_decision_seconds",
    "Time from webhook to routing decision (lookups + rules).",
    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2.0),
)
RECORDS_DEFERRED = Counter(
    "ai_ninja_call_records_deferred_total", "Call records not stored at once (database down): kept and retried."
)

# What the AI is told for a synthetic probe call, which has no user.
PROBE_PERSONA, PROBE_LANGUAGE, PROBE_MAX_SECONDS = "polite", "zh-CN", 60


@dataclass
class CallOutcome:
    call_id: str
    decision: RoutingDecision
    latency_ms: float
    parameters: dict[str, str] = field(default_factory=dict)
    user_id: str | None = None
    replayed: bool = False  # the carrier retried a call we had already decided
    user: UserRouting | None = None  # the owner's settings (their fallback when the AI cannot take the call)

    @property
    def is_ai(self) -> bool:
        return self.decision.decision is Decision.AI


def printable(text: str) -> str:
    """Carriers' text without control characters (PostgreSQL refuses NUL), so a record is always storable."""
    return "".join(character for character in text if character.isprintable())


def stream_url(ctx: ServiceContext, carrier_path: str, query: Mapping[str, str] | None = None) -> str:
    """realtime-processor's media WebSocket for a carrier: ``/media/twilio`` or ``/media/acs``.

    Twilio carries the call's parameters as TwiML ``<Parameter>``s; ACS media streaming has no such field, so
    they travel in the transport URL's query string (``query``).
    """
    url = f"{http_to_ws(ctx.settings.realtime_processor_url)}/media/{carrier_path}"
    return f"{url}?{urlencode(query)}" if query else url


def record_writer_of(ctx: ServiceContext) -> RecordWriter:
    writer = ctx.extras.get("record_writer")
    if not isinstance(writer, RecordWriter):
        writer = RecordWriter(ctx.require_database())
        ctx.extras["record_writer"] = writer
    return writer


def directory_of(ctx: ServiceContext) -> RoutingDirectory:
    directory = ctx.extras.get("routing_directory")
    if not isinstance(directory, RoutingDirectory):
        directory = RoutingDirectory(ctx)
        ctx.extras["routing_directory"] = directory
    return directory


def stream_parameters(call_id: str, lookup: Lookup | None) -> dict[str, str]:
    user = lookup.user if lookup is not None else None
    if user is None:
        return {
            "call_id": call_id,
            "user_id": "",
            "persona": PROBE_PERSONA,
            "language": PROBE_LANGUAGE,
            "max_call_seconds": str(PROBE_MAX_SECONDS),
        }
    return {
        "call_id": call_id,
        "user_id": user.user_id,
        "persona": user.persona,
        "language": user.language,
        "max_call_seconds": str(user.max_call_seconds),
    }


def with_stream_token(ctx: ServiceContext, parameters: dict[str, str], *, carrier: str) -> dict[str, str]:
    """The stream's parameters plus its signed, single-use token (the only thing realtime-processor believes).

    A probe call (no user) leaves the language open in the token, so a simulated caller may pick its own.
    """
    user_id = parameters.get("user_id") or None
    token = issue_stream_token(
        stream_key(secret_bytes(ctx, "internal_secret")),
        call_id=parameters["call_id"],
        user_id=user_id,
        language=parameters.get("language", PROBE_LANGUAGE) if user_id is not None else "",
        persona=parameters.get("persona", PROBE_PERSONA),
        max_call_seconds=float(parameters.get("max_call_seconds") or PROBE_MAX_SECONDS),
        carrier=carrier,
    )
    return {**parameters, "token": token}


async def _route(ctx: ServiceContext, caller: str, dialled: str, hashed: str | None) -> tuple[RoutingDecision, Lookup]:
    settings = ctx.settings
    if dialled == settings.synthetic_probe_number:  # never touch users' data for the probe
        lookup = Lookup(sources={"user": "none"})
    else:
        lookup = await directory_of(ctx).lookup(dialled=dialled, caller=caller, caller_hash=hashed)
        if not lookup.user_known:
            return fallback(Reason.DIRECTORY_UNAVAILABLE), lookup
    decision = decide(
        RoutingInput(
            caller=caller,
            dialled=dialled,
            now=datetime.now(UTC),
            synthetic_probe_number=settings.synthetic_probe_number,
            user=lookup.user,
            whitelist=lookup.whitelist,
            profile=lookup.profile,
            own_verdict=lookup.own_verdict,
        )
    )
    return decision, lookup


async def handle_incoming_call(
    ctx: ServiceContext, *, carrier: str, carrier_call_id: str | None, caller_raw: str, dialled_raw: str
) -> CallOutcome:
    started = time.perf_counter()
    region = ctx.settings.default_phone_region
    caller = to_e164_or_raw(printable(caller_raw), region=region)
    dialled = to_e164_or_raw(printable(dialled_raw), region=region)
    carrier_call_id = printable(carrier_call_id)[:128] if carrier_call_id else None
    hashed = caller_hash(caller, secret_bytes(ctx, "profile_hash_secret")) if caller.startswith("+") else None
    lookup: Lookup | None = None
    try:
        decision, lookup = await _route(ctx, caller, dialled, hashed)
    except Exception as error:  # routing must never drop a call: the AI answers instead
        log.error("routing_failed", error_type=type(error).__name__, exc_info=error)
        decision = fallback(Reason.ROUTING_ERROR)
    latency_ms = (time.perf_counter() - started) * 1000
    DECISIONS.labels(decision.decision.value, decision.reason.value).inc()
    DECISION_LATENCY.observe(latency_ms / 1000)

    call_id = new_id()
    user_id = lookup.user.user_id if lookup is not None and lookup.user is not None else None
    parameters: dict[str, str] = {}
    if decision.decision is Decision.AI:
        parameters = with_stream_token(ctx, stream_parameters(call_id, lookup), carrier=carrier)
    details: dict[str, object] = {"sources": lookup.sources if lookup else {}}
    if decision.synthetic:
        details["synthetic"] = True
    if lookup is not None:
        details["whitelist_lookup_ms"] = round(lookup.whitelist_ms, 3)
    now = datetime.now(UTC)
    row: dict[str, Any] = {
        "id": call_id,
        "user_id": user_id,
        "carrier": carrier,
        "carrier_call_id": carrier_call_id or call_id,
        "caller_number": caller,
        "caller_hash": hashed,
        "dialled_number": dialled,
        "decision": decision.decision.value,
        "decision_reason": decision.reason.value,
        "decision_latency_ms": round(latency_ms, 3),
        "status": "rejected" if decision.decision is Decision.REJECT else "received",
        "started_at": now,
        "ended_at": now if decision.decision is Decision.REJECT else None,
        "transcript": [],
        "turn_timings": [],
        "summary": {},
        "details": details,
    }
    outcome = CallOutcome(call_id, decision, latency_ms, parameters, user_id, user=lookup.user if lookup else None)
    stored_id = await record_writer_of(ctx).write(row)
    if stored_id is None:  # the database is down: the record waits in memory; the caller is answered now
        RECORDS_DEFERRED.inc()
        return outcome
    if stored_id != call_id:
        return await _replayed(ctx, stored_id, outcome)
    log.info(
        "call_decided",
        call_id=call_id,
        carrier=carrier,
        decision=decision.decision.value,
        reason=decision.reason.value,
        latency_ms=round(latency_ms, 2),
    )
    return outcome


async def _replayed(ctx: ServiceContext, stored_id: str, outcome: CallOutcome) -> CallOutcome:
    """The carrier re-sent a call we already decided: answer the same way, with the first record's id."""
    async with ctx.require_database().session() as session:
        stored = await session.get(CallRecord, stored_id)
    if stored is None:
        return outcome
    decision = RoutingDecision(
        Decision(stored.decision or "ai"), Reason(stored.decision_reason or "default_ai"), outcome.decision.transfer_to
    )
    parameters: dict[str, str] = {}
    if outcome.parameters:  # a fresh token for the stored call (the first answer's was for that one only)
        parameters = with_stream_token(ctx, {**outcome.parameters, "call_id": stored.id}, carrier=stored.carrier)
    return CallOutcome(
        stored.id, decision, stored.decision_latency_ms or 0.0, parameters, stored.user_id, True, outcome.user
    )


async def fall_back_to_ai(ctx: ServiceContext, *, call_id: str) -> dict[str, str]:
    """A transfer that failed (busy, no answer): the AI takes the call. Returns the media stream's parameters."""
    async with ctx.require_database().session() as session:
        record = await session.get(CallRecord, call_id)
        if record is None:
            return with_stream_token(ctx, stream_parameters(call_id, None), carrier="twilio")
        details = dict(record.details or {})
        details["transfer_failed"] = {"previous_decision": record.decision, "previous_reason": record.decision_reason}
        await service.update_record(
            session, record=record, decision="ai", decision_reason=Reason.TRANSFER_FAILED.value, details=details
        )
        user_id = record.user_id
    DECISIONS.labels("ai", Reason.TRANSFER_FAILED.value).inc()
    lookup = None
    if user_id is not None:
        lookup = await directory_of(ctx).lookup(dialled=record.dialled_number, caller_hash=None)
    return with_stream_token(ctx, stream_parameters(call_id, lookup), carrier=record.carrier)


async def find_call(ctx: ServiceContext, *, carrier: str, carrier_call_id: str) -> CallRecord | None:
    async with ctx.require_database().session() as session:
        return await service.find_by_carrier_id(session, carrier=carrier, carrier_call_id=carrier_call_id)


async def update_status(
    ctx: ServiceContext,
    *,
    call_id: str | None = None,
    carrier: str | None = None,
    carrier_call_id: str | None = None,
    status: str,
    duration: float | None = None,
    extra: dict[str, object] | None = None,
) -> bool:
    """Status callbacks: move the record along. False when no such call."""
    async with ctx.require_database().session() as session:
        if call_id is not None:
            record = await session.get(CallRecord, call_id)
        elif carrier is not None and carrier_call_id is not None:
            record = await service.find_by_carrier_id(session, carrier=carrier, carrier_call_id=carrier_call_id)
        else:
            record = None
        if record is None:
            return False
        service.mark_status(record, status, now=service.utcnow(), duration=duration)
        if extra:
            record.details = {**(record.details or {}), **extra}
        await session.commit()
    return True
