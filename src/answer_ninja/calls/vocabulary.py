"""The words of the call domain, defined once: intents, languages, dialogue stages, personas, end reasons.

Every value is a ``StrEnum`` so it travels through JSON, Redis and HTTP as the plain string other services use.
"""

from __future__ import annotations

from enum import StrEnum


class Intent(StrEnum):
    """Why the caller is calling. One taxonomy for the whole system."""

    SALES = "sales"
    LOAN = "loan"
    INVESTMENT = "investment"
    INSURANCE = "insurance"
    TELECOM = "telecom"
    SURVEY = "survey"
    REAL_ESTATE = "real_estate"
    SCAM = "scam"
    LEGITIMATE = "legitimate"
    UNKNOWN = "unknown"

    @property
    def is_unwanted(self) -> bool:
        """A call the user did not ask for: everything except a legitimate or not yet understood one."""
        return self not in (Intent.LEGITIMATE, Intent.UNKNOWN)


class Language(StrEnum):
    ZH_CN = "zh-CN"
    EN_US = "en-US"


class Stage(StrEnum):
    """Where a conversation is; it only ever moves forward (see ``dialogue.next_stage``)."""

    INITIAL = "initial"
    HANDLING = "handling"
    POLITE_DECLINE = "polite_decline"
    FIRM_REJECTION = "firm_rejection"
    HANG_UP_WARNING = "hang_up_warning"
    CALL_END = "call_end"


STAGE_ORDER: tuple[Stage, ...] = tuple(Stage)


class Persona(StrEnum):
    POLITE = "polite"
    DIRECT = "direct"
    HUMOROUS = "humorous"
    PROFESSIONAL = "professional"
    # Opt-in only: keeps scammers busy with plausible, never-committal replies.
    TIME_WASTER = "time_waster"


class EndReason(StrEnum):
    """Why a call ended; each has its own closing line."""

    GOODBYE = "goodbye"
    CALLER_HUNG_UP = "caller_hung_up"
    MAX_TURNS = "max_turns"
    MAX_DURATION = "max_duration"
    PERSISTENCE = "persistence"
    FRUSTRATION = "frustration"
    MESSAGE_TAKEN = "message_taken"
    # Closed from outside a turn (the voice loop or gateway ended it with another outcome).
    ENDED_EXTERNALLY = "ended_externally"
