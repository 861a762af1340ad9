"""Checks on model output before it is spoken: short, in the right language, and safe.

A small model can ignore its prompt; whatever it says is checked here and replaced by the template when it fails.
"""

from __future__ import annotations

import re

from answer_ninja.calls.language import detect_language, is_cjk
from answer_ninja.calls.vocabulary import Language

MAX_CHINESE_CHARACTERS = 20
MAX_ENGLISH_WORDS = 15

# Digits in a row look like a code, card or phone number; a reply never contains one.
_NUMBER_LIKE = re.compile(r"\d[\d\s-]{3,}")
_COMMITMENTS = re.compile(
    r"验证码是|密码是|卡号是|我转|我付|我同意|我愿意购买|我的地址|身份证号|"
    r"\b(my (password|pin|code|card|account|address) is|i('ll| will) (pay|transfer|buy|send)|i agree|sign me up)\b",
    re.IGNORECASE,
)
_SPEAKER_PREFIX = re.compile(r"^\s*(assistant|ai|me|回复|助手)\s*[:：]\s*", re.IGNORECASE)


class UnsafeReplyError(ValueError):
    """The model's reply cannot be spoken; the reason names the rule it broke."""


# Where a spoken sentence ends: Chinese or English end punctuation (a full stop only before a space or the end).
SENTENCE_END = re.compile(r"[。！？!?]|\.(\s|$)")


def first_sentence(text: str) -> str:
    match = SENTENCE_END.search(text)
    return text[: match.end()].strip() if match else text.strip()


def checked_reply(raw: str, language: Language) -> str:
    """The reply to speak, cut to one sentence; raises UnsafeReplyError when it must not be spoken."""
    text = _SPEAKER_PREFIX.sub("", raw.strip().strip('"“”').strip())
    text = first_sentence(text.splitlines()[0] if text else "")
    if not text:
        raise UnsafeReplyError("empty")
    if _NUMBER_LIKE.search(text):
        raise UnsafeReplyError("number_like")
    if _COMMITMENTS.search(text):
        raise UnsafeReplyError("commitment")
    if detect_language(text, default=language) is not language:
        raise UnsafeReplyError("wrong_language")
    if language is Language.ZH_CN and sum(1 for char in text if is_cjk(char)) >= MAX_CHINESE_CHARACTERS:
        raise UnsafeReplyError("too_long")
    if language is Language.EN_US and len(text.split()) >= MAX_ENGLISH_WORDS:
        raise UnsafeReplyError("too_long")
    return text
