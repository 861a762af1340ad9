"""What a reply generator is given and must return. The template line is always there as the fallback."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

from answer_ninja.calls.vocabulary import Intent, Language, Persona, Stage

Role = Literal["caller", "assistant"]
ReplySource = Literal["template", "llm"]


@dataclass(frozen=True)
class ReplyContext:
    language: Language
    persona: Persona
    intent: Intent
    stage: Stage
    caller_text: str
    template_reply: str
    # The last few turns, oldest first: (who, what was said).
    history: tuple[tuple[Role, str], ...] = field(default_factory=tuple)


class ReplyGenerator(Protocol):
    """A source of reply text other than the templates (an LLM)."""

    name: str

    async def generate(self, context: ReplyContext, *, timeout: float) -> str: ...

    async def probe(self, timeout: float) -> None:
        """Raise when the generator cannot answer (used by /ready as a soft check)."""
        ...

    async def close(self) -> None: ...
