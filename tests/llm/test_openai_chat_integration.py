"""The LLM path against a real OpenAI-compatible server (llama-cpp-python + SmolLM2 on loopback).

Assertions are on structure, timeouts, the breaker and the fallback, never on the model's wording.
"""

from __future__ import annotations

import pytest

from answer_ninja.calls.vocabulary import Intent, Language, Persona, Stage
from answer_ninja.llm.base import ReplyContext
from answer_ninja.llm.fallback import ReplyPlanner
from answer_ninja.llm.openai_chat import OpenAIChatGenerator, build_llm_generator
from answer_ninja.platform.settings import load_settings
from tests.harness.llm_server import LlmServer
from tests.harness.servers import free_port

pytestmark = pytest.mark.integration

# Long enough for a cold first generation on two busy cores: these tests are about structure, not speed.
PATIENT = 30.0  # the settings allow at most 30 s

CONTEXT = ReplyContext(
    language=Language.EN_US,
    persona=Persona.POLITE,
    intent=Intent.SALES,
    stage=Stage.POLITE_DECLINE,
    caller_text="Hi, we have a special promotion on home security systems",
    template_reply="Thank you, but I'm really not interested.",
)


def generator_for(base_url: str, *, timeout: float, max_tokens: int = 12) -> OpenAIChatGenerator:
    settings = load_settings(llm_base_url=base_url, llm_timeout_seconds=timeout, llm_max_tokens=max_tokens)
    generator = build_llm_generator(settings)
    assert generator is not None
    return generator


async def test_the_server_answers_a_chat_completion_with_text(llm_server: LlmServer) -> None:
    generator = generator_for(llm_server.base_url, timeout=PATIENT)
    try:
        await generator.probe(5)
        text = await generator.generate(CONTEXT, timeout=PATIENT)
    finally:
        await generator.close()
    assert isinstance(text, str)
    assert text.strip()


async def test_a_reply_with_enough_time_comes_from_the_llm_or_says_why_not(llm_server: LlmServer) -> None:
    generator = generator_for(llm_server.base_url, timeout=PATIENT)
    planner = ReplyPlanner(generator, timeout_seconds=PATIENT, breaker_failures=3, breaker_reset_seconds=30)
    try:
        outcome = await planner.reply(CONTEXT)
    finally:
        await generator.close()
    assert outcome.llm_ms is not None
    assert outcome.llm_ms > 0
    if outcome.source == "llm":
        assert outcome.text
        assert outcome.fallback_reason is None
    else:  # a 135M model may break the reply rules; then the template is spoken and the rule is named
        assert outcome.text == CONTEXT.template_reply
        assert outcome.fallback_reason is not None
        assert outcome.fallback_reason.startswith("unsafe_reply:")


async def test_the_budget_timeout_falls_back_and_then_the_breaker_opens(llm_server: LlmServer) -> None:
    # 5 ms cannot fit a generation on this machine: every call times out.
    generator = generator_for(llm_server.base_url, timeout=0.005, max_tokens=40)
    planner = ReplyPlanner(generator, timeout_seconds=0.005, breaker_failures=2, breaker_reset_seconds=60)
    try:
        first = await planner.reply(CONTEXT)
        second = await planner.reply(CONTEXT)
        third = await planner.reply(CONTEXT)
    finally:
        await generator.close()
    assert [first.fallback_reason, second.fallback_reason] == ["timeout", "timeout"]
    assert first.llm_ms is not None
    assert first.llm_ms < 1000, "the timeout bounds the wait (a generation takes seconds here)"
    assert third.fallback_reason == "circuit_open"
    assert third.llm_ms is None, "an open circuit does not even try"
    assert {first.text, second.text, third.text} == {CONTEXT.template_reply}


async def test_an_unreachable_server_falls_back_at_once() -> None:
    generator = generator_for(f"http://127.0.0.1:{free_port()}/v1", timeout=1)
    planner = ReplyPlanner(generator, timeout_seconds=1, breaker_failures=3, breaker_reset_seconds=60)
    try:
        outcome = await planner.reply(CONTEXT)
        with pytest.raises(Exception):  # noqa: B017, PT011  # the SDK's connection error, whichever it is
            await generator.probe(1)
    finally:
        await generator.close()
    assert outcome.source == "template"
    assert outcome.fallback_reason == "error:APIConnectionError"
    assert outcome.llm_ms is not None
    assert outcome.llm_ms < 1000
