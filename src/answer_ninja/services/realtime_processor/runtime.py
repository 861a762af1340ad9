"""Everything the media endpoints share: providers, prepared audio, the reply client, live calls, the record."""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx

from answer_ninja.platform.db.engine import Database
from answer_ninja.platform.logging import get_logger
from answer_ninja.platform.settings import Settings
from answer_ninja.services.realtime_processor import lines, metrics
from answer_ninja.services.realtime_processor.audio_cache import PreparedAudio
from answer_ninja.services.realtime_processor.call_store import FinishedCall, notify_finished, save_call
from answer_ninja.services.realtime_processor.events import CallEvents, LiveEvents
from answer_ninja.services.realtime_processor.providers import SpeechProviders
from answer_ninja.services.realtime_processor.replies import CallContext, ReplyClient
from answer_ninja.services.realtime_processor.session import AudioOutput, CallSession, SessionConfig
from answer_ninja.services.realtime_processor.turn_taking import TurnPolicy
from answer_ninja.speech.base import SUPPORTED_LANGUAGES

log = get_logger(__name__)

# How long to retry fetching conversation-engine's templates at start-up (it may start after us).
TEMPLATE_RETRY_SECONDS = 60.0
# How many ended calls this process remembers for phone-gateway's "how did the stream end?" (a few minutes' worth;
# the question comes within a second of the end).
ENDINGS_KEPT = 10_000


@dataclass(frozen=True)
class StreamEnding:
    outcome: str
    hung_up: bool  # the AI (or the person, through phone-gateway) ended the call and closed the stream on purpose


def hung_up_on_purpose(session: CallSession) -> bool:
    return session.outcome is not None and bool(getattr(session.output, "hung_up", False))


@dataclass
class CallRequest:
    """What a carrier tells us about the call when its media stream starts."""

    call_id: str
    carrier: str
    carrier_call_id: str
    user_id: str | None = None
    persona: str = "polite"
    language: str = "zh-CN"
    max_call_seconds: float | None = None
    caller: str = ""
    dialled: str = ""

    def context(self) -> CallContext:
        language = self.language if self.language in SUPPORTED_LANGUAGES else "zh-CN"
        return CallContext(self.call_id, language, self.persona or "polite", self.caller, self.user_id)


@dataclass
class VoiceRuntime:
    settings: Settings
    providers: SpeechProviders
    replies: ReplyClient
    database: Database | None = None
    http: httpx.AsyncClient | None = None
    prepared: PreparedAudio = field(init=False)
    events: LiveEvents = field(default_factory=LiveEvents)  # live call events for the console (events.py)
    sessions: dict[str, CallSession] = field(default_factory=dict)
    _requests: dict[str, CallRequest] = field(default_factory=dict)
    _closing: set[asyncio.Task[None]] = field(default_factory=set)
    endings: OrderedDict[str, StreamEnding] = field(default_factory=OrderedDict)  # recently ended calls
    presynthesis_done: bool = False

    def __post_init__(self) -> None:
        best = self.providers.prepared_tts or self.providers.tts
        self.prepared = PreparedAudio(best, directory=self.settings.data_dir / "voice-cache")

    def session_config(self, request: CallRequest) -> SessionConfig:
        settings = self.settings
        max_seconds = request.max_call_seconds or 180.0
        fixed = settings.turn_policy == "fixed"
        return SessionConfig(
            turn_policy=TurnPolicy(fixed_ms=settings.end_of_turn_silence_ms) if fixed else TurnPolicy(),
            streaming=settings.stt_streaming,
            barge_in_min_speech_ms=settings.barge_in_min_speech_ms,
            silence_prompt_ms=int(settings.silence_prompt_seconds * 1000),
            silence_goodbye_ms=int(settings.silence_goodbye_seconds * 1000),
            max_call_ms=int(max_seconds * 1000),
        )

    def open(self, request: CallRequest, output: AudioOutput) -> CallSession:
        session = CallSession(
            request.context(),
            output=output,
            vad=self.providers.new_vad(),
            stt=self.providers.stt,
            tts=self.providers.tts,
            replies=self.replies,
            prepared=self.prepared,
            config=self.session_config(request),
        )
        self.sessions[request.call_id] = session
        self._requests[request.call_id] = request
        session.events = self.events.for_call(call_id=request.call_id, user_id=request.user_id)
        if isinstance(session.events, CallEvents):
            session.events.started(language=session.call.language, caller=request.caller)
        metrics.ACTIVE_CALLS.labels(request.carrier).inc()
        log.info("call_started", call_id=request.call_id, carrier=request.carrier, language=session.call.language)
        return session

    async def release(self, session: CallSession) -> None:
        """Close the call in its own task: a cancelled WebSocket handler must not lose the call record."""
        task = asyncio.create_task(self.close(session), name=f"close:{session.call.call_id}")
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)
        await asyncio.shield(task)

    async def wait_closed(self, timeout: float) -> None:
        """At shutdown: let the records of calls that just ended be written."""
        if self._closing:
            await asyncio.wait(list(self._closing), timeout=timeout)

    async def close(self, session: CallSession) -> None:
        """The stream is gone: complete the record, tell conversation-engine and profile-analytics."""
        request = self._requests.pop(session.call.call_id)
        self.endings[request.call_id] = StreamEnding(session.outcome or "caller_hung_up", hung_up_on_purpose(session))
        while len(self.endings) > ENDINGS_KEPT:
            self.endings.popitem(last=False)
        self.sessions.pop(session.call.call_id, None)
        metrics.ACTIVE_CALLS.labels(request.carrier).dec()
        await session.finish(session.outcome or "caller_hung_up", hang_up=False)
        await session.drain(timeout=3.0)
        finished = FinishedCall(
            call_id=request.call_id,
            carrier=request.carrier,
            carrier_call_id=request.carrier_call_id,
            user_id=request.user_id,
            caller=request.caller,
            dialled=request.dialled,
            started_at=session.started_at,
            ended_at=datetime.now(UTC),
            outcome=session.outcome or "caller_hung_up",
            turns=session.turns,
        )
        if self.database is not None:
            try:
                await save_call(self.database, finished)
            except Exception as error:  # the call is over either way; losing the record is logged loudly
                log.error("call_record_failed", call_id=request.call_id, error=str(error)[:300])
        if isinstance(session.events, CallEvents):
            session.events.ended(outcome=finished.outcome)
        with contextlib.suppress(Exception):
            await self.replies.end(session.call, finished.outcome)
        if self.http is not None:
            timeout = self.settings.dependency_timeout_seconds
            await notify_finished(self.http, self.settings.profile_analytics_url, request.call_id, timeout)
        if isinstance(session.events, CallEvents):
            session.events.summarised()

    async def presynthesize(self) -> None:
        """Our own lines first, then every template reply conversation-engine may choose."""
        for language in SUPPORTED_LANGUAGES:
            await self.prepared.prepare(lines.own_lines(language), language)
        if not self.settings.tts_presynthesize_templates:
            self.presynthesis_done = True
            return
        pending = list(SUPPORTED_LANGUAGES)
        deadline = asyncio.get_running_loop().time() + TEMPLATE_RETRY_SECONDS
        while pending and asyncio.get_running_loop().time() < deadline:
            for language in list(pending):
                try:
                    templates = await self.replies.templates(language)
                except Exception as error:  # conversation-engine not up yet: retry for a while
                    log.info("templates_unavailable", language=language, error=str(error)[:120])
                    continue
                ready = await self.prepared.prepare(templates, language)
                log.info("templates_presynthesized", language=language, lines=len(templates), ready=ready)
                pending.remove(language)
            if pending:
                await asyncio.sleep(2.0)
        self.presynthesis_done = True
