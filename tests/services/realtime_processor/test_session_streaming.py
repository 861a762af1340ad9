"""Streaming passes and the transcript's end of turn, on a clause-hearing stand-in and a virtual clock."""

from __future__ import annotations

import asyncio

import pytest

from answer_ninja.services.realtime_processor.replies import KeywordReplyStandIn
from answer_ninja.services.realtime_processor.session import FIXED_TURN_POLICY, CallSession, SessionConfig, Turn
from answer_ninja.speech.base import TailTranscript
from tests.services.realtime_processor.fakes import Caller, ClauseSpeechToText, RecordingOutput, make_session

OPENING = "您好，我是平安金融的客户经理，"
OFFER = "我们现在有一款低息贷款产品，"
CLOSE = "最高可以贷五十万。"
QUESTION = "您需要贷款吗？"


def _streaming_session(
    clauses: list[str], config: SessionConfig | None = None
) -> tuple[CallSession, Caller, KeywordReplyStandIn, RecordingOutput, ClauseSpeechToText]:
    session, caller, replies, output = make_session([], language="zh-CN", config=config)
    stt = ClauseSpeechToText(clauses)
    session.stt = stt
    session.streaming = session.config.streaming
    return session, caller, replies, output, stt


def _replies(session: CallSession) -> list[Turn]:
    return [turn for turn in session.turns if turn.kind == "reply"]


async def test_a_long_pitch_is_heard_whole_and_the_last_pass_reads_only_its_tail() -> None:
    session, caller, replies, _, stt = _streaming_session([OPENING, OFFER, CLOSE])
    await session.start()
    caller.play_out()
    for clause, seconds in ((OPENING, 3.0), (OFFER, 3.0)):
        await caller.say(clause, seconds)
        await caller.silence(0.3)  # a comma pause: Whisper wrote a comma, so the turn waits
    await caller.say(CLOSE, 3.0)
    await caller.silence(0.6)
    (turn,) = _replies(session)
    assert turn.caller_text == OPENING + OFFER + CLOSE
    assert not turn.speculative
    # 9.6 s of speech, but the pass after the last voiced frame read only the last clause (and the pause before it).
    assert stt.reads[-1] < 4 * 32000
    assert stt.prompts[-1] == OPENING + OFFER  # told what was said before the tail
    assert [text for _, text, dry in replies.requests if not dry] == [OPENING + OFFER + CLOSE]


async def test_a_natural_pause_at_a_comma_is_not_an_end_of_turn() -> None:
    session, caller, _, output, _ = _streaming_session([OPENING, QUESTION])
    await session.start()
    caller.play_out()
    await caller.say(OPENING, 2.0)
    await caller.silence(0.66)  # the longest pause people make at a comma
    assert _replies(session) == []
    await caller.say(QUESTION, 1.5)
    await caller.silence(0.4)
    # A caller who pauses 660 ms mid-line gets that pause waited out even after a finished question.
    assert _replies(session) == []
    await caller.silence(0.5)
    (turn,) = _replies(session)
    assert turn.caller_text == OPENING + QUESTION
    assert turn.timings_ms["endpointing"] == pytest.approx(660 + session.policy.pause_margin_ms, abs=1)
    assert output.clears == 0


async def test_a_fluent_caller_gets_a_finished_question_answered_at_once() -> None:
    session, caller, _, output, _ = _streaming_session([OPENING, QUESTION])
    await session.start()
    caller.play_out()
    await caller.say(OPENING, 2.0)
    await caller.silence(0.2)  # a fluent comma
    await caller.say(QUESTION, 1.5)
    await caller.silence(0.4)
    (turn,) = _replies(session)
    assert turn.caller_text == OPENING + QUESTION
    # A finished question ends the turn as soon as the pass at the pause has heard it.
    assert turn.timings_ms["endpointing"] <= session.policy.complete_ms + 40
    assert output.clears == 0


async def test_a_caller_who_goes_on_right_after_the_loop_answered_is_taken_for_a_pausing_one() -> None:
    session, caller, _, _, _ = _streaming_session(["我们有一款产品。", QUESTION])
    await session.start()
    caller.play_out()
    await caller.say("我们有一款产品。", 2.0)
    await caller.silence(0.5)  # Whisper read a finished sentence: the loop answered
    assert len(_replies(session)) == 1
    await caller.say(QUESTION, 1.5)  # the caller had only paused, and goes on over the reply
    assert session._caller_pause_ms == pytest.approx(500, abs=40)
    await caller.silence(0.5)
    assert len(_replies(session)) == 1  # the pause this caller makes is now waited out
    await caller.silence(0.2)
    assert len(_replies(session)) == 2


async def test_the_old_fixed_rule_answers_at_the_comma() -> None:
    config = SessionConfig(turn_policy=FIXED_TURN_POLICY, streaming=False)
    session, caller, _, _, _ = _streaming_session([OPENING, QUESTION], config=config)
    await session.start()
    caller.play_out()
    await caller.say(OPENING, 2.0)
    await caller.silence(0.5)
    assert [turn.caller_text for turn in _replies(session)] == [OPENING]  # talked over a caller who only paused


async def test_talking_over_the_greeting_is_answered_like_any_turn() -> None:
    session, caller, _, output, stt = _streaming_session([QUESTION])
    await session.start()
    assert session.ai_speaking  # the greeting is playing, its marks not back yet
    await caller.say(QUESTION, 1.5)
    assert output.clears == 1  # the caller cut the greeting off
    reads_before = len(stt.reads)
    await caller.silence(0.4)
    (turn,) = _replies(session)
    assert turn.caller_text == QUESTION
    assert not turn.speculative
    assert turn.timings_ms["stt"] == 0  # the transcript was ready at the end of the turn: no pass after it
    assert len(stt.reads) - reads_before <= 1


class _FirstPassHeld(ClauseSpeechToText):
    """The first pass hangs until released (a slow pass on a busy machine); the others answer at once."""

    def __init__(self, clauses: list[str]) -> None:
        super().__init__(clauses)
        self.release = asyncio.Event()
        self.passes = 0

    async def transcribe_tail(
        self, pcm: bytes, language: str, *, prompt: str = "", timestamps: bool = False
    ) -> TailTranscript:
        self.passes += 1
        if self.passes == 1:
            await self.release.wait()
        return await super().transcribe_tail(pcm, language, prompt=prompt, timestamps=timestamps)


async def test_the_pass_at_the_pause_does_not_queue_behind_one_made_while_the_caller_spoke() -> None:
    session, caller, _, _, _ = _streaming_session([QUESTION])
    stt = session.stt = _FirstPassHeld([QUESTION])
    await session.start()
    caller.play_out()
    await caller.say(QUESTION, 4.0)  # a tail over 3 s: passes while the caller speaks, for agreement
    assert stt.passes == 1  # still running
    await caller.silence(0.4)
    (turn,) = _replies(session)  # answered from the pass at the pause, the other still running
    assert turn.caller_text == QUESTION
    assert not turn.speculative
    assert turn.timings_ms["endpointing"] <= session.policy.complete_ms + 40
    stt.release.set()


async def test_a_short_clause_is_not_transcribed_while_the_caller_is_still_speaking() -> None:
    session, caller, _, _, stt = _streaming_session([QUESTION])
    await session.start()
    caller.play_out()
    await caller.say(QUESTION, 2.5)
    assert stt.reads == []  # the pass at the pause will hear it whole: nothing to gain from one now
    await caller.silence(0.4)
    assert len(stt.reads) == 1
    assert [turn.caller_text for turn in _replies(session)] == [QUESTION]


async def test_a_clause_is_committed_when_its_pass_ends_after_the_caller_went_on_and_stopped_again() -> None:
    session, caller, _, _, _ = _streaming_session([OPENING, OFFER])
    stt = session.stt = _FirstPassHeld([OPENING, OFFER])
    await session.start()
    caller.play_out()
    await caller.say(OPENING, 2.0)
    await caller.silence(0.2)  # a comma: the pass at the pause starts and hangs
    await caller.say(OFFER, 0.6)
    await caller.silence(0.04)  # a stop inside a word: not a clause boundary
    await caller.say(OFFER, 0.6)
    assert stt.passes == 1
    assert session._stream.committed == []
    stt.release.set()
    await caller.say(OFFER, 0.2)
    assert session._stream.committed == [OPENING]
