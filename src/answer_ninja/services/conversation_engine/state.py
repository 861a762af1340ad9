"""Conversation state per call in the cache (Redis when REDIS_URL is set), refreshed with a TTL on every save."""

from __future__ import annotations

import hashlib
from dataclasses import asdict
from typing import Any

from answer_ninja.calls.dialogue import DialogueState
from answer_ninja.calls.vocabulary import EndReason, Intent, Language, Persona, Stage
from answer_ninja.platform.cache import Cache

STATE_PREFIX = "conversation:state:"
PREPARED_PREFIX = "conversation:prepared:"
# A reply prepared by a dry run waits this long for its real turn (the caller is still talking meanwhile).
PREPARED_TTL_SECONDS = 60.0


def dialogue_to_json(state: DialogueState) -> dict[str, Any]:
    data = asdict(state)
    return {key: (value.value if hasattr(value, "value") else value) for key, value in data.items()}


def dialogue_from_json(data: dict[str, Any]) -> DialogueState:
    end_reason = data.get("end_reason")
    return DialogueState(
        language=Language(data["language"]),
        persona=Persona(data["persona"]),
        started_at=float(data["started_at"]),
        turn=int(data["turn"]),
        stage=Stage(data["stage"]),
        intent=Intent(data["intent"]),
        confidence=float(data["confidence"]),
        persistence=int(data["persistence"]),
        frustration=int(data["frustration"]),
        end_reason=EndReason(end_reason) if end_reason else None,
    )


def prepared_key(call_id: str, turn: int, text: str, persona: Persona, language: Language) -> str:
    """Where a dry run leaves its reply for the real turn with the same text, persona and language."""
    digest = hashlib.sha256(f"{persona.value}|{language.value}|{text}".encode()).hexdigest()[:16]
    return f"{PREPARED_PREFIX}{call_id}:{turn}:{digest}"


class ConversationStore:
    """Records are JSON: the dialogue state, the lines already used, the history and the outcome."""

    def __init__(self, cache: Cache, *, ttl_seconds: float) -> None:
        self.cache = cache
        self.ttl_seconds = ttl_seconds

    async def load(self, call_id: str) -> dict[str, Any] | None:
        record: dict[str, Any] | None = await self.cache.get_json(STATE_PREFIX + call_id)
        return record

    async def save(self, record: dict[str, Any]) -> None:
        await self.cache.set_json(STATE_PREFIX + record["call_id"], record, ttl_seconds=self.ttl_seconds)

    async def load_prepared(self, key: str) -> dict[str, Any] | None:
        prepared: dict[str, Any] | None = await self.cache.get_json(key)
        return prepared

    async def save_prepared(self, key: str, prepared: dict[str, Any]) -> None:
        await self.cache.set_json(key, prepared, ttl_seconds=PREPARED_TTL_SECONDS)

    async def forget_prepared(self, key: str) -> None:
        await self.cache.delete(key)
