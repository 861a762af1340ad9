"""The turn loop on stand-in providers and a virtual clock: a whole conversation runs in milliseconds."""

from __future__ import annotations

import asyncio

import pytest

from answer_ninja.services.realtime_processor.replies import KeywordReplyStandIn
from answer_ninja.services.realtime_processor.session import FINAL_PASS_WAIT_SECONDS, CallSession, SessionConfig, Turn
from tests.services.realtime_processor.fakes import Caller, make_session

PITCH = "Hello, I am calling about a special loan offer for you today."
AGAIN = "But the interest rate is really low, are you sure?"
LAST = "Fine, I will call you back another time."


async def test_conversation_replies_after_each_turn_and_hangs_up_when_engine_says_so() -> None:
    session, caller, replies, output = make_session([PITCH, AGAIN, LAST], max_turns=3)
    await session.start()
    caller.play_out()
    for line in (PITCH, AGAIN, LAST):
        await caller.say(line, 1.2)
        await caller.silence(0.6)
        caller.play_out()
        await caller.silence(0.1)
    assert session.outcome == "max_turns"
    assert output.hung_up
    said = [(turn.kind, turn.caller_text, turn.ai_text) for turn in session.turns]
    assert said[0][0] == "greeting"
    assert [caller_text for kind, caller_text, _ in said if kind == "reply"] == [PITCH, AGAIN, LAST]
    assert said[-1][2] == "Goodbye."
    # Real manage calls carried the transcripts; dry runs were made while the caller was still speaking.
    real = [text for _, text, dry in replies.requests if not dry]
    assert real == [PITCH, AGAIN, LAST]
    assert any(dry for _, _, dry in replies.requests)


async def test_reply_prepared_while_speaking_goes_out_at_end_of_turn() -> None:
    session, caller, _, _ = make_session([PITCH])
    await session.start()
    caller.play_out()
    await caller.say(PITCH, 1.5)
    await caller.silence(0.5)
    turn = session.turns[1]
    timings = turn.timings_ms
    # Virtual clock: the only time that passes is audio time, so voice-to-voice is exactly the end-of-turn silence,
    # here the policy's shortest: the pass at the pause heard a finished sentence.
    assert timings["endpointing"] == pytest.approx(session.policy.complete_ms, abs=21)
    assert timings["voice_to_voice"] == pytest.approx(timings["endpointing"], abs=1)
    assert timings["stt"] == pytest.approx(0, abs=1)
    assert set(timings) >= {"endpointing", "stt", "reply", "tts_first_byte", "send", "voice_to_voice"}


async def test_backchannel_over_the_ai_does_not_interrupt() -> None:
    session, caller, _, output = make_session([PITCH, "uh-huh"])
    await session.start()
    caller.play_out()
    await caller.say(PITCH, 1.2)
    await caller.silence(0.4)  # the reply is playing now (marks not echoed yet)
    assert session.ai_speaking
    await caller.say("uh-huh", 0.3)
    await caller.silence(0.5)
    assert output.clears == 0
    assert session.ai_speaking
    assert not session.turns[-1].interrupted


async def test_real_barge_in_clears_and_records_only_what_was_heard() -> None:
    session, caller, _, output = make_session([PITCH, AGAIN])
    await session.start()
    caller.play_out()
    await caller.say(PITCH, 1.2)
    await caller.silence(0.4)
    reply_turn = session.turns[-1]
    assert session.ai_speaking
    assert reply_turn.ai_text
    await caller.say(AGAIN, 1.0)  # talks over the AI for longer than the barge-in threshold
    assert output.clears == 1
    assert reply_turn.interrupted
    assert reply_turn.heard_text == ""  # no mark came back before the caller cut in
    assert reply_turn.spoken_text == ""
    # Cutting in 0.4 s after their own last word, the caller had only paused: the loop now waits such pauses out.
    assert session._caller_pause_ms == pytest.approx(400, abs=20)
    await caller.silence(0.5 + session.policy.pause_margin_ms / 1000)
    assert session.turns[-1].caller_text == AGAIN  # and the interruption is answered as the next turn


async def test_silence_gets_a_prompt_then_a_goodbye_and_hang_up() -> None:
    config = SessionConfig(silence_prompt_ms=2000, silence_goodbye_ms=2000)
    session, caller, _, output = make_session([], config=config)
    await session.start()
    caller.play_out()
    await caller.silence(2.1)
    assert session.turns[-1].kind == "prompt"
    caller.play_out()
    await caller.silence(2.1)
    assert session.turns[-1].kind == "goodbye"
    caller.play_out()
    await caller.silence(0.1)
    assert session.outcome == "caller_silent"
    assert output.hung_up


async def test_carrier_without_marks_finishes_playback_by_audio_time() -> None:
    config = SessionConfig(silence_prompt_ms=1000, silence_goodbye_ms=1000)
    session, caller, _, _output = make_session([], config=config, supports_marks=False)
    await session.start()
    assert session.ai_speaking  # the greeting is playing
    await caller.silence(9.0)
    assert [turn.kind for turn in session.turns] == ["greeting", "prompt", "goodbye"]
    assert session.outcome == "caller_silent"


async def test_max_call_length_says_goodbye() -> None:
    session, caller, _, _ = make_session([PITCH], config=SessionConfig(max_call_ms=3000))
    await session.start()
    caller.play_out()
    await caller.say(PITCH, 3.2)
    assert session.turns[-1].kind == "goodbye"
    caller.play_out()
    await caller.silence(0.1)
    assert session.outcome == "max_duration"


async def test_slow_transcription_is_waited_for_when_nothing_was_prepared() -> None:
    session, caller, _, _ = make_session(["Hi"], stt_delay=0.0)
    await session.start()
    caller.play_out()
    await caller.say("Hi", 0.3)  # too short for a partial pass: the final pass answers
    await caller.silence(0.5)
    turn = session.turns[-1]
    assert turn.caller_text == "Hi"
    assert turn.speculative is False


class _HearsMoreWithMoreAudio:
    """A recogniser that hears half a sentence in the passes made while the caller speaks, and the whole of it in
    the pass made after they stopped, which takes ``final_delay`` seconds (real time)."""

    name = "prefix-stt"
    PARTIAL = "Hello, I am calling"
    WHOLE = "Hello, I am calling about a special loan offer for you today"

    def __init__(self, final_bytes: int, final_delay: float) -> None:
        self.final_bytes = final_bytes
        self.final_delay = final_delay

    async def transcribe(self, pcm: bytes, language: str) -> str:
        if len(pcm) < self.final_bytes:
            return self.PARTIAL
        await asyncio.sleep(self.final_delay)
        return self.WHOLE


async def _answered(session: CallSession, timeout: float = 2.0) -> Turn:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        replies = [turn for turn in session.turns if turn.kind == "reply" and turn.ai_text]
        if replies:
            return replies[-1]
        await asyncio.sleep(0.01)
    raise AssertionError("no reply")


def _with_prefix_stt(final_delay: float) -> tuple[CallSession, Caller, KeywordReplyStandIn]:
    session, caller, replies, _ = make_session([])
    # 1.2 s of speech: the passes while speaking hear at most 1.0 s of it, the one at the first pause 1.3 s.
    session.stt = _HearsMoreWithMoreAudio(final_bytes=int(1.25 * 32000), final_delay=final_delay)
    return session, caller, replies


async def test_end_of_turn_waits_briefly_for_the_pass_that_heard_everything() -> None:
    session, caller, replies = _with_prefix_stt(final_delay=0.05)
    await session.start()
    caller.play_out()
    await caller.say("loan pitch", 1.2)
    await caller.silence(0.8)  # no transcript of the whole utterance in audio time: the policy's no-text silence
    turn = await _answered(session)
    assert turn.caller_text == _HearsMoreWithMoreAudio.WHOLE
    assert turn.speculative is False
    assert [text for _, text, dry in replies.requests if not dry] == [_HearsMoreWithMoreAudio.WHOLE]


async def test_a_late_final_pass_leaves_the_answer_to_the_partial_and_completes_the_record() -> None:
    session, caller, replies = _with_prefix_stt(final_delay=FINAL_PASS_WAIT_SECONDS + 0.3)
    await session.start()
    caller.play_out()
    await caller.say("loan pitch", 1.2)
    await caller.silence(0.8)  # no transcript of the whole utterance in audio time: the policy's no-text silence
    turn = await _answered(session)
    assert turn.speculative is True
    assert [text for _, text, dry in replies.requests if not dry] == [_HearsMoreWithMoreAudio.PARTIAL]
    await session.drain()
    assert turn.caller_text == _HearsMoreWithMoreAudio.WHOLE  # the record keeps what was said in full
