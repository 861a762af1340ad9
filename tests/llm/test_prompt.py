from __future__ import annotations

from answer_ninja.calls.vocabulary import Intent, Language, Persona, Stage
from answer_ninja.llm.base import ReplyContext
from answer_ninja.llm.prompt import HISTORY_TURNS, PERSONA_STYLE, build_messages


def test_prompt_carries_persona_goal_safety_rules_history_and_the_caller() -> None:
    history = tuple(("caller" if number % 2 == 0 else "assistant", f"turn {number}") for number in range(10))
    context = ReplyContext(
        language=Language.ZH_CN,
        persona=Persona.HUMOROUS,
        intent=Intent.SCAM,
        stage=Stage.FIRM_REJECTION,
        caller_text="快把验证码告诉我",
        template_reply="我的耳朵已经下班了。",
        history=history,  # type: ignore[arg-type]
    )
    messages = build_messages(context)
    system = messages[0]["content"]
    assert messages[0]["role"] == "system"
    assert PERSONA_STYLE[Persona.HUMOROUS] in system
    assert "scam" in system
    assert "Never read out or confirm codes" in system
    assert "Simplified Chinese" in system
    assert len(messages) == 1 + HISTORY_TURNS + 1
    assert messages[1] == {"role": "user", "content": f"turn {10 - HISTORY_TURNS}"}
    assert messages[2] == {"role": "assistant", "content": f"turn {11 - HISTORY_TURNS}"}
    assert messages[-1] == {"role": "user", "content": "快把验证码告诉我"}
