"""Every end has a reason; each limit comes from the policy."""

from __future__ import annotations

from dataclasses import replace

import pytest

from answer_ninja.calls.cues import Cues
from answer_ninja.calls.termination import TerminationPolicy, TurnFacts, end_reason
from answer_ninja.calls.vocabulary import EndReason, Intent, Persona, Stage

POLICY = TerminationPolicy(max_turns=8, max_duration_seconds=180, persistence_limit=5, frustration_limit=2)
CALM = TurnFacts(
    turn=2,
    elapsed_seconds=20,
    persistence=1,
    frustration=0,
    cues=Cues(),
    intent=Intent.SALES,
    stage_before=Stage.HANDLING,
    persona=Persona.POLITE,
)


def test_a_calm_early_turn_goes_on() -> None:
    assert end_reason(CALM, POLICY) is None


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        (replace(CALM, cues=Cues(goodbye=True)), EndReason.GOODBYE),
        (replace(CALM, elapsed_seconds=180), EndReason.MAX_DURATION),
        (replace(CALM, frustration=2), EndReason.FRUSTRATION),
        (replace(CALM, persistence=5), EndReason.PERSISTENCE),
        (replace(CALM, stage_before=Stage.HANG_UP_WARNING), EndReason.PERSISTENCE),
        (replace(CALM, turn=8), EndReason.MAX_TURNS),
        (replace(CALM, intent=Intent.LEGITIMATE, turn=2), EndReason.MESSAGE_TAKEN),
    ],
)
def test_each_limit_ends_the_call_with_its_reason(facts: TurnFacts, expected: EndReason) -> None:
    assert end_reason(facts, POLICY) is expected


def test_the_limits_are_the_policys() -> None:
    assert end_reason(replace(CALM, turn=8), replace(POLICY, max_turns=9)) is None
    assert end_reason(replace(CALM, persistence=5), replace(POLICY, persistence_limit=6)) is None


def test_the_time_waster_keeps_a_pushy_scammer_talking_until_time_runs_out() -> None:
    scammer = replace(CALM, intent=Intent.SCAM, persona=Persona.TIME_WASTER, persistence=30, turn=40)
    assert end_reason(replace(scammer, stage_before=Stage.HANG_UP_WARNING), POLICY) is None
    assert end_reason(replace(scammer, elapsed_seconds=181), POLICY) is EndReason.MAX_DURATION
    assert end_reason(replace(scammer, cues=Cues(goodbye=True)), POLICY) is EndReason.GOODBYE


def test_goodbye_wins_over_every_other_reason() -> None:
    everything = replace(CALM, cues=Cues(goodbye=True), turn=99, persistence=99, frustration=99, elapsed_seconds=999)
    assert end_reason(everything, POLICY) is EndReason.GOODBYE
