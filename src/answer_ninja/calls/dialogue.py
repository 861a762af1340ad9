"""One caller turn through the dialogue: intent memory, stage, persistence and frustration, termination.

``take_turn`` is a pure function of the previous state and the understood turn, so the service can compute a turn
without saving it (``dry_run``) and get the same answer when it runs it for real.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from answer_ninja.calls.cues import Cues
from answer_ninja.calls.intents import Classification
from answer_ninja.calls.termination import TerminationPolicy, TurnFacts, end_reason
from answer_ninja.calls.vocabulary import STAGE_ORDER, EndReason, Intent, Language, Persona, Stage

# How many stages a turn moves an unwanted call forward (frustration skips the polite steps).
STEP_WHEN_PUSHED = 1
STEP_WHEN_FRUSTRATED = 2
# The furthest a turn can move the stage; only the termination policy reaches CALL_END.
LAST_TALKING_STAGE = Stage.HANG_UP_WARNING


@dataclass(frozen=True)
class DialogueState:
    """The state of one call between turns (stored as JSON by the service)."""

    language: Language
    persona: Persona
    started_at: float
    turn: int = 0
    stage: Stage = Stage.INITIAL
    intent: Intent = Intent.UNKNOWN
    confidence: float = 0.0
    persistence: int = 0
    frustration: int = 0
    end_reason: EndReason | None = None

    @property
    def ended(self) -> bool:
        return self.stage is Stage.CALL_END


@dataclass(frozen=True)
class TurnOutcome:
    state: DialogueState
    should_terminate: bool
    # Why the stage is what it is: an EndReason value when the call ends, a short phrase otherwise.
    reason: str


def remembered_intent(previous: Intent, confidence: float, heard: Classification) -> tuple[Intent, float]:
    """The call's intent and confidence after this turn.

    A scam stays a scam and any turn that sounds like one makes the call one; a turn with no intent changes
    nothing; otherwise the call keeps its intent unless this turn is more sure of another one (a seller who
    says "really cheap" is still selling insurance).
    """
    if heard.intent is Intent.UNKNOWN:
        return previous, confidence
    if previous is Intent.SCAM:
        return previous, max(confidence, heard.confidence) if heard.intent is Intent.SCAM else confidence
    if heard.intent is Intent.SCAM or previous is Intent.UNKNOWN:
        return heard.intent, heard.confidence
    if heard.intent is previous or heard.confidence > confidence:
        return heard.intent, max(confidence, heard.confidence) if heard.intent is previous else heard.confidence
    return previous, confidence


def _advance(stage: Stage, steps: int) -> Stage:
    position = min(STAGE_ORDER.index(stage) + steps, STAGE_ORDER.index(LAST_TALKING_STAGE))
    return STAGE_ORDER[position]


def next_stage(state: DialogueState, intent: Intent, cues: Cues) -> tuple[Stage, str]:
    """The stage after this turn (monotonic), and why."""
    if state.stage is Stage.INITIAL:
        return Stage.HANDLING, "first_turn"
    if state.persona is Persona.TIME_WASTER and intent.is_unwanted:
        return Stage.HANDLING, "keeping_caller_busy"  # stalls, never declines: the caller must not give up
    if not intent.is_unwanted:
        if cues.frustration:
            return _advance(
                max(state.stage, Stage.HANDLING, key=STAGE_ORDER.index), STEP_WHEN_PUSHED
            ), "caller_frustrated"
        return state.stage, "legitimate_caller" if intent is Intent.LEGITIMATE else "unclear_caller"
    if cues.frustration:
        return _advance(state.stage, STEP_WHEN_FRUSTRATED), "caller_frustrated"
    reason = "caller_persisted" if cues.persistence else "pitch_repeated"
    if state.stage is Stage.HANDLING:
        reason = "declined"
    return _advance(state.stage, STEP_WHEN_PUSHED), reason


def take_turn(
    state: DialogueState,
    heard: Classification,
    cues: Cues,
    *,
    now: float,
    policy: TerminationPolicy,
) -> TurnOutcome:
    """The conversation after one caller utterance (``now`` is wall-clock seconds, like ``started_at``)."""
    if state.ended:
        return TurnOutcome(state, True, (state.end_reason or EndReason.GOODBYE).value)
    intent, confidence = remembered_intent(state.intent, state.confidence, heard)
    stage, why = next_stage(state, intent, cues)
    # Pitching again after the first turn counts as persistence; saying "but", "really", "opportunity" counts again.
    repeated = intent.is_unwanted and state.stage is not Stage.INITIAL
    pushed = int(repeated) + int(intent.is_unwanted and cues.persistence)
    updated = replace(
        state,
        turn=state.turn + 1,
        stage=stage,
        intent=intent,
        confidence=confidence,
        persistence=state.persistence + pushed,
        frustration=state.frustration + (1 if cues.frustration else 0),
    )
    facts = TurnFacts(
        turn=updated.turn,
        elapsed_seconds=max(0.0, now - state.started_at),
        persistence=updated.persistence,
        frustration=updated.frustration,
        cues=cues,
        intent=intent,
        stage_before=state.stage,
        persona=state.persona,
    )
    reason = end_reason(facts, policy)
    if reason is None:
        return TurnOutcome(updated, False, why)
    return TurnOutcome(replace(updated, stage=Stage.CALL_END, end_reason=reason), True, reason.value)


def hang_up(state: DialogueState, reason: EndReason) -> DialogueState:
    """The state after the call ended outside a turn (the caller hung up, the voice loop closed it)."""
    if state.ended:
        return state
    return replace(state, stage=Stage.CALL_END, end_reason=reason)
