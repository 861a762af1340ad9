"""conversation-engine with a real LLM server: readiness, the reply source, dry runs, and an LLM that is down."""

from __future__ import annotations

import pytest

from answer_ninja.services.conversation_engine.app import create_app
from tests.harness.llm_server import LlmServer
from tests.harness.servers import free_port
from tests.services.conversation_engine.conftest import app_client, engine_settings, say

pytestmark = pytest.mark.integration


async def test_with_the_llm_up_ready_checks_it_and_turns_use_it_or_fall_back(llm_server: LlmServer) -> None:
    settings = engine_settings(
        llm_base_url=llm_server.base_url, llm_timeout_seconds=30, llm_prepare_timeout_seconds=30, llm_max_tokens=12
    )
    async for client in app_client(create_app(settings)):
        ready = (await client.get("/ready")).json()
        assert ready["checks"]["llm"]["ok"] is True
        assert ready["checks"]["llm"]["required"] is False
        body = await say(client, "l1", "Hello, would you be interested in upgrading your kitchen")
        assert body["reply_source"] in {"llm", "template"}
        assert body["reply"]
        if body["reply_source"] == "template":
            assert body["fallback_reason"].startswith("unsafe_reply:")


async def test_a_dry_run_prepares_the_llm_reply_the_real_turn_speaks(llm_server: LlmServer) -> None:
    settings = engine_settings(
        llm_base_url=llm_server.base_url, llm_timeout_seconds=30, llm_prepare_timeout_seconds=30, llm_max_tokens=12
    )
    async for client in app_client(create_app(settings)):
        await say(client, "l2", "您好，我们有一款理财产品，年化收益百分之十二")
        dry = await say(client, "l2", "但是收益真的很高", dry_run=True)
        real = await say(client, "l2", "但是收益真的很高")
        assert (dry["reply"], dry["reply_source"], dry["turn"]) == (real["reply"], real["reply_source"], real["turn"])


async def test_an_unreachable_llm_degrades_but_stays_ready_and_answers_from_templates() -> None:
    settings = engine_settings(llm_base_url=f"http://127.0.0.1:{free_port()}/v1", llm_breaker_failures=1)
    async for client in app_client(create_app(settings)):
        ready = await client.get("/ready")
        assert ready.status_code == 200
        assert ready.json()["warnings"] == ["llm"]
        health = (await client.get("/health")).json()
        assert health["degraded"] is True
        assert any("LLM" in reason for reason in health["degraded_reasons"])
        first = await say(client, "l3", "Hi, do you need cash fast? We offer same day loans")
        second = await say(client, "l3", "no credit check needed, really")
        assert first["reply_source"] == second["reply_source"] == "template"
        assert first["fallback_reason"] == "error:APIConnectionError"
        assert second["fallback_reason"] == "circuit_open"
        metrics = (await client.get("/metrics")).text
        assert "ai_ninja_llm_circuit_open 1.0" in metrics
