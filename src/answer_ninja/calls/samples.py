"""The line a person hears in Settings for each persona: what that persona really says first to an unwanted caller."""

from __future__ import annotations

from answer_ninja.calls.reply_lines import STAGED
from answer_ninja.calls.vocabulary import Language, Persona


def persona_sample(persona: str, language: str) -> str:
    """ValueError for an unknown persona or language."""
    return STAGED[Language(language)][Persona(persona)]["polite_decline"][0]
