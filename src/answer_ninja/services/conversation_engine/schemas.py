"""Request and response bodies of the conversation-engine API (the contract the voice loop codes against)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, field_validator

from answer_ninja.calls.vocabulary import Intent, Language, Persona, Stage

CALL_ID_PATTERN = r"^[A-Za-z0-9._:-]{1,128}$"


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must contain words, not only spaces")
    return value


class ManageRequest(BaseModel):
    call_id: str = Field(pattern=CALL_ID_PATTERN, description="The call this turn belongs to")
    text: str = Field(min_length=1, max_length=2000, description="What the caller said (ASR transcript)")
    language: Language | None = Field(default=None, description="zh-CN or en-US; detected when absent")
    persona: Persona | None = Field(default=None, description="Reply style; CONVERSATION_DEFAULT_PERSONA if absent")
    caller: str | None = Field(default=None, max_length=64, description="Caller number or id, kept with the state")
    dry_run: bool = Field(default=False, description="Compute the reply without saving the turn")

    _text_not_blank = field_validator("text")(_not_blank)


class ManageResponse(BaseModel):
    reply: str
    intent: Intent
    confidence: float
    stage: Stage
    should_terminate: bool
    reason: str
    turn: int
    latency_ms: float
    language: Language
    persona: Persona
    reply_source: str
    fallback_reason: str | None = None
    dry_run: bool = False


class EndRequest(BaseModel):
    outcome: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^[a-z][a-z0-9_]*$",
        description="How the call ended, e.g. caller_hung_up, completed, transferred",
    )


class ClassifyRequest(BaseModel):
    text: str = Field(min_length=1, max_length=2000)
    language: Language | None = None

    _text_not_blank = field_validator("text")(_not_blank)


class ClassifyResponse(BaseModel):
    intent: Intent
    confidence: float
    language: Language
    evidence: list[str]
    method: str = Field(description="patterns (a word named the intent), ngram (the model decided) or none")


class TemplatesResponse(BaseModel):
    language: Language
    replies: list[str]


ConversationRecord = dict[str, Any]
