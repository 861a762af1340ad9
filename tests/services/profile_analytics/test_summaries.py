from __future__ import annotations

from answer_ninja.services.profile_analytics.summaries import Line, lines_from_transcript, summarise

TRANSCRIPT = [
    {"turn": 0, "speaker": "caller", "text": "喂，您好"},
    {"turn": 0, "speaker": "ai", "text": "您好，请问有什么事？"},
    {"turn": 1, "speaker": "caller", "text": "我们有一个低息贷款", "intent": "loan"},
    {"turn": 1, "speaker": "ai", "text": "不需要，谢谢"},
    {"turn": 2, "speaker": "caller", "text": "真的很划算"},
    {"turn": 2, "speaker": "ai", "text": "再见"},
    {"speaker": "caller", "text": "   "},
    "garbage",
]


def test_summary_picks_opening_intent_line_and_last_exchange() -> None:
    lines = lines_from_transcript(TRANSCRIPT)
    summary = summarise(record_intent=None, outcome="ai_hung_up", decision="ai", duration_seconds=41.26, lines=lines)
    assert summary["intent"] == "loan"
    assert summary["turns"] == 3
    assert summary["outcome"] == "ai_hung_up"
    assert summary["duration_seconds"] == 41.3
    assert [line["text"] for line in summary["key_lines"]] == ["喂，您好", "我们有一个低息贷款", "真的很划算", "再见"]


def test_record_intent_wins_and_empty_calls_summarise() -> None:
    lines = [Line("caller", "hello", "sales")]
    assert (
        summarise(record_intent="scam", outcome=None, decision="ai", duration_seconds=None, lines=lines)["intent"]
        == "scam"
    )
    empty = summarise(record_intent=None, outcome=None, decision="reject", duration_seconds=None, lines=[])
    assert empty == {"intent": "unknown", "turns": 0, "outcome": "reject", "duration_seconds": 0.0, "key_lines": []}
