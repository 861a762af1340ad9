"""How far a transcript is from what was said: word error rate (English), character error rate (Mandarin)."""

from __future__ import annotations

import re

_DIGITS = str.maketrans("0123456789", "零一二三四五六七八九")


def units(text: str, language: str) -> list[str]:
    """Words (English) or characters (Mandarin), without punctuation or case; numbers as Chinese numerals."""
    if language.startswith("zh"):
        return [char for char in spell_numbers(text) if char.isalnum()]
    return re.findall(r"[a-z0-9']+", text.lower())


def spell_numbers(text: str) -> str:
    """Whisper writes "50万" for "五十万": numbers become Chinese numerals before characters are counted."""
    try:
        import cn2an  # dev extra: only the benchmarks and tests score transcripts

        return str(cn2an.transform(text, "an2cn"))
    except (ImportError, ValueError):
        return text.translate(_DIGITS)


def edit_distance(reference: list[str], hypothesis: list[str]) -> int:
    previous = list(range(len(hypothesis) + 1))
    for i, ref in enumerate(reference, 1):
        current = [i]
        for j, hyp in enumerate(hypothesis, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref != hyp)))
        previous = current
    return previous[-1]


def error_rate(reference: str, heard: str, language: str) -> float:
    expected = units(reference, language)
    return edit_distance(expected, units(heard, language)) / max(1, len(expected))
