"""One turn of a call, end to end: load state, understand, move the dialogue, choose the reply, save.

The engine is the only place that touches both the pure call domain and the cache; routes stay thin.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any, TypeVar

from redis.exceptions import RedisError

from answer_ninja.calls.cues import read_cues
from answer_ninja.calls.dialogue import DialogueState, TurnOutcome, hang_up, take_turn
from answer_ninja.calls.language import detect_language
from answer_ninja.calls.replies import choose_reply
from answer_ninja.calls.termination import TerminationPolicy
from answer_ninja.calls.vocabulary import EndReason, Persona
from answer_ninja.llm.base import ReplyContext, Role
from answer_ninja.llm.fallback import ReplyOutcome, ReplyPlanner
from answer_ninja.services.conversation_engine import metrics
from answer_ninja.services.conversation_engine.schemas import ManageRequest, ManageResponse
from answer_ninja.services.conversation_engine.state import (
    ConversationStore,
    dialogue_from_json,
    dialogue_to_json,
    prepared_key,
)
from answer_ninja.services.conversation_engine.understanding import understand

# History kept per call in the state record (the LLM sees fewer; see llm.prompt.HISTORY_TURNS).
MAX_HISTORY_ENTRIES = 60
# A turn's state read or write may take this long; beyond it (or with the cache down) the turn goes on without
# its state rather than leave the caller in silence: the budget for the whole turn is 200 ms.
STATE_TIMEOUT_SECONDS = 0.1
STATE_ERRORS = (RedisError, OSError, TimeoutError)

T = TypeVar("T")
# Told None when the state store works, or why it does not.
StateHealthListener = Callable[[str | None], None]


class CallNotFoundError(LookupError):
    pass


class ConversationEngine:
    def __init__(
        self,
        *,
        store: ConversationStore,
        planner: ReplyPlanner,
        policy: TerminationPolicy,
        default_persona: Persona,
        clock: Callable[[], float] = time.time,
        on_state_health: StateHealthListener | None = None,
    ) -> None:
        self.store = store
        self.planner = planner
        self._on_state_health = on_state_health
        # Dry runs still waiting for the LLM, by prepared-reply key: the real turn that arrives meanwhile waits
        # for that answer (within its own budget) instead of asking the LLM a second time.
        self._preparing: dict[str, asyncio.Task[ReplyOutcome]] = {}
        self.policy = policy
        self.default_persona = default_persona
        self.clock = clock

    def _new_record(self, request: ManageRequest, now: float) -> dict[str, Any]:
        state = DialogueState(
            language=request.language or detect_language(request.text),
            persona=request.persona or self.default_persona,
            started_at=now,
        )
        return {
            "call_id": request.call_id,
            "caller": request.caller,
            "dialogue": dialogue_to_json(state),
            "used_replies": [],
            "history": [],
            "outcome": None,
            "ended_at": None,
        }

    async def manage(self, request: ManageRequest) -> ManageResponse:
        started = time.perf_counter()
        now = self.clock()
        record = await self._tolerant(self.store.load(request.call_id), None) or self._new_record(request, now)
        state = dialogue_from_json(record["dialogue"])
        # The voice loop may switch persona or language mid-call (the caller changed language, the user asked).
        state = replace(state, persona=request.persona or state.persona, language=request.language or state.language)
        heard = understand(request.text, state.language)
        outcome = take_turn(state, heard, read_cues(request.text, state.language), now=now, policy=self.policy)
        new_state = outcome.state
        choice = choose_reply(
            language=new_state.language,
            persona=new_state.persona,
            stage=new_state.stage,
            intent=new_state.intent,
            end_reason=new_state.end_reason,
            used=record["used_replies"],
            seed=f"{request.call_id}:{new_state.turn}",
        )
        key = prepared_key(request.call_id, new_state.turn, request.text, new_state.persona, new_state.language)
        reply = await self._reply(record, new_state, request, choice.text, key)
        if not request.dry_run and not state.ended:
            await self._save_turn(record, new_state, request, choice.line_id, reply, heard.intent.value, now)
            if self.planner.uses_llm:
                await self._tolerant(self.store.forget_prepared(key), None)
        latency_ms = (time.perf_counter() - started) * 1000
        self._observe(outcome, reply, latency_ms, request.dry_run or state.ended)
        return ManageResponse(
            reply=reply.text,
            intent=new_state.intent,
            confidence=new_state.confidence,
            stage=new_state.stage,
            should_terminate=outcome.should_terminate,
            reason=outcome.reason,
            turn=new_state.turn,
            latency_ms=round(latency_ms, 3),
            language=new_state.language,
            persona=new_state.persona,
            reply_source=reply.source,
            fallback_reason=reply.fallback_reason,
            dry_run=request.dry_run,
        )

    async def _reply(
        self, record: dict[str, Any], state: DialogueState, request: ManageRequest, template: str, key: str
    ) -> ReplyOutcome:
        """The reply a dry run prepared for exactly this turn, else a new one (LLM or template)."""
        if not self.planner.uses_llm:
            return await self.planner.reply(self._context(record, state, request, template))
        prepared = await self._tolerant(self.store.load_prepared(key), None)
        if prepared is not None:
            return ReplyOutcome(**prepared)
        in_flight = self._preparing.get(key)
        if request.dry_run:
            if in_flight is None:
                in_flight = asyncio.create_task(self._prepare(self._context(record, state, request, template), key))
                self._preparing[key] = in_flight
                in_flight.add_done_callback(lambda _: self._preparing.pop(key, None))
            # Shielded: a dry-run request the voice loop gives up on still leaves its reply for the real turn.
            return await asyncio.shield(in_flight)
        if in_flight is not None:
            try:
                async with asyncio.timeout(self.planner.timeout_seconds):
                    return await asyncio.shield(in_flight)
            except TimeoutError:
                return ReplyOutcome(template, "template", "timeout")
        return await self.planner.reply(self._context(record, state, request, template))

    async def _prepare(self, context: ReplyContext, key: str) -> ReplyOutcome:
        reply = await self.planner.reply(context, preparing=True)
        await self._tolerant(self.store.save_prepared(key, reply.__dict__), None)
        return reply

    @staticmethod
    def _context(record: dict[str, Any], state: DialogueState, request: ManageRequest, template: str) -> ReplyContext:
        history: tuple[tuple[Role, str], ...] = tuple(
            ("caller" if entry["role"] == "caller" else "assistant", entry["text"]) for entry in record["history"]
        )
        return ReplyContext(
            language=state.language,
            persona=state.persona,
            intent=state.intent,
            stage=state.stage,
            caller_text=request.text,
            template_reply=template,
            history=history,
        )

    async def _save_turn(
        self,
        record: dict[str, Any],
        state: DialogueState,
        request: ManageRequest,
        line_id: str,
        reply: ReplyOutcome,
        heard_intent: str,
        now: float,
    ) -> None:
        record["dialogue"] = dialogue_to_json(state)
        record["caller"] = record.get("caller") or request.caller
        record["used_replies"] = [*record["used_replies"], line_id]
        record["history"] = [
            *record["history"],
            {"turn": state.turn, "role": "caller", "text": request.text, "intent": heard_intent, "at": now},
            {
                "turn": state.turn,
                "role": "assistant",
                "text": reply.text,
                "stage": state.stage.value,
                "source": reply.source,
                "at": now,
            },
        ][-MAX_HISTORY_ENTRIES:]
        if state.ended:
            record["ended_at"] = now
            record["outcome"] = record.get("outcome") or "ai_ended"
        await self._tolerant(self.store.save(record), None)

    async def _tolerant(self, operation: Awaitable[T], default: T) -> T:
        """``operation`` on the state store within STATE_TIMEOUT_SECONDS, or ``default`` when the store fails."""
        try:
            async with asyncio.timeout(STATE_TIMEOUT_SECONDS):
                result = await operation
        except STATE_ERRORS as error:
            metrics.STATE_ERRORS.inc()
            if self._on_state_health is not None:
                self._on_state_health(f"conversation state store failing, turns go on without it: {error!r}"[:300])
            return default
        if self._on_state_health is not None:
            self._on_state_health(None)
        return result

    def _observe(self, outcome: TurnOutcome, reply: ReplyOutcome, latency_ms: float, not_a_turn: bool) -> None:
        metrics.TURN_LATENCY.labels(reply.source).observe(latency_ms / 1000)
        if not_a_turn:
            return
        metrics.TURNS.labels(outcome.state.intent.value, outcome.state.stage.value).inc()
        fallback = (reply.fallback_reason or "none").split(":", 1)[0]
        metrics.REPLIES.labels(reply.source, fallback).inc()
        if outcome.should_terminate and outcome.state.end_reason is not None:
            metrics.ENDS.labels(outcome.state.end_reason.value).inc()

    async def get(self, call_id: str) -> dict[str, Any]:
        record = await self.store.load(call_id)
        if record is None:
            raise CallNotFoundError(call_id)
        return record

    async def end(self, call_id: str, outcome: str) -> dict[str, Any]:
        """Close a call from outside a turn; idempotent (a second end keeps the first outcome)."""
        record = await self.get(call_id)
        state = dialogue_from_json(record["dialogue"])
        if not state.ended:
            hung_up = outcome == EndReason.CALLER_HUNG_UP.value
            reason = EndReason.CALLER_HUNG_UP if hung_up else EndReason.ENDED_EXTERNALLY
            record["dialogue"] = dialogue_to_json(hang_up(state, reason))
            record["ended_at"] = self.clock()
            metrics.ENDS.labels(reason.value).inc()
        if record.get("outcome") in (None, "ai_ended"):
            record["outcome"] = outcome
        await self.store.save(record)
        return record
