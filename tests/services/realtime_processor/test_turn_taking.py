"""End of turn from the transcript: which texts sound finished, and how much silence each needs."""

from __future__ import annotations

import pytest

from answer_ninja.services.realtime_processor.turn_taking import Completeness, TurnPolicy, completeness


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("您好，请问您是王先生吗？", "zh-CN", Completeness.COMPLETE),
        ("我们现在有一款低息贷款产品。", "zh-CN", Completeness.COMPLETE),
        ("好的，谢谢", "zh-CN", Completeness.COMPLETE),  # a closing phrase without punctuation
        ("您好，我是平安金融的客户经理，", "zh-CN", Completeness.INCOMPLETE),  # Whisper heard the comma
        ("利息很低，而且", "zh-CN", Completeness.INCOMPLETE),  # a conjunction needs what follows
        ("我们现在有一款", "zh-CN", Completeness.INCOMPLETE),
        ("您好我是平安金融的客户经理", "zh-CN", Completeness.UNSURE),
        ("", "zh-CN", Completeness.UNSURE),
        ("I am calling about your car warranty.", "en-US", Completeness.COMPLETE),
        ("Are you the owner of the house?", "en-US", Completeness.COMPLETE),
        ("I am calling about your car warranty,", "en-US", Completeness.INCOMPLETE),
        ("We can offer you a great rate and", "en-US", Completeness.INCOMPLETE),
        ("I am calling about your car warranty", "en-US", Completeness.UNSURE),
        ("okay thanks", "en-US", Completeness.COMPLETE),
        ("This week. Can I book you in?", "en-US", Completeness.COMPLETE),  # a question, whatever its last word
        ("您是说我？", "zh-CN", Completeness.COMPLETE),
        # Only an opener: the caller says it, pauses, then says what they called for.
        ("你好，", "zh-CN", Completeness.INCOMPLETE),
        ("你好", "zh-CN", Completeness.INCOMPLETE),
        ("喂，您好。", "zh-CN", Completeness.INCOMPLETE),
        ("先生你好", "zh-CN", Completeness.INCOMPLETE),
        ("那好吧", "zh-CN", Completeness.INCOMPLETE),
        ("好的谢谢", "zh-CN", Completeness.COMPLETE),
        ("你好我是平安金融的客户经理", "zh-CN", Completeness.UNSURE),  # more than an opener
    ],
)
def test_completeness_of_transcripts(text: str, language: str, expected: Completeness) -> None:
    assert completeness(text, language) is expected


def test_a_finished_sentence_needs_least_silence_and_a_comma_outlasts_a_natural_pause() -> None:
    policy = TurnPolicy()
    finished = policy.silence_needed("您需要贷款吗？", "zh-CN")
    unsure = policy.silence_needed("您需要贷款", "zh-CN")
    unfinished = policy.silence_needed("我们有一款产品，", "zh-CN")
    unknown = policy.silence_needed(None, "zh-CN")
    assert finished < unsure < unknown < unfinished
    assert unfinished > 660  # people pause up to 660 ms at a comma
    assert finished <= 200
    assert policy.longest_ms == max(unfinished, policy.pausing_cap_ms)
    assert policy.ends_turn("您需要贷款吗？", "zh-CN", finished)
    assert not policy.ends_turn("我们有一款产品，", "zh-CN", 660)


def test_fixed_policy_ignores_the_transcript() -> None:
    policy = TurnPolicy(fixed_ms=300)
    for text in ("您需要贷款吗？", "我们有一款产品，", None):
        assert policy.silence_needed(text, "zh-CN") == 300
    assert policy.longest_ms == 300


def test_a_caller_who_pauses_mid_line_gets_their_pause_waited_out_whatever_the_transcript() -> None:
    policy = TurnPolicy()
    for text in ("您需要贷款吗？", "您需要贷款", "我们有一款产品，", None):
        fluent = policy.silence_needed(text, "zh-CN", caller_pause_ms=200)
        assert fluent == policy.silence_needed(text, "zh-CN")  # pauses under 240 ms change nothing
        pausing = policy.silence_needed(text, "zh-CN", caller_pause_ms=560)
        assert pausing >= 560 + policy.pause_margin_ms
    # However long the caller once paused, a turn ends within the cap.
    assert policy.silence_needed("您需要贷款吗？", "zh-CN", caller_pause_ms=3000) == policy.pausing_cap_ms
    assert policy.longest_ms >= policy.pausing_cap_ms
    assert not policy.ends_turn("您需要贷款吗？", "zh-CN", 600, caller_pause_ms=560)
    assert policy.ends_turn("您需要贷款吗？", "zh-CN", 600)


def test_the_fixed_policy_ignores_the_callers_pauses() -> None:
    assert TurnPolicy(fixed_ms=300).silence_needed("您需要贷款", "zh-CN", caller_pause_ms=600) == 300


def test_a_caller_seen_pausing_only_briefly_is_answered_sooner_when_the_transcript_is_unsure() -> None:
    policy = TurnPolicy()
    for text in ("您需要贷款", None):
        unknown = policy.silence_needed(text, "zh-CN")
        fluent = policy.silence_needed(text, "zh-CN", caller_pause_ms=200, caller_seen_pausing=True)
        assert fluent == 200 + policy.pause_margin_ms < unknown
        # A caller whose pauses were all tiny still gets the floor, never less.
        brief = policy.silence_needed(text, "zh-CN", caller_pause_ms=100, caller_seen_pausing=True)
        assert brief == policy.fluent_floor_ms
    # What the transcript says firmly is kept: an unfinished clause still waits, a finished one ends sooner still.
    assert policy.silence_needed("我们有一款产品，", "zh-CN", 200, caller_seen_pausing=True) == policy.incomplete_ms
    assert policy.silence_needed("您需要贷款吗？", "zh-CN", 200, caller_seen_pausing=True) == policy.complete_ms
    # A caller seen pausing long is waited for, whatever else was seen.
    assert policy.silence_needed("您需要贷款", "zh-CN", 560, caller_seen_pausing=True) == 560 + policy.pause_margin_ms
