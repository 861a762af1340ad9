"""What the voice loop asks conversation-engine, behind a small interface (HTTP in production, stand-ins in tests)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

import httpx

from answer_ninja.platform.logging import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class Reply:
    text: str
    intent: str = "unknown"
    stage: str = ""
    should_terminate: bool = False
    reason: str = ""
    latency_ms: float = 0.0

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Reply:
        return cls(
            text=str(body.get("reply") or ""),
            intent=str(body.get("intent") or "unknown"),
            stage=str(body.get("stage") or ""),
            should_terminate=bool(body.get("should_terminate")),
            reason=str(body.get("reason") or ""),
            latency_ms=float(body.get("latency_ms") or 0.0),
        )


@dataclass(frozen=True)
class CallContext:
    call_id: str
    language: str = "zh-CN"
    persona: str = "polite"
    caller: str = ""
    user_id: str | None = None


class ReplyClient(Protocol):
    async def manage(self, call: CallContext, text: str, *, dry_run: bool = False) -> Reply: ...

    async def templates(self, language: str) -> list[str]: ...

    async def end(self, call: CallContext, outcome: str) -> None: ...


class HttpReplyClient:
    """conversation-engine's HTTP API (``/api/v1/conversation/...``)."""

    def __init__(self, http: httpx.AsyncClient, base_url: str, *, timeout: float = 3.0) -> None:
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    async def manage(self, call: CallContext, text: str, *, dry_run: bool = False) -> Reply:
        body = {
            "call_id": call.call_id,
            "text": text,
            "language": call.language,
            "persona": call.persona,
            "caller": call.caller or None,
            "dry_run": dry_run,
        }
        response = await self.http.post(f"{self.base_url}/api/v1/conversation/manage", json=body, timeout=self.timeout)
        response.raise_for_status()
        return Reply.from_json(response.json())

    async def templates(self, language: str) -> list[str]:
        response = await self.http.get(
            f"{self.base_url}/api/v1/conversation/templates", params={"language": language}, timeout=self.timeout
        )
        response.raise_for_status()
        return [str(line) for line in response.json().get("replies", [])]

    async def end(self, call: CallContext, outcome: str) -> None:
        response = await self.http.post(
            f"{self.base_url}/api/v1/conversation/{call.call_id}/end", json={"outcome": outcome}, timeout=self.timeout
        )
        response.raise_for_status()


class KeywordReplyStandIn:
    """A fixed-delay stand-in for conversation-engine (benchmark capacity run, unit tests).

    Replies from a short table by keyword, and ends the call after ``max_turns`` replies, like the real engine's
    termination policy would; dry runs do not count turns.
    """

    LINES: ClassVar[dict[str, tuple[str, ...]]] = {
        "zh-CN": ("不好意思，我不需要，谢谢。", "我真的不需要，请不要再打了。", "好的，再见。"),
        "en-US": ("Sorry, I'm not interested, thank you.", "I really don't need it, please stop calling.", "Goodbye."),
    }

    def __init__(self, *, delay_seconds: float = 0.0, max_turns: int = 3) -> None:
        self.delay_seconds = delay_seconds
        self.max_turns = max_turns
        self.turns: dict[str, int] = {}
        self.ended: dict[str, str] = {}
        self.requests: list[tuple[str, str, bool]] = []

    def _reply(self, language: str, turn: int) -> Reply:
        lines = self.LINES.get(language, self.LINES["en-US"])
        final = turn >= self.max_turns
        text = lines[-1] if final else lines[min(turn - 1, len(lines) - 2)]
        return Reply(text=text, intent="sales_call", stage="handling", should_terminate=final,
                     reason="max_turns" if final else "")  # fmt: skip

    async def manage(self, call: CallContext, text: str, *, dry_run: bool = False) -> Reply:
        self.requests.append((call.call_id, text, dry_run))
        if self.delay_seconds:
            await asyncio.sleep(self.delay_seconds)
        turn = self.turns.get(call.call_id, 0) + 1
        if not dry_run:
            self.turns[call.call_id] = turn
        return self._reply(call.language, turn)

    async def templates(self, language: str) -> list[str]:
        return list(self.LINES.get(language, ()))

    async def end(self, call: CallContext, outcome: str) -> None:
        self.ended[call.call_id] = outcome
        self.turns.pop(call.call_id, None)
