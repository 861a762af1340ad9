"""Choosing what to say: the slot that fits the turn, then a line the caller has not heard yet.

Deterministic: the same state and seed give the same line (so a dry run and the real turn agree), while the seed
(call id and turn) spreads different calls over different lines.
"""

from __future__ import annotations

import zlib
from collections.abc import Collection
from dataclasses import dataclass

from answer_ninja.calls.reply_lines import CLOSING, HANDLING, LEGITIMATE, STAGED, STALLING, UNCLEAR, Lines
from answer_ninja.calls.vocabulary import EndReason, Intent, Language, Persona, Stage


@dataclass(frozen=True)
class ReplyChoice:
    line_id: str
    text: str


def slot_for(
    *, language: Language, persona: Persona, stage: Stage, intent: Intent, end_reason: EndReason | None
) -> tuple[str, Lines]:
    """The slot name and its lines for this moment of the call."""
    if stage is Stage.CALL_END:
        reason = end_reason or EndReason.GOODBYE
        return f"closing.{reason.value}", CLOSING[language][reason]
    if intent is Intent.LEGITIMATE:
        return "legitimate", LEGITIMATE[language]
    if intent is Intent.UNKNOWN or stage is Stage.INITIAL:
        return "unclear", UNCLEAR[language]
    if persona is Persona.TIME_WASTER:
        return "stalling", STALLING[language]
    if stage is Stage.HANDLING:
        return f"handling.{intent.value}", HANDLING[language][intent]
    return f"{persona.value}.{stage.value}", STAGED[language][persona][stage.value]


def choose_reply(
    *,
    language: Language,
    persona: Persona,
    stage: Stage,
    intent: Intent,
    end_reason: EndReason | None,
    used: Collection[str],
    seed: str,
) -> ReplyChoice:
    """A line for this moment, preferring ones not yet ``used`` in this call."""
    slot, lines = slot_for(language=language, persona=persona, stage=stage, intent=intent, end_reason=end_reason)
    ids = [f"{language.value}:{slot}:{index}" for index in range(len(lines))]
    fresh = [index for index, line_id in enumerate(ids) if line_id not in used] or list(range(len(lines)))
    index = fresh[zlib.crc32(seed.encode()) % len(fresh)]
    return ReplyChoice(ids[index], lines[index])


def all_lines(language: Language) -> list[str]:
    """Every line the engine can say in ``language``, once each (the voice loop pre-synthesises them)."""
    lines: list[str] = []
    lines += [line for by_intent in HANDLING[language].values() for line in by_intent]
    lines += LEGITIMATE[language] + UNCLEAR[language] + STALLING[language]
    lines += [line for by_stage in STAGED[language].values() for group in by_stage.values() for line in group]
    lines += [line for group in CLOSING[language].values() for line in group]
    return list(dict.fromkeys(lines))
