"""What a caller's turn says about the conversation itself: pushing on, losing patience, saying goodbye.

These move the dialogue (``dialogue.next_stage``) and the termination policy, whatever the intent is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from answer_ninja.calls.intents import normalise
from answer_ninja.calls.vocabulary import Language

_PATTERNS: dict[Language, dict[str, re.Pattern[str]]] = {
    Language.ZH_CN: {
        "persistence": re.compile(
            r"但是|可是|不过|真的|机会|听我说|再考虑|考虑一下|就一分钟|耽误.{0,4}(一|两)?分钟|很划算|错过|别挂|先别|了解一下"
        ),
        "frustration": re.compile(
            r"烦|滚|骗子|有病|神经病|闭嘴|搞什么|什么态度|浪费.{0,2}时间|去死|妈的|靠|耍我|到底(在|要|想)|快点"
        ),
        "goodbye": re.compile(r"再见|拜拜|不打扰了|挂了|先这样|打扰了再见|好的再见|88"),
    },
    Language.EN_US: {
        "persistence": re.compile(
            r"\bbut\b|\breally\b|opportunity|just (one|a) (minute|second)|hear me out|don'?t hang up|"
            r"reconsider|limited time|won'?t regret|last chance|listen"
        ),
        "frustration": re.compile(
            r"stupid|idiot|shut up|waste of (my )?time|ridiculous|damn|hell|annoying|rude|scammer|bot\b|robot"
        ),
        "goodbye": re.compile(r"\b(good ?bye|bye|see you|have a (nice|good) day|never ?mind|sorry to bother)\b"),
    },
}


@dataclass(frozen=True)
class Cues:
    persistence: bool = False
    frustration: bool = False
    goodbye: bool = False


def read_cues(text: str, language: Language) -> Cues:
    normalised = normalise(text, language)
    patterns = _PATTERNS[language]
    return Cues(
        persistence=bool(patterns["persistence"].search(normalised)),
        frustration=bool(patterns["frustration"].search(normalised)),
        goodbye=bool(patterns["goodbye"].search(normalised)),
    )
