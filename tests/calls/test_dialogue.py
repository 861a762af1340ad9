"""The dialogue moves forward only, and only as the caller's turns push it."""

from __future__ import annotations

from answer_ninja.calls.cues import Cues
from answer_ninja.calls.dialogue import DialogueState, hang_up, remembered_intent, take_turn
from answer_ninja.calls.intents import Classification
from answer_ninja.calls.termination import TerminationPolicy
from answer_ninja.calls.vocabulary import EndReason, Intent, Language, Persona, Stage

POLICY = TerminationPolicy(max_turns=20, max_duration_seconds=600, persistence_limit=50, frustration_limit=3)


def heard(intent: Intent, confidence: float = 0.8) -> Classification:
    return Classification(intent, confidence, Language.EN_US)


def start(persona: Persona = Persona.POLITE) -> DialogueState:
    return DialogueState(language=Language.EN_US, persona=persona, started_at=1000.0)


def test_unwanted_call_walks_every_stage_in_order() -> None:
    state = start()
    stages = []
    for second in range(5):
        outcome = take_turn(state, heard(Intent.SALES), Cues(), now=1000.0 + second, policy=POLICY)
        state = outcome.state
        stages.append(state.stage)
    assert stages == [
        Stage.HANDLING,
        Stage.POLITE_DECLINE,
        Stage.FIRM_REJECTION,
        Stage.HANG_UP_WARNING,
        Stage.CALL_END,
    ]
    assert state.end_reason is EndReason.PERSISTENCE, "ignoring the hang-up warning ends the call"


def test_frustration_skips_the_polite_steps() -> None:
    state = take_turn(start(), heard(Intent.LOAN), Cues(), now=1000, policy=POLICY).state
    outcome = take_turn(state, heard(Intent.LOAN), Cues(frustration=True), now=1001, policy=POLICY)
    assert outcome.state.stage is Stage.FIRM_REJECTION
    assert outcome.reason == "caller_frustrated"
    assert outcome.state.frustration == 1


def test_persistence_words_count_on_top_of_repeating_the_pitch() -> None:
    state = take_turn(start(), heard(Intent.SALES), Cues(), now=1000, policy=POLICY).state
    plain = take_turn(state, heard(Intent.SALES), Cues(), now=1001, policy=POLICY).state
    pushy = take_turn(state, heard(Intent.SALES), Cues(persistence=True), now=1001, policy=POLICY).state
    assert (plain.persistence, pushy.persistence) == (1, 2)


def test_legitimate_caller_stays_in_handling() -> None:
    state = take_turn(start(), heard(Intent.LEGITIMATE), Cues(), now=1000, policy=POLICY).state
    assert state.stage is Stage.HANDLING
    assert state.persistence == 0


def test_a_scam_stays_a_scam_and_an_unclear_turn_changes_nothing() -> None:
    assert remembered_intent(Intent.SCAM, 0.8, heard(Intent.LEGITIMATE, 0.9)) == (Intent.SCAM, 0.8)
    assert remembered_intent(Intent.LOAN, 0.7, heard(Intent.UNKNOWN, 0.6)) == (Intent.LOAN, 0.7)
    assert remembered_intent(Intent.UNKNOWN, 0.6, heard(Intent.SURVEY, 0.5)) == (Intent.SURVEY, 0.5)


def test_a_call_that_turns_into_a_scam_becomes_one_at_once() -> None:
    assert remembered_intent(Intent.LEGITIMATE, 0.9, heard(Intent.SCAM, 0.5)) == (Intent.SCAM, 0.5)


def test_a_weaker_other_intent_does_not_relabel_the_call() -> None:
    assert remembered_intent(Intent.INSURANCE, 0.83, heard(Intent.SALES, 0.5)) == (Intent.INSURANCE, 0.83)
    assert remembered_intent(Intent.SALES, 0.5, heard(Intent.INSURANCE, 0.83)) == (Intent.INSURANCE, 0.83)
    assert remembered_intent(Intent.LOAN, 0.5, heard(Intent.LOAN, 0.75)) == (Intent.LOAN, 0.75)


def test_the_time_waster_stalls_in_handling_instead_of_declining() -> None:
    state = start(Persona.TIME_WASTER)
    for second in range(6):
        outcome = take_turn(state, heard(Intent.SCAM), Cues(persistence=True), now=1000.0 + second, policy=POLICY)
        state = outcome.state
        assert state.stage is Stage.HANDLING
    assert outcome.should_terminate is False


def test_an_ended_call_takes_no_more_turns() -> None:
    ended = hang_up(start(), EndReason.CALLER_HUNG_UP)
    outcome = take_turn(ended, heard(Intent.SALES), Cues(), now=1000, policy=POLICY)
    assert outcome.should_terminate is True
    assert outcome.state == ended
    assert outcome.reason == "caller_hung_up"


def test_turn_is_pure() -> None:
    state = take_turn(start(), heard(Intent.SALES), Cues(), now=1000, policy=POLICY).state
    first = take_turn(state, heard(Intent.SALES), Cues(persistence=True), now=1001, policy=POLICY)
    second = take_turn(state, heard(Intent.SALES), Cues(persistence=True), now=1001, policy=POLICY)
    assert first == second
    assert state.turn == 1
