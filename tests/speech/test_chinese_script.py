from __future__ import annotations

from answer_ninja.speech.chinese_script import to_simplified


def test_traditional_transcripts_become_simplified() -> None:
    # What Whisper base wrote for espeak's Mandarin loan pitch, and a bank name in traditional script.
    assert to_simplified("您撐得不靠一下嗎? 平安銀行貸款") == "您撑得不靠一下吗? 平安银行贷款"


def test_simplified_and_other_text_is_left_alone() -> None:
    for text in ("您好，我想问一下贷款的事情。", "hello, is this about my loan?", ""):
        assert to_simplified(text) == text
