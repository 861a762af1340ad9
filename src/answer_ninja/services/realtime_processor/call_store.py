"""The call record: transcript, per-turn stage timings and outcome, written into the shared tables at the end."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import delete, select

from answer_ninja.platform.db.engine import Database
from answer_ninja.platform.db.models import CallRecord, ConversationTurn
from answer_ninja.platform.logging import get_logger
from answer_ninja.services.realtime_processor.session import Turn

log = get_logger(__name__)


@dataclass(frozen=True)
class FinishedCall:
    call_id: str
    carrier: str
    carrier_call_id: str
    user_id: str | None
    caller: str
    dialled: str
    started_at: datetime
    ended_at: datetime
    outcome: str
    turns: list[Turn]

    @property
    def duration_seconds(self) -> float:
        return (self.ended_at - self.started_at).total_seconds()

    def transcript(self) -> list[dict[str, Any]]:
        lines: list[dict[str, Any]] = []
        for turn in self.turns:
            if turn.caller_text:
                lines.append({"turn": turn.index, "speaker": "caller", "text": turn.caller_text})
            if turn.ai_text:
                # What the caller actually heard (cut short by a barge-in), with the full line kept beside it.
                entry: dict[str, Any] = {"turn": turn.index, "speaker": "ai", "text": turn.spoken_text}
                if turn.interrupted:
                    entry.update(interrupted=True, planned=turn.ai_text)
                lines.append(entry)
        return lines

    def turn_timings(self) -> list[dict[str, Any]]:
        return [
            {"turn": turn.index, "kind": turn.kind, "speculative": turn.speculative, "intent": turn.intent,
             **{key: round(value, 2) for key, value in turn.timings_ms.items()}}
            for turn in self.turns
        ]  # fmt: skip


async def save_call(database: Database, call: FinishedCall) -> None:
    """Update the record phone-gateway created (or create one, carrier as given) and replace its turns."""
    async with database.session() as session:
        record = await session.get(CallRecord, call.call_id)
        if record is None:
            record = CallRecord(
                id=call.call_id,
                carrier=call.carrier,
                carrier_call_id=call.carrier_call_id,
                caller_number=call.caller,
                dialled_number=call.dialled,
                user_id=call.user_id,
                decision="ai",
                started_at=call.started_at,
            )
            session.add(record)
        record.status = "completed"
        if not (record.outcome or "").startswith("fallback_"):  # phone-gateway sent the caller on to the fallback
            record.outcome = call.outcome
        record.answered_at = record.answered_at or call.started_at
        record.ended_at = call.ended_at
        record.duration_seconds = round(call.duration_seconds, 3)
        record.transcript = call.transcript()
        record.turn_timings = call.turn_timings()
        intents = [turn.intent for turn in call.turns if turn.intent and turn.intent != "unknown"]
        if intents:
            record.intent = intents[-1][:24]
        await session.flush()
        await session.execute(delete(ConversationTurn).where(ConversationTurn.call_id == call.call_id))
        for turn in call.turns:
            if turn.caller_text:
                session.add(ConversationTurn(call_id=call.call_id, turn_index=turn.index, speaker="caller",
                                             text=turn.caller_text, timings_ms={}))  # fmt: skip
            if turn.ai_text:
                session.add(
                    ConversationTurn(
                        call_id=call.call_id,
                        turn_index=turn.index,
                        speaker="ai",
                        text=turn.spoken_text,
                        intent=(turn.intent or None) and turn.intent[:24],
                        stage=(turn.stage or None) and turn.stage[:24],
                        timings_ms={key: round(value, 2) for key, value in turn.timings_ms.items()},
                        interrupted=turn.interrupted,
                    )
                )
        await session.commit()


async def load_call(database: Database, call_id: str) -> CallRecord | None:
    async with database.session() as session:
        return await session.get(CallRecord, call_id)


async def load_turns(database: Database, call_id: str) -> list[ConversationTurn]:
    async with database.session() as session:
        result = await session.execute(
            select(ConversationTurn).where(ConversationTurn.call_id == call_id).order_by(ConversationTurn.turn_index)
        )
        return list(result.scalars())


async def notify_finished(http: httpx.AsyncClient, analytics_url: str, call_id: str, timeout: float) -> None:
    """Best effort: profile-analytics learns from the call; a failure is logged, never raised."""
    try:
        response = await http.post(f"{analytics_url}/internal/v1/calls/{call_id}/finished", json={}, timeout=timeout)
        response.raise_for_status()
    except httpx.HTTPError as error:
        log.warning("analytics_notify_failed", call_id=call_id, error=str(error)[:200])
