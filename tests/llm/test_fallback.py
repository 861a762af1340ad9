"""The reply planner's decisions with small in-test generators (the real server is in the integration tests)."""

from __future__ import annotations

import asyncio

import pytest

from answer_ninja.calls.vocabulary import Intent, Language, Persona, Stage
from answer_ninja.llm.base import ReplyContext
from answer_ninja.llm.fallback import ReplyPlanner

CONTEXT = ReplyContext(
    language=Language.EN_US,
    persona=Persona.POLITE,
    intent=Intent.SALES,
    stage=Stage.POLITE_DECLINE,
    caller_text="but it's a great deal",
    template_reply="Thank you, but I'm really not interested.",
)


class Scripted:
    """Answers with ``text`` after ``delay`` seconds, or raises ``error``; counts its calls."""

    name = "scripted"

    def __init__(self, text: str = "No thank you.", *, delay: float = 0.0, error: Exception | None = None) -> None:
        self.text, self.delay, self.error, self.calls = text, delay, error, 0
        self.timeouts: list[float] = []

    async def generate(self, context: ReplyContext, *, timeout: float) -> str:
        self.calls += 1
        self.timeouts.append(timeout)
        await asyncio.sleep(self.delay)
        if self.error is not None:
            raise self.error
        return self.text

    async def probe(self, timeout: float) -> None:
        return None

    async def close(self) -> None:
        return None


def planner(generator: Scripted | None, **overrides: object) -> ReplyPlanner:
    options: dict[str, object] = {"timeout_seconds": 0.05, "breaker_failures": 2, "breaker_reset_seconds": 0.2}
    return ReplyPlanner(generator, **{**options, **overrides})  # type: ignore[arg-type]


async def test_without_an_llm_the_template_is_the_reply() -> None:
    outcome = await planner(None).reply(CONTEXT)
    assert (outcome.text, outcome.source, outcome.fallback_reason) == (CONTEXT.template_reply, "template", None)


async def test_templates_only_never_calls_the_llm() -> None:
    generator = Scripted()
    outcome = await planner(generator, templates_only=True).reply(CONTEXT)
    assert outcome.source == "template"
    assert generator.calls == 0


async def test_a_fast_safe_llm_reply_is_used() -> None:
    outcome = await planner(Scripted("No thank you, goodbye.")).reply(CONTEXT)
    assert (outcome.text, outcome.source) == ("No thank you, goodbye.", "llm")
    assert outcome.llm_ms is not None


@pytest.mark.parametrize(
    ("generator", "reason"),
    [
        (Scripted(delay=0.5), "timeout"),
        (Scripted(error=ConnectionError("refused")), "error:ConnectionError"),
        (Scripted("Sure, my card number is 4111 1111 1111 1111."), "unsafe_reply:number_like"),
    ],
)
async def test_every_failure_falls_back_to_the_template_and_says_why(generator: Scripted, reason: str) -> None:
    outcome = await planner(generator).reply(CONTEXT)
    assert (outcome.text, outcome.source, outcome.fallback_reason) == (CONTEXT.template_reply, "template", reason)


async def test_preparing_a_reply_may_wait_longer_than_a_turn() -> None:
    generator = Scripted(delay=0.1)
    replies = planner(generator, prepare_timeout_seconds=1.0)
    assert (await replies.reply(CONTEXT)).fallback_reason == "timeout"
    prepared = await replies.reply(CONTEXT, preparing=True)
    assert prepared.source == "llm"
    assert generator.timeouts == [0.05, 1.0]


async def test_closing_lines_are_always_templates() -> None:
    generator = Scripted()
    closing = ReplyContext(**{**CONTEXT.__dict__, "stage": Stage.CALL_END})
    assert (await planner(generator).reply(closing)).source == "template"
    assert generator.calls == 0


async def test_the_breaker_opens_after_failures_and_closes_after_a_good_retry() -> None:
    changes: list[str] = []
    generator = Scripted(error=ConnectionError("down"))
    replies = planner(generator, on_breaker_change=changes.append)
    for _ in range(2):
        assert (await replies.reply(CONTEXT)).fallback_reason == "error:ConnectionError"
    opened = await replies.reply(CONTEXT)
    assert opened.fallback_reason == "circuit_open"
    assert generator.calls == 2, "an open circuit does not call the LLM"
    assert replies.breaker_state == "opened"
    await asyncio.sleep(0.25)
    generator.error = None
    recovered = await replies.reply(CONTEXT)
    assert recovered.source == "llm"
    assert replies.breaker_state == "closed"
    assert changes[0] == "opened"
    assert changes[-1] == "closed"


async def test_warm_up_generates_once_outside_the_breaker() -> None:
    generator = Scripted(delay=0.06)
    replies = planner(generator)
    elapsed_ms = await replies.warm_up(CONTEXT, timeout=1.0)
    assert elapsed_ms >= 50, "the warm-up may take longer than a turn's timeout"
    assert generator.timeouts == [1.0]
    assert await planner(generator, templates_only=True).warm_up(CONTEXT, timeout=1.0) == 0.0
    assert generator.calls == 1
