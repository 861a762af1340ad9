"""Model output is checked before it is spoken."""

from __future__ import annotations

import pytest

from answer_ninja.calls.vocabulary import Language
from answer_ninja.llm.safety import UnsafeReplyError, checked_reply


@pytest.mark.parametrize(
    ("raw", "language", "expected"),
    [
        (
            "  Assistant: No thanks, I'm not interested. Have a nice day.",
            Language.EN_US,
            "No thanks, I'm not interested.",
        ),
        ('"不用了，谢谢。我很忙。"', Language.ZH_CN, "不用了，谢谢。"),
        ("Not today.\nSecond line", Language.EN_US, "Not today."),
    ],
)
def test_keeps_the_first_sentence_without_speaker_labels(raw: str, language: Language, expected: str) -> None:
    assert checked_reply(raw, language) == expected


@pytest.mark.parametrize(
    ("raw", "language", "rule"),
    [
        ("", Language.EN_US, "empty"),
        ("Sure, the code is 4 8 1 5 9 2.", Language.EN_US, "number_like"),
        ("OK, I'll pay the fee now.", Language.EN_US, "commitment"),
        ("好的，验证码是多少我告诉你", Language.ZH_CN, "commitment"),
        ("I am not interested in that at all.", Language.ZH_CN, "wrong_language"),
        ("谢谢您的来电但是我现在真的没有任何需要请您以后不要再打这个电话了", Language.ZH_CN, "too_long"),
        (
            "Well I think that you should know that I am really not interested in this thing at all",
            Language.EN_US,
            "too_long",
        ),
    ],
)
def test_refuses_what_must_not_be_spoken(raw: str, language: Language, rule: str) -> None:
    with pytest.raises(UnsafeReplyError, match=rule):
        checked_reply(raw, language)
