"""No dead ends for a call: phone-gateway never hands a call to a dead realtime-processor, and a media stream that
fails or dies mid-call continues to the person's fallback (ring their proven real number, then voicemail; or a
short message and a recorded voicemail), and the record says what happened.

Two defences, because neither alone is enough:

* **Before the stream.** ``MediaAvailability`` knows whether realtime-processor can take a stream: the probe
  phone-gateway's /ready makes of a called service (its ``/health``), re-run every PROBE_INTERVAL_SECONDS in the
  background; a decision reads a cached boolean and never waits on a probe, and /ready shows the cached answer as a
  warning (never unready, never slow: a hung realtime-processor must not make the gateway look down too),
  plus the streams that failed lately: FAILURES_BEFORE_PAUSE failed streams within FAILURE_WINDOW_SECONDS send
  new calls straight to the fallback for PAUSE_SECONDS even while the probe still answers (a process that is
  alive but cannot take streams). A call decided "AI" while media is unavailable is answered with the fallback
  at once (reason ``media_unavailable``).
* **After the stream.** Every AI TwiML answer is ``<Connect action="/twilio/after-stream?call_id=...">``: Twilio
  requests that URL whenever the ``<Connect>`` ends, whether the WebSocket never opened, was refused, or closed
  mid-call. The gateway then asks realtime-processor how the call ended: only when the AI (or the person, through
  take-over / hang-up) ended it on purpose does it answer ``<Hangup/>``; in every other case (realtime-processor
  unreachable or restarted, the stream closed without the AI ending the call) the fallback (``stream_failed``).

Why the action URL rather than fallback verbs after ``</Connect>``: Twilio runs the verbs after ``</Connect>``
whenever the stream ends, including after the AI hung up on a spammer, which would then ring the person (the one
thing they asked us to spare them). Making the AI's hang-up end the call instead needs Twilio's REST API from
realtime-processor (credentials in one more service, and nothing for the loopback carrier). The action URL needs
neither: the decision is made at the moment the stream ends, from the call's real state, by the service that owns
the record. (With ``action`` set Twilio never runs verbs after ``</Connect>``, so we put none there.)
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from prometheus_client import Counter

from answer_ninja.calls.routing import UserRouting
from answer_ninja.platform.app_factory import ServiceContext
from answer_ninja.platform.db.models import CallRecord
from answer_ninja.platform.health import DependencyCheck, run_check
from answer_ninja.platform.logging import get_logger
from answer_ninja.services.phone_gateway import flows
from answer_ninja.telephony import twilio_voice, webhook_auth
from answer_ninja.telephony.acs_events import AcsCallControl, AcsIncomingCall

log = get_logger(__name__)

MEDIA_SERVICE = "realtime-processor"
# The probe's period: a crash is noticed within a second (calls in that second still reach the fallback through
# the after-stream check, only a second later).
PROBE_INTERVAL_SECONDS = 1.0
# A probe longer than this counts as "down": a wedged process must not be handed calls.
PROBE_TIMEOUT_SECONDS = 1.0
# Failed streams while the probe still says "up": this many within the window pause streaming for a while.
FAILURES_BEFORE_PAUSE = 3
FAILURE_WINDOW_SECONDS = 60.0
PAUSE_SECONDS = 15.0

RING, VOICEMAIL = "fallback_ring", "fallback_voicemail"
MEDIA_UNAVAILABLE, STREAM_FAILED, RING_UNANSWERED = "media_unavailable", "stream_failed", "ring_unanswered"

FALLBACKS = Counter(
    "ai_ninja_call_fallbacks_total", "AI calls that went to the person's fallback, by route and reason.",
    ["route", "reason"],
)  # fmt: skip
STREAM_ENDINGS = Counter(
    "ai_ninja_call_stream_endings_total", "How AI calls' media streams ended (ai_hung_up, failed).", ["ending"]
)


class MediaAvailability:
    """Whether realtime-processor can take a stream now: a background probe plus recently failed streams."""

    def __init__(self, probe: Callable[[], Awaitable[str | None]], *, clock: Callable[[], float] = time.monotonic):
        self._probe = probe  # None when usable, else why not
        self._clock = clock
        self.problem: str | None = None  # the last probe's answer
        self.checked_at: float | None = None
        self._failures: deque[float] = deque()
        self._paused_until = 0.0
        self._wake = asyncio.Event()

    def can_stream(self) -> bool:
        return self.problem is None and self._clock() >= self._paused_until

    def why_not(self) -> str | None:
        if self.problem is not None:
            return self.problem
        if self._clock() < self._paused_until:
            return f"{FAILURES_BEFORE_PAUSE} streams failed within {FAILURE_WINDOW_SECONDS:.0f} s"
        return None

    def stream_failed(self) -> None:
        now = self._clock()
        self._failures.append(now)
        while self._failures and now - self._failures[0] > FAILURE_WINDOW_SECONDS:
            self._failures.popleft()
        if len(self._failures) >= FAILURES_BEFORE_PAUSE:
            self._paused_until = now + PAUSE_SECONDS
            self._failures.clear()
            log.warning("media_streams_paused", seconds=PAUSE_SECONDS)
        self._wake.set()  # probe again now rather than at the next tick

    def stream_ended_well(self) -> None:
        self._failures.clear()

    async def refresh(self) -> bool:
        problem = await self._probe()
        if problem != self.problem:
            log.warning("media_unavailable", problem=problem) if problem else log.info("media_available")
        self.problem, self.checked_at = problem, self._clock()
        return problem is None

    async def run(self) -> None:
        while True:
            with contextlib.suppress(Exception):  # a probe that raises is a probe that failed, never a dead loop
                await self.refresh()
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=PROBE_INTERVAL_SECONDS)


def _health_probe(ctx: ServiceContext) -> Callable[[], Awaitable[str | None]]:
    """realtime-processor's /health, checked as the app factory checks a called service, as "usable or why not"."""
    url = ctx.settings.service_url(MEDIA_SERVICE) + "/health"

    async def get(timeout: float) -> None:
        (await ctx.require_http().get(url, timeout=timeout)).raise_for_status()

    check = DependencyCheck(MEDIA_SERVICE, "service", get)

    async def probe() -> str | None:
        result = await run_check(check, min(PROBE_TIMEOUT_SECONDS, ctx.settings.dependency_timeout_seconds))
        return None if result.ok else (result.error or "unreachable")

    return probe


def _ready_check(availability: MediaAvailability) -> DependencyCheck:
    """phone-gateway's /ready shows the cached answer (a warning, never unready): a hung realtime-processor must not
    make /ready slow, or whoever probes it (the responder, the kubelet) would take the gateway for down too."""

    async def cached(_: float) -> None:
        problem = availability.why_not()
        if problem is not None:
            raise RuntimeError(problem)

    return DependencyCheck(MEDIA_SERVICE, "service", cached, required=False)


def availability_of(ctx: ServiceContext) -> MediaAvailability:
    availability = ctx.extras.get("media_availability")
    if not isinstance(availability, MediaAvailability):
        availability = MediaAvailability(_health_probe(ctx))
        ctx.extras["media_availability"] = availability
    return availability


async def start(ctx: ServiceContext) -> None:
    availability = availability_of(ctx)
    ctx.checks.append(_ready_check(availability))
    with contextlib.suppress(Exception):
        await availability.refresh()
    ctx.extras["media_probe"] = asyncio.create_task(availability.run(), name="media-availability")


async def stop(ctx: ServiceContext) -> None:
    task = ctx.extras.pop("media_probe", None)
    if isinstance(task, asyncio.Task):
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@dataclass(frozen=True)
class FallbackPlan:
    route: str  # fallback_ring | fallback_voicemail
    reason: str  # media_unavailable | stream_failed | ring_unanswered
    number: str | None  # the proven real number to ring (ring only)
    language: str


def plan_for(user: UserRouting | None, reason: str, *, ring: bool = True) -> FallbackPlan:
    """The person's fallback: ring their proven real number when they chose it and have one, else voicemail."""
    language = user.language if user is not None else flows.PROBE_LANGUAGE
    if ring and user is not None and user.fallback == "ring" and user.real_number:
        return FallbackPlan(RING, reason, user.real_number, language)
    return FallbackPlan(VOICEMAIL, reason, None, language)


def twiml_for(plan: FallbackPlan, call_id: str) -> str:
    if plan.route == RING and plan.number:
        return twilio_voice.ring_twiml(plan.number, action_url=f"/twilio/fallback-dial?call_id={call_id}")
    voicemail = f"/twilio/voicemail?call_id={call_id}"
    return twilio_voice.voicemail_twiml(plan.language, action_url=voicemail, recording_status_url=voicemail)


async def record(ctx: ServiceContext, call_id: str, plan: FallbackPlan, **extra: Any) -> None:
    """The record says the call went to the fallback, which one and why (outcome + details.fallback)."""
    FALLBACKS.labels(plan.route, plan.reason).inc()
    log.warning("call_fallback", call_id=call_id, route=plan.route, reason=plan.reason)
    async with ctx.require_database().session() as session:
        stored = await session.get(CallRecord, call_id)
        if stored is None:
            return
        details = dict(stored.details or {})
        details["fallback"] = {"route": plan.route, "reason": plan.reason, "at": datetime.now(UTC).isoformat(), **extra}
        stored.details = details
        stored.outcome = plan.route
        await session.commit()


async def _user_of(ctx: ServiceContext, dialled: str) -> UserRouting | None:
    if dialled == ctx.settings.synthetic_probe_number:
        return None
    try:
        lookup = await flows.directory_of(ctx).lookup(dialled=dialled, caller_hash=None)
    except Exception as error:  # the fallback must be answered whatever fails: voicemail needs no user data
        log.warning("fallback_lookup_failed", error_type=type(error).__name__)
        return None
    return lookup.user


async def twilio_ai_answer(ctx: ServiceContext, outcome: flows.CallOutcome, user: UserRouting | None) -> str:
    """The TwiML for a call the AI should take: the stream (with the after-stream action) when realtime-processor
    can take it, else the person's fallback at once."""
    availability = availability_of(ctx)
    if availability.can_stream():
        action = f"/twilio/after-stream?call_id={outcome.call_id}"
        return twilio_voice.stream_twiml(flows.stream_url(ctx, "twilio"), outcome.parameters, action_url=action)
    plan = plan_for(user, MEDIA_UNAVAILABLE)
    await record(ctx, outcome.call_id, plan, media=availability.why_not())
    return twiml_for(plan, outcome.call_id)


@dataclass(frozen=True)
class StreamEnding:
    """What realtime-processor says about a call whose stream ended."""

    known: bool  # false: realtime-processor unreachable, restarted, or never saw the stream
    hung_up_by_ai: bool = False
    outcome: str | None = None


async def ask_media(ctx: ServiceContext, call_id: str) -> StreamEnding:
    url = f"{ctx.settings.realtime_processor_url}/internal/v1/calls/{call_id}/ending"
    try:
        response = await ctx.require_http().get(url, timeout=PROBE_TIMEOUT_SECONDS * 2)
    except Exception as error:  # unreachable (killed, restarting): the stream failed
        log.info("media_ending_unknown", call_id=call_id, error_type=type(error).__name__)
        return StreamEnding(known=False)
    if response.status_code != 200:
        return StreamEnding(known=False)
    body = response.json()
    return StreamEnding(known=True, hung_up_by_ai=bool(body.get("hung_up")), outcome=body.get("outcome"))


def _ended_on_purpose(stored: CallRecord) -> bool:
    details = stored.details or {}
    return "takeover" in details or "hangup" in details or details.get("ended_by") == "ai"


# Twilio's CallStatus on an action request once the caller is gone: nobody is left to ring or record for.
CALLER_GONE = frozenset({"completed", "canceled", "busy", "failed", "no-answer"})


async def after_stream(ctx: ServiceContext, call_id: str, call_status: str = "in-progress") -> str:
    """Twilio's ``<Connect action>``: the stream is over. ``<Hangup/>`` when the caller hung up, or the AI or the
    person ended the call on purpose; otherwise (the caller still on the line) the person's fallback (reason
    ``stream_failed``)."""
    if call_status in CALLER_GONE:
        return twilio_voice.hangup_twiml()
    async with ctx.require_database().session() as session:
        stored = await session.get(CallRecord, call_id)
    if stored is None:  # no record (the database was down at decision time): still no dead end
        return twiml_for(plan_for(None, STREAM_FAILED, ring=False), call_id)
    fallback = (stored.details or {}).get("fallback")
    if isinstance(fallback, dict):  # the carrier asked again: the same answer
        return twiml_for(plan_for(await _user_of(ctx, stored.dialled_number), fallback["reason"]), call_id)
    if _ended_on_purpose(stored):
        return twilio_voice.hangup_twiml()
    availability = availability_of(ctx)
    ending = await ask_media(ctx, call_id)
    if ending.hung_up_by_ai:
        STREAM_ENDINGS.labels("ai_hung_up").inc()
        availability.stream_ended_well()
        await flows.update_status(ctx, call_id=call_id, status="completed", extra={"ended_by": "ai"})
        return twilio_voice.hangup_twiml()
    STREAM_ENDINGS.labels("failed").inc()
    availability.stream_failed()
    plan = plan_for(await _user_of(ctx, stored.dialled_number), STREAM_FAILED)
    await record(ctx, call_id, plan, media_knew_call=ending.known, media_outcome=ending.outcome)
    return twiml_for(plan, call_id)


async def after_ring(ctx: ServiceContext, call_id: str, dial_status: str) -> str:
    """The fallback's ring ended: answered -> hang up when it is over; otherwise voicemail."""
    if dial_status in ("completed", "answered"):
        await flows.update_status(ctx, call_id=call_id, status="completed", extra={"fallback_dial": dial_status})
        return twilio_voice.hangup_twiml()
    async with ctx.require_database().session() as session:
        stored = await session.get(CallRecord, call_id)
    user = await _user_of(ctx, stored.dialled_number) if stored is not None else None
    previous = (stored.details or {}).get("fallback") if stored is not None else None
    reason = previous.get("reason", RING_UNANSWERED) if isinstance(previous, dict) else RING_UNANSWERED
    plan = plan_for(user, reason, ring=False)
    await record(ctx, call_id, plan, ring=dial_status[:24])
    return twiml_for(plan, call_id)


# What a voicemail's recording callback may store: Twilio's field names, bounded values.
MAX_RECORDING_URL = 512


async def voicemail_done(ctx: ServiceContext, call_id: str, form: dict[str, str]) -> str:
    """The recording ended (``<Record action>``) or was stored (status callback): keep where it is, hang up."""
    duration_text = form.get("RecordingDuration", "")
    recording: dict[str, object] = {}
    url = flows.printable(form.get("RecordingUrl", ""))[:MAX_RECORDING_URL]
    if url.startswith("https://") or url.startswith("http://"):
        recording["url"] = url
    if duration_text.isdigit() and int(duration_text) <= twilio_voice.VOICEMAIL_MAX_SECONDS + 5:
        recording["duration_seconds"] = int(duration_text)
    if form.get("RecordingSid"):
        recording["sid"] = flows.printable(form["RecordingSid"])[:64]
    extra: dict[str, object] = {"voicemail": recording} if recording else {}
    await flows.update_status(ctx, call_id=call_id, status="completed", extra=extra)
    return twilio_voice.hangup_twiml()


# --- Azure Communication Services: the same fallback through call automation ----------------------------------
#
# ACS has no "what next" URL: the gateway hears of the stream's end through call automation events on the call's
# callback URL (MediaStreamingFailed / MediaStreamingStopped), asks realtime-processor how it ended like the Twilio
# path does, and acts through the SDK: hang up (the AI ended the call), transfer to the person's real number (ring),
# or play a short message and record the call (voicemail). A call that cannot be streamed at all is redirected to
# the real number before it is answered (ring), or answered without media and given the voicemail on connect.


def acs_callback_url(ctx: ServiceContext, call_id: str) -> str:
    """Where ACS posts this call's events: our call id, and the shared secret when one is configured (ACS posts
    to the URL as given, so the secret travels in it; carrier_auth checks it)."""
    query = {"call_id": call_id}
    secret = ctx.settings.acs_webhook_secret
    if secret is not None and secret.get_secret_value():
        query[webhook_auth.ACS_SECRET_QUERY] = secret.get_secret_value()
    return f"{ctx.settings.acs_callback_url or ctx.settings.phone_gateway_url}/acs/callbacks?{urlencode(query)}"


async def acs_media_unavailable(
    ctx: ServiceContext, control: AcsCallControl, call: AcsIncomingCall, outcome: flows.CallOutcome
) -> None:
    """realtime-processor cannot take the call: ring the person (redirect, before answering) or voicemail."""
    plan = plan_for(outcome.user, MEDIA_UNAVAILABLE)
    if plan.route == RING and plan.number:
        await control.redirect(call, number=plan.number)
        await flows.update_status(ctx, call_id=outcome.call_id, status="completed", extra={"acs": "redirected"})
        await record(ctx, outcome.call_id, plan, media=availability_of(ctx).why_not())
        return
    connection_id = await control.answer_without_media(call, callback_url=acs_callback_url(ctx, outcome.call_id))
    extra: dict[str, object] = {"acs": connection_id, "acs_server_call": call.server_call_id}
    await flows.update_status(ctx, call_id=outcome.call_id, status="answered", extra=extra)
    await record(ctx, outcome.call_id, plan, media=availability_of(ctx).why_not(), pending=True)


async def _acs_voicemail(ctx: ServiceContext, control: AcsCallControl, stored: CallRecord, language: str) -> None:
    details = stored.details or {}
    spoken = language if language in twilio_voice.VOICEMAIL_PROMPTS else "en-US"
    await control.voicemail(
        str(details.get("acs", "")),
        server_call_id=str(details.get("acs_server_call", "")),
        prompt=twilio_voice.VOICEMAIL_PROMPTS[spoken],
        locale=spoken,
        recording_callback_url=acs_callback_url(ctx, stored.id),
    )


async def acs_connected(ctx: ServiceContext, control: AcsCallControl, call_id: str) -> None:
    """A call answered without media for the voicemail is connected: the message, then the recording."""
    async with ctx.require_database().session() as session:
        stored = await session.get(CallRecord, call_id)
    pending = (stored.details or {}).get("fallback") if stored is not None else None
    if stored is None or not isinstance(pending, dict) or not pending.get("pending"):
        return
    user = await _user_of(ctx, stored.dialled_number)
    await _acs_voicemail(ctx, control, stored, user.language if user is not None else flows.PROBE_LANGUAGE)
    plan = FallbackPlan(VOICEMAIL, str(pending.get("reason", MEDIA_UNAVAILABLE)), None, "")
    await record(ctx, call_id, plan, started=True)


async def acs_stream_ended(ctx: ServiceContext, control: AcsCallControl, call_id: str) -> None:
    """The ACS media stream stopped or failed: end the call if the AI ended it, else the person's fallback."""
    async with ctx.require_database().session() as session:
        stored = await session.get(CallRecord, call_id)
    if stored is None or "fallback" in (stored.details or {}) or _ended_on_purpose(stored):
        return
    connection_id = (stored.details or {}).get("acs")
    if not isinstance(connection_id, str) or not connection_id:
        return
    ending = await ask_media(ctx, call_id)
    if ending.hung_up_by_ai:
        STREAM_ENDINGS.labels("ai_hung_up").inc()
        availability_of(ctx).stream_ended_well()
        await flows.update_status(ctx, call_id=call_id, status="completed", extra={"ended_by": "ai"})
        try:
            await control.hang_up(connection_id)
        except Exception as error:  # the caller may have gone already
            log.info("acs_hang_up_after_ai_failed", call_id=call_id, error_type=type(error).__name__)
        return
    user = await _user_of(ctx, stored.dialled_number)
    plan = plan_for(user, STREAM_FAILED)
    try:
        if plan.route == RING and plan.number:
            await control.transfer(
                connection_id, number=plan.number, caller_id=stored.dialled_number, context=f"fallback:{call_id}"
            )
        else:
            await _acs_voicemail(ctx, control, stored, plan.language)
    except Exception as error:  # e.g. the caller hung up (the stream stopped because the call ended): no fallback
        log.info("acs_fallback_not_taken", call_id=call_id, error_type=type(error).__name__)
        return
    STREAM_ENDINGS.labels("failed").inc()
    availability_of(ctx).stream_failed()
    await record(ctx, call_id, plan, media_knew_call=ending.known, media_outcome=ending.outcome)
