from __future__ import annotations

import pytest

from answer_ninja.calls.language import detect_language
from answer_ninja.calls.vocabulary import Language


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("您好，请问是王先生吗", Language.ZH_CN),
        ("Hello, is this Mr Wang?", Language.EN_US),
        ("您好我是XX健身房的，年卡五折", Language.ZH_CN),  # brand names in Latin letters
        ("办个5G套餐吧 iPhone 免费送", Language.ZH_CN),
        ("hi 你好", Language.ZH_CN),
        ("okay so the WiFi 套餐 plan is cheap today friend", Language.EN_US),
    ],
)
def test_detects_the_two_supported_languages(text: str, expected: Language) -> None:
    assert detect_language(text) is expected


def test_text_without_letters_gets_the_default() -> None:
    assert detect_language("123 ...") is Language.ZH_CN
    assert detect_language("123", default=Language.EN_US) is Language.EN_US
