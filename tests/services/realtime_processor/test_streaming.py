"""Committing what is settled: at pauses, and by agreement of consecutive timestamped passes (LocalAgreement-2)."""

from __future__ import annotations

from answer_ninja.services.realtime_processor.streaming import StreamingTranscript
from answer_ninja.speech.base import TimedSegment

SECOND = 32000  # bytes of PCM16 16 kHz


def test_a_pause_commits_the_clause_and_moves_the_tail() -> None:
    stream = StreamingTranscript("zh-CN")
    stream.commit_through(2 * SECOND, "您好，我是平安金融的客户经理，")
    assert stream.tail_start == 2 * SECOND
    assert stream.committed_text == "您好，我是平安金融的客户经理，"
    assert stream.full_text("我们有一款贷款产品。") == "您好，我是平安金融的客户经理，我们有一款贷款产品。"
    stream.commit_through(SECOND, "ignored: behind the tail")
    assert stream.tail_start == 2 * SECOND


def test_english_parts_join_with_spaces() -> None:
    stream = StreamingTranscript("en-US")
    stream.commit_through(SECOND, "Hello there,")
    assert stream.full_text("this is Mike.") == "Hello there, this is Mike."


def test_agreement_commits_only_segments_two_passes_wrote_alike_and_well_before_the_end() -> None:
    stream = StreamingTranscript("zh-CN")
    first = (TimedSegment("您好，我是客户经理。", 2.0), TimedSegment("我们有一款", 3.6))
    assert stream.agree(0, first, heard_seconds=4.0) == 0  # nothing to compare with yet
    second = (TimedSegment("您好，我是客户经理。", 2.0), TimedSegment("我们有一款低息贷款", 4.4))
    committed = stream.agree(0, second, heard_seconds=4.8)
    assert committed == 2 * SECOND
    assert stream.committed == ["您好，我是客户经理。"]
    assert stream.tail_start == 2 * SECOND


def test_a_segment_that_ends_near_the_end_of_the_audio_is_not_settled_yet() -> None:
    stream = StreamingTranscript("zh-CN")
    segments = (TimedSegment("您好。", 3.5),)
    stream.agree(0, segments, heard_seconds=4.0)
    assert stream.agree(0, segments, heard_seconds=4.0) == 0  # within the last second: Whisper may still rewrite it


def test_disagreement_or_a_moved_tail_commits_nothing() -> None:
    stream = StreamingTranscript("zh-CN")
    stream.agree(0, (TimedSegment("您好，我是客户经理。", 2.0),), heard_seconds=5.0)
    assert stream.agree(0, (TimedSegment("您好，我是客户经历。", 2.0),), heard_seconds=5.0) == 0
    stream.commit_through(SECOND, "您好")
    assert stream.agree(0, (TimedSegment("您好，我是客户经历。", 2.0),), heard_seconds=5.0) == 0


def test_long_tails_ask_for_timestamps() -> None:
    stream = StreamingTranscript("zh-CN")
    assert not stream.wants_timestamps(2 * SECOND)
    assert stream.wants_timestamps(4 * SECOND)
    stream.commit_through(3 * SECOND, "...")
    assert not stream.wants_timestamps(4 * SECOND)
