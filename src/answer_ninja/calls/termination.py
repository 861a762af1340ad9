"""When a call should end, and why. Pure functions over the conversation's numbers; thresholds come from settings."""

from __future__ import annotations

from dataclasses import dataclass

from answer_ninja.calls.cues import Cues
from answer_ninja.calls.vocabulary import EndReason, Intent, Persona, Stage


@dataclass(frozen=True)
class TerminationPolicy:
    """Limits after which the AI closes the call (``CONVERSATION_*`` settings)."""

    max_turns: int = 8
    max_duration_seconds: float = 180.0
    persistence_limit: int = 6
    frustration_limit: int = 2


@dataclass(frozen=True)
class TurnFacts:
    """What the policy looks at after a caller's turn has been understood."""

    turn: int
    elapsed_seconds: float
    persistence: int
    frustration: int
    cues: Cues
    intent: Intent
    stage_before: Stage
    persona: Persona


def end_reason(facts: TurnFacts, policy: TerminationPolicy) -> EndReason | None:
    """The reason to end the call now, or None to keep talking. The first that applies wins."""
    for check in (said_goodbye, ran_out_of_time, lost_patience, would_not_stop, talked_long_enough, message_taken):
        reason = check(facts, policy)
        if reason is not None:
            return reason
    return None


def said_goodbye(facts: TurnFacts, _: TerminationPolicy) -> EndReason | None:
    return EndReason.GOODBYE if facts.cues.goodbye else None


def ran_out_of_time(facts: TurnFacts, policy: TerminationPolicy) -> EndReason | None:
    # Applies to every persona: the time-waster, too, hangs up in the end.
    return EndReason.MAX_DURATION if facts.elapsed_seconds >= policy.max_duration_seconds else None


def lost_patience(facts: TurnFacts, policy: TerminationPolicy) -> EndReason | None:
    return EndReason.FRUSTRATION if facts.frustration >= policy.frustration_limit else None


def would_not_stop(facts: TurnFacts, policy: TerminationPolicy) -> EndReason | None:
    """A caller who keeps pushing past the limit, or past the hang-up warning, is cut off.

    The time-waster wants them to keep pushing, so only time ends its calls.
    """
    if facts.persona is Persona.TIME_WASTER or not facts.intent.is_unwanted:
        return None
    if facts.persistence >= policy.persistence_limit or facts.stage_before is Stage.HANG_UP_WARNING:
        return EndReason.PERSISTENCE
    return None


def talked_long_enough(facts: TurnFacts, policy: TerminationPolicy) -> EndReason | None:
    if facts.persona is Persona.TIME_WASTER and facts.intent.is_unwanted:
        return None
    return EndReason.MAX_TURNS if facts.turn >= policy.max_turns else None


def message_taken(facts: TurnFacts, _: TerminationPolicy) -> EndReason | None:
    """A legitimate caller has been asked for a message on the first turn; the next turn is the message."""
    legitimate_again = facts.intent is Intent.LEGITIMATE and facts.stage_before is Stage.HANDLING
    return EndReason.MESSAGE_TAKEN if legitimate_again and facts.turn >= 2 else None
