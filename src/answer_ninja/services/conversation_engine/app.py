"""conversation-engine (port 3003): Understands the caller and answers in a persona; decides when to hang up."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI

from answer_ninja.calls.termination import TerminationPolicy
from answer_ninja.calls.vocabulary import Intent, Language, Persona, Stage
from answer_ninja.llm.base import ReplyContext, ReplyGenerator
from answer_ninja.llm.fallback import ReplyPlanner
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
STATE_UNAVAILABLE = "conversation_state"


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


def _llm_generator(settings: Settings) -> ReplyGenerator | None:
    """The configured LLM client, or None. The SDK is imported only then: it costs ~20 MB of every idle process."""
    if not (settings.llm_base_url or settings.azure_openai_configured):
        return None
    from answer_ninja.llm.openai_chat import build_llm_generator

    return build_llm_generator(settings)


def configure(app: FastAPI, ctx: ServiceContext) -> None:
    """Routes, the reply planner (LLM behind a breaker, or templates) and the soft LLM readiness check."""
    settings = ctx.settings
    # In DEGRADED_MODE no client is even built: the LLM is never called.
    generator = None if settings.degraded_mode else _llm_generator(settings)

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

    def state_health(problem: str | None) -> None:
        if problem is None:
            ctx.health.clear_degraded(STATE_UNAVAILABLE)
        else:
            ctx.health.set_degraded(STATE_UNAVAILABLE, problem)

    async def start(ctx: ServiceContext) -> None:
        # Train the intent model now (~0.1 s), not on the first caller's turn.
        await asyncio.to_thread(packaged_ngram)
        app.state.engine = ConversationEngine(
            store=ConversationStore(ctx.require_cache(), ttl_seconds=settings.conversation_state_ttl_seconds),
            planner=planner,
            policy=policy_from(settings),
            default_persona=Persona(settings.conversation_default_persona),
            on_state_health=state_health,
        )
        if generator is not None:
            # Learn early whether the LLM answers, so /health says "degraded" before the first call does.
            app.state.llm_first_probe = asyncio.create_task(
                _probe_and_warm_up(check, planner, settings.dependency_timeout_seconds), name="llm-first-probe"
            )
            app.state.llm_first_probe.add_done_callback(_log_probe_result)

    async def stop(_: ServiceContext) -> None:
        first_probe: asyncio.Task[None] | None = getattr(app.state, "llm_first_probe", None)
        if first_probe is not None and not first_probe.done():
            first_probe.cancel()
        if generator is not None:
            await generator.close()

    ctx.on_startup.append(start)
    ctx.on_shutdown.append(stop)
    app.include_router(router)


# A typical turn, for the start-up generation that fills the LLM server's prompt cache.
WARM_UP_CONTEXT = ReplyContext(
    language=Language.ZH_CN,
    persona=Persona.POLITE,
    intent=Intent.SALES,
    stage=Stage.POLITE_DECLINE,
    caller_text="您好，我们这边有个优惠活动",
    template_reply="谢谢您，不过我真的不需要。",
)
WARM_UP_TIMEOUT_SECONDS = 30.0


async def _probe_and_warm_up(check: DependencyCheck, planner: ReplyPlanner, timeout: float) -> None:
    await check.probe(timeout)
    try:
        elapsed_ms = await planner.warm_up(WARM_UP_CONTEXT, timeout=WARM_UP_TIMEOUT_SECONDS)
    except Exception as error:  # the turns will fall back and the breaker will tell; this is only a head start
        log.warning("llm_warm_up_failed", error=describe_error(error))
        return
    log.info("llm_warmed_up", elapsed_ms=round(elapsed_ms, 1))


def _log_probe_result(task: asyncio.Task[None]) -> None:
    if task.cancelled():
        return  # shut down before the LLM answered
    error = task.exception()
    log.info("llm_first_probe", ok=error is None, error=describe_error(error) if error else None)


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(SPEC, settings=settings, configure=configure)
