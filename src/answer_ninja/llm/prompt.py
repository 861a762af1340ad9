"""The chat prompt: persona, safety rules and the situation, so any OpenAI-compatible model stays in role."""

from __future__ import annotations

from openai.types.chat import ChatCompletionMessageParam

from answer_ninja.calls.vocabulary import Language, Persona, Stage
from answer_ninja.llm.base import ReplyContext

# How many earlier turns the model sees: the last exchange is enough context, and every token of it is
# processed again on each turn (the prompt cache only covers the unchanging rules).
HISTORY_TURNS = 2

PERSONA_STYLE: dict[Persona, str] = {
    Persona.POLITE: "warm and courteous",
    Persona.DIRECT: "brief and blunt, no small talk",
    Persona.HUMOROUS: "light-hearted and witty, never rude",
    Persona.PROFESSIONAL: "formal, like an executive assistant",
    Persona.TIME_WASTER: "curious and slow, asking vague questions to keep the caller talking",
}

STAGE_GOAL: dict[Stage, str] = {
    Stage.INITIAL: "find out why they are calling",
    Stage.HANDLING: "say the user does not need this",
    Stage.POLITE_DECLINE: "decline politely",
    Stage.FIRM_REJECTION: "refuse firmly and ask them not to call again",
    Stage.HANG_UP_WARNING: "warn that you will hang up",
    Stage.CALL_END: "say goodbye",
}

SAFETY_RULES = (
    "Never give any personal information (names, addresses, numbers, accounts, ID). "
    "Never agree to pay, transfer, buy or sign up for anything. "
    "Never read out or confirm codes, passwords or card numbers. "
    "Never say you are an AI unless asked. Reply with one short spoken sentence only."
)

LENGTH_RULE: dict[Language, str] = {
    Language.ZH_CN: "Answer in Simplified Chinese, under 20 characters.",
    Language.EN_US: "Answer in English, under 15 words.",
}


def build_messages(context: ReplyContext) -> list[ChatCompletionMessageParam]:
    """System rules, the recent turns, then the caller's latest words."""
    # What never changes comes first: servers cache the processed prompt prefix (llama.cpp does), so the
    # rules are read once and each turn only pays for the lines after them.
    system = (
        f"You answer phone calls for a busy person. {SAFETY_RULES} {LENGTH_RULE[context.language]} "
        f"The caller's intent: {context.intent.value}. Your style: {PERSONA_STYLE[context.persona]}. "
        f'Your goal now: {STAGE_GOAL[context.stage]}. A fitting reply would be: "{context.template_reply}"'
    )
    messages: list[ChatCompletionMessageParam] = [{"role": "system", "content": system}]
    for role, text in context.history[-HISTORY_TURNS:]:
        if role == "caller":
            messages.append({"role": "user", "content": text})
        else:
            messages.append({"role": "assistant", "content": text})
    messages.append({"role": "user", "content": context.caller_text})
    return messages
