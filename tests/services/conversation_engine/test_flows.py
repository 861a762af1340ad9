"""The engine's speculative path: a real turn uses the reply its dry run is still preparing, never asks twice."""

from __future__ import annotations

import asyncio

from answer_ninja.calls.termination import TerminationPolicy
from answer_ninja.calls.vocabulary import Language, Persona
from answer_ninja.llm.base import ReplyContext
from answer_ninja.llm.fallback import ReplyPlanner
from answer_ninja.platform.cache import MemoryCache
from answer_ninja.services.conversation_engine.flows import ConversationEngine
from answer_ninja.services.conversation_engine.schemas import ManageRequest
from answer_ninja.services.conversation_engine.state import ConversationStore

PITCH = "Hi, do you need cash fast? We offer same day loans"


class SlowModel:
    """Answers after ``delay`` seconds; counts its calls."""

    name = "slow"

    def __init__(self, delay: float) -> None:
        self.delay, self.calls = delay, 0

    async def generate(self, context: ReplyContext, *, timeout: float) -> str:
        self.calls += 1
        await asyncio.sleep(self.delay)
        return "No thanks, I don't borrow money."

    async def probe(self, timeout: float) -> None:
        return None

    async def close(self) -> None:
        return None


def engine(model: SlowModel, *, turn_timeout: float) -> ConversationEngine:
    planner = ReplyPlanner(
        model, timeout_seconds=turn_timeout, prepare_timeout_seconds=2.0, breaker_failures=3, breaker_reset_seconds=30
    )
    return ConversationEngine(
        store=ConversationStore(MemoryCache(), ttl_seconds=60),
        planner=planner,
        policy=TerminationPolicy(),
        default_persona=Persona.POLITE,
    )


def turn(dry_run: bool) -> ManageRequest:
    return ManageRequest(call_id="f1", text=PITCH, language=Language.EN_US, dry_run=dry_run)


async def test_the_real_turn_waits_for_the_dry_run_in_flight_within_its_budget() -> None:
    model = SlowModel(delay=0.1)
    target = engine(model, turn_timeout=0.5)
    dry = asyncio.create_task(target.manage(turn(dry_run=True)))
    await asyncio.sleep(0.02)  # the caller finishes while the LLM is still preparing
    real = await target.manage(turn(dry_run=False))
    assert (real.reply_source, real.reply) == ("llm", "No thanks, I don't borrow money.")
    assert (await dry).reply == real.reply
    assert model.calls == 1, "the LLM is asked once per turn"


async def test_a_real_turn_does_not_wait_past_its_budget() -> None:
    model = SlowModel(delay=0.5)
    target = engine(model, turn_timeout=0.05)
    dry = asyncio.create_task(target.manage(turn(dry_run=True)))
    await asyncio.sleep(0.02)
    real = await target.manage(turn(dry_run=False))
    assert (real.reply_source, real.fallback_reason) == ("template", "timeout")
    assert real.latency_ms < 300
    await dry


async def test_a_dry_run_the_client_gave_up_on_still_prepares_the_reply() -> None:
    model = SlowModel(delay=0.1)
    target = engine(model, turn_timeout=0.05)
    dry = asyncio.create_task(target.manage(turn(dry_run=True)))
    await asyncio.sleep(0.02)
    dry.cancel()
    await asyncio.sleep(0.2)
    real = await target.manage(turn(dry_run=False))
    assert real.reply_source == "llm"
    assert model.calls == 1
