"""Which of the two supported languages an utterance is in.

Only zh-CN and en-US are supported, so a script count is enough: a language-identification model would spend
milliseconds telling apart languages we never answer in. ASR output for Mandarin often carries Latin tokens
("XX健身房", "5G", "QQ"), so one CJK character in three letters already means Mandarin.
"""

from __future__ import annotations

from answer_ninja.calls.vocabulary import Language

# Mandarin when at least this share of the letters are CJK ideographs (brand names and digits stay Latin).
CJK_SHARE_FOR_MANDARIN = 0.25


def is_cjk(char: str) -> bool:
    code = ord(char)
    return 0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0xF900 <= code <= 0xFAFF


def detect_language(text: str, *, default: Language = Language.ZH_CN) -> Language:
    """zh-CN or en-US for ``text``; ``default`` (Mandarin first) when there are no letters at all."""
    cjk = sum(1 for char in text if is_cjk(char))
    latin = sum(1 for char in text if char.isascii() and char.isalpha())
    if cjk == 0 and latin == 0:
        return default
    # A Latin word counts roughly as one CJK character, so compare characters with words.
    latin_words = sum(1 for word in text.split() if any(c.isascii() and c.isalpha() for c in word))
    return Language.ZH_CN if cjk / (cjk + latin_words) >= CJK_SHARE_FOR_MANDARIN else Language.EN_US
