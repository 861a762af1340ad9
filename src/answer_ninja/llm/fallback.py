"""The reply path: the LLM when it is configured, healthy and fast enough; the template line otherwise.

Every failure (timeout, connection refused, HTTP error, unsafe or empty text, open circuit) falls back to the
template and says why in ``fallback_reason``, so the caller always hears something within the budget.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from answer_ninja.calls.vocabulary import Stage
from answer_ninja.llm.base import ReplyContext, ReplyGenerator, ReplySource
from answer_ninja.llm.safety import UnsafeReplyError, checked_reply
from answer_ninja.platform.logging import get_logger

if TYPE_CHECKING:
    from purgatory import AsyncCircuitBreakerFactory

log = get_logger(__name__)

CIRCUIT_NAME = "llm"
# Closing lines and hang-up warnings must fit the end reason exactly (and are pre-synthesised): always templates.
TEMPLATE_ONLY_STAGES = frozenset({Stage.CALL_END, Stage.HANG_UP_WARNING})


@dataclass(frozen=True)
class ReplyOutcome:
    text: str
    source: ReplySource
    fallback_reason: str | None = None
    llm_ms: float | None = None


BreakerListener = Callable[[str], None]


class ReplyPlanner:
    """Templates, or an LLM behind a timeout and a circuit breaker (``purgatory``)."""

    def __init__(
        self,
        generator: ReplyGenerator | None,
        *,
        timeout_seconds: float,
        prepare_timeout_seconds: float | None = None,
        breaker_failures: int,
        breaker_reset_seconds: float,
        templates_only: bool = False,
        on_breaker_change: BreakerListener | None = None,
    ) -> None:
        self.generator = generator
        self.timeout_seconds = timeout_seconds
        self.prepare_timeout_seconds = prepare_timeout_seconds or timeout_seconds
        self.templates_only = templates_only
        self.breaker_state = "closed"
        self._on_breaker_change = on_breaker_change
        self._breakers: AsyncCircuitBreakerFactory | None = None
        if generator is not None:
            # Imported only with an LLM: purgatory pulls in the Redis client, ~6 MB of every idle process.
            from purgatory import AsyncCircuitBreakerFactory

            self._breakers = AsyncCircuitBreakerFactory(
                default_threshold=breaker_failures, default_ttl=breaker_reset_seconds
            )
            self._breakers.add_listener(self._breaker_event)

    @property
    def uses_llm(self) -> bool:
        return self.generator is not None and not self.templates_only

    def _breaker_event(self, name: str, event_type: str, event: Any) -> None:
        if event_type != "state_changed":
            return
        self.breaker_state = str(event.state)
        log.warning("llm_circuit_changed", circuit=name, state=self.breaker_state)
        if self._on_breaker_change is not None:
            self._on_breaker_change(self.breaker_state)

    async def reply(self, context: ReplyContext, *, preparing: bool = False) -> ReplyOutcome:
        """The reply for ``context``; ``preparing`` (a dry run while the caller talks) allows the longer timeout."""
        if self.generator is None or self._breakers is None or self.templates_only:
            return ReplyOutcome(context.template_reply, "template")
        if context.stage in TEMPLATE_ONLY_STAGES:
            return ReplyOutcome(context.template_reply, "template")
        from purgatory.domain.model import OpenedState

        timeout = self.prepare_timeout_seconds if preparing else self.timeout_seconds
        started = time.perf_counter()
        try:
            breaker = await self._breakers.get_breaker(CIRCUIT_NAME)
            async with breaker:
                async with asyncio.timeout(timeout):
                    raw = await self.generator.generate(context, timeout=timeout)
                # An unsafe reply is the model's fault like an error is, so it counts against the breaker too.
                text = checked_reply(raw, context.language)
        except OpenedState:
            return ReplyOutcome(context.template_reply, "template", "circuit_open")
        except UnsafeReplyError as error:
            return self._fallback(context, f"unsafe_reply:{error}", started)
        except TimeoutError:
            return self._fallback(context, "timeout", started)
        except Exception as error:  # any failure of the LLM means the template, never a failed turn
            return self._fallback(context, f"error:{type(error).__name__}", started)
        return ReplyOutcome(text, "llm", None, (time.perf_counter() - started) * 1000)

    async def warm_up(self, context: ReplyContext, *, timeout: float) -> float:
        """One generation outside the breaker, at start-up: a self-hosted server (llama.cpp) caches the processed
        prompt prefix, and until one request has finished, every turn pays the whole prompt and times out.
        Returns the milliseconds it took; raises what the generator raised."""
        if self.generator is None or self.templates_only:
            return 0.0
        started = time.perf_counter()
        async with asyncio.timeout(timeout):
            await self.generator.generate(context, timeout=timeout)
        return (time.perf_counter() - started) * 1000

    def _fallback(self, context: ReplyContext, reason: str, started: float) -> ReplyOutcome:
        elapsed_ms = (time.perf_counter() - started) * 1000
        log.info("llm_fallback", reason=reason, elapsed_ms=round(elapsed_ms, 1))
        return ReplyOutcome(context.template_reply, "template", reason, elapsed_ms)
