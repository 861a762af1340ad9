"""conversation-engine (port 3003): Understands the caller and answers in a persona; decides when to hang up."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI

from answer_ninja.calls.termination import TerminationPolicy
from answer_ninja.calls.vocabulary import Persona
from answer_ninja.llm.base import ReplyGenerator
from answer_ninja.llm.fallback import ReplyPlanner
from answer_ninja.llm.openai_chat import build_llm_generator
from answer_ninja.platform.app_factory import ServiceContext, ServiceSpec, create_service_app
from answer_ninja.platform.health import DependencyCheck, describe_error
from answer_ninja.platform.logging import get_logger
from answer_ninja.platform.settings import Settings
from answer_ninja.services.conversation_engine import metrics
from answer_ninja.services.conversation_engine.flows import ConversationEngine
from answer_ninja.services.conversation_engine.routes import router
from answer_ninja.services.conversation_engine.state import ConversationStore
from answer_ninja.services.conversation_engine.understanding import packaged_ngram

log = get_logger(__name__)

SPEC = ServiceSpec(
    name="conversation-engine",
    port=3003,
    description="Understands the caller and answers in a persona; decides when to hang up.",
    uses_database=False,
    uses_cache=True,
    calls=(),
    soft_calls=(),
)

LLM_UNREACHABLE = "llm_unreachable"
LLM_CIRCUIT_OPEN = "llm_circuit_open"


def policy_from(settings: Settings) -> TerminationPolicy:
    return TerminationPolicy(
        max_turns=settings.conversation_max_turns,
        max_duration_seconds=settings.conversation_max_duration_seconds,
        persistence_limit=settings.conversation_persistence_limit,
        frustration_limit=settings.conversation_frustration_limit,
    )


def _llm_check(ctx: ServiceContext, generator: ReplyGenerator) -> DependencyCheck:
    """A soft readiness check: templates answer without the LLM, so it degrades the service, never fails it."""

    async def probe(timeout: float) -> None:
        try:
            await generator.probe(timeout)
        except Exception as error:
            reason = f"LLM unreachable, replying from templates: {describe_error(error)}"
            ctx.health.set_degraded(LLM_UNREACHABLE, reason)
            raise
        ctx.health.clear_degraded(LLM_UNREACHABLE)

    return DependencyCheck("llm", "provider", probe, required=False)


def configure(app: FastAPI, ctx: ServiceContext) -> None:
    """Routes, the reply planner (LLM behind a breaker, or templates) and the soft LLM readiness check."""
    settings = ctx.settings
    # In DEGRADED_MODE no client is even built: the LLM is never called.
    generator = None if settings.degraded_mode else build_llm_generator(settings)

    def on_breaker_change(state: str) -> None:
        metrics.LLM_CIRCUIT_OPEN.set(1 if state == "opened" else 0)
        if state == "opened":
            ctx.health.set_degraded(LLM_CIRCUIT_OPEN, "LLM circuit open, replying from templates")
        else:
            ctx.health.clear_degraded(LLM_CIRCUIT_OPEN)

    planner = ReplyPlanner(
        generator,
        timeout_seconds=settings.llm_timeout_seconds,
        prepare_timeout_seconds=settings.llm_prepare_timeout_seconds,
        breaker_failures=settings.llm_breaker_failures,
        breaker_reset_seconds=settings.llm_breaker_reset_seconds,
        templates_only=settings.degraded_mode,
        on_breaker_change=on_breaker_change,
    )
    if generator is not None:
        check = _llm_check(ctx, generator)
        ctx.checks.append(check)

    async def start(ctx: ServiceContext) -> None:
        # Train the intent model now (~0.1 s), not on the first caller's turn.
        await asyncio.to_thread(packaged_ngram)
        app.state.engine = ConversationEngine(
            store=ConversationStore(ctx.require_cache(), ttl_seconds=settings.conversation_state_ttl_seconds),
            planner=planner,
            policy=policy_from(settings),
            default_persona=Persona(settings.conversation_default_persona),
        )
        if generator is not None:
            # Learn early whether the LLM answers, so /health says "degraded" before the first call does.
            app.state.llm_first_probe = asyncio.create_task(
                _first_probe(check, settings.dependency_timeout_seconds), name="llm-first-probe"
            )
            app.state.llm_first_probe.add_done_callback(_log_probe_result)

    async def stop(_: ServiceContext) -> None:
        if generator is not None:
            await generator.close()

    ctx.on_startup.append(start)
    ctx.on_shutdown.append(stop)
    app.include_router(router)


async def _first_probe(check: DependencyCheck, timeout: float) -> None:
    await check.probe(timeout)


def _log_probe_result(task: asyncio.Task[None]) -> None:
    error = None if task.cancelled() else task.exception()
    log.info("llm_first_probe", ok=error is None, error=describe_error(error) if error else None)


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(SPEC, settings=settings, configure=configure)
