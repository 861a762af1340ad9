"""Template replies: short enough to speak, varied within a call, deterministic, safe in the time-waster's mouth."""

from __future__ import annotations

import re

import pytest

from answer_ninja.calls.language import is_cjk
from answer_ninja.calls.replies import all_lines, choose_reply, slot_for
from answer_ninja.calls.reply_lines import STALLING
from answer_ninja.calls.vocabulary import EndReason, Intent, Language, Persona, Stage

TALKING_STAGES = [Stage.HANDLING, Stage.POLITE_DECLINE, Stage.FIRM_REJECTION, Stage.HANG_UP_WARNING]


@pytest.mark.parametrize("line", all_lines(Language.ZH_CN))
def test_mandarin_lines_are_under_20_characters(line: str) -> None:
    assert sum(1 for char in line if is_cjk(char)) < 20


@pytest.mark.parametrize("line", all_lines(Language.EN_US))
def test_english_lines_are_under_15_words(line: str) -> None:
    assert len(line.split()) < 15


@pytest.mark.parametrize("language", list(Language))
@pytest.mark.parametrize("persona", list(Persona))
@pytest.mark.parametrize("intent", list(Intent))
@pytest.mark.parametrize("stage", [*TALKING_STAGES, Stage.CALL_END])
def test_every_moment_of_every_call_has_lines(
    language: Language, persona: Persona, intent: Intent, stage: Stage
) -> None:
    for reason in EndReason:
        _, lines = slot_for(language=language, persona=persona, stage=stage, intent=intent, end_reason=reason)
        assert lines
        assert set(lines) <= set(all_lines(language))


def test_a_call_does_not_hear_the_same_line_twice_while_fresh_ones_remain() -> None:
    used: list[str] = []
    for turn in range(3):
        choice = choose_reply(
            language=Language.ZH_CN,
            persona=Persona.POLITE,
            stage=Stage.POLITE_DECLINE,
            intent=Intent.SALES,
            end_reason=None,
            used=used,
            seed=f"call:{turn}",
        )
        assert choice.line_id not in used
        used.append(choice.line_id)


def test_the_same_state_and_seed_give_the_same_line_and_seeds_spread_calls() -> None:
    def pick(seed: str) -> str:
        return choose_reply(
            language=Language.EN_US,
            persona=Persona.TIME_WASTER,
            stage=Stage.FIRM_REJECTION,
            intent=Intent.SCAM,
            end_reason=None,
            used=(),
            seed=seed,
        ).text

    assert pick("a:1") == pick("a:1")
    assert len({pick(f"call-{number}:1") for number in range(20)}) > 3


def test_closing_lines_fit_the_reason() -> None:
    goodbye = slot_for(
        language=Language.EN_US,
        persona=Persona.POLITE,
        stage=Stage.CALL_END,
        intent=Intent.SALES,
        end_reason=EndReason.GOODBYE,
    )
    message = slot_for(
        language=Language.EN_US,
        persona=Persona.POLITE,
        stage=Stage.CALL_END,
        intent=Intent.LEGITIMATE,
        end_reason=EndReason.MESSAGE_TAKEN,
    )
    assert goodbye[0] == "closing.goodbye"
    assert message[0] == "closing.message_taken"
    assert not set(goodbye[1]) & set(message[1])


@pytest.mark.parametrize("line", [line for lines in STALLING.values() for line in lines])
def test_the_time_waster_never_commits_or_gives_data(line: str) -> None:
    assert not re.search(r"\d", line)
    assert not re.search(r"验证码|密码|卡号|转账|付款|地址|身份证|pay|transfer|code|password|address|card", line, re.I)
