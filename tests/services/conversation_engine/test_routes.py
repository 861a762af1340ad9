"""conversation-engine's HTTP contract on the in-process cache: turns, dry runs, state, end, classify, templates."""

from __future__ import annotations

import httpx
import pytest

from answer_ninja.services.conversation_engine.app import create_app
from tests.harness.servers import free_port
from tests.services.conversation_engine.conftest import app_client, engine_settings, say

CONTRACT_FIELDS = {"reply", "intent", "confidence", "stage", "should_terminate", "reason", "turn", "latency_ms"}


async def test_manage_answers_with_the_contract_fields(client: httpx.AsyncClient) -> None:
    body = await say(client, "c1", "您好，我们这边是做贷款的，最高可以贷五十万")
    assert body.keys() >= CONTRACT_FIELDS
    assert body["intent"] == "loan"
    assert body["language"] == "zh-CN"
    assert body["stage"] == "handling"
    assert body["turn"] == 1
    assert body["should_terminate"] is False
    assert body["reply_source"] == "template"
    assert body["reply"]


async def test_a_persistent_seller_is_declined_ever_more_firmly_then_cut_off(client: httpx.AsyncClient) -> None:
    pitch = "Hi, we have a special promotion on home security systems this week only"
    stages = []
    replies = []
    for _ in range(6):
        body = await say(client, "c2", pitch, persona="direct")
        stages.append(body["stage"])
        replies.append(body["reply"])
        if body["should_terminate"]:
            break
    assert stages == ["handling", "polite_decline", "firm_rejection", "hang_up_warning", "call_end"]
    assert body["reason"] == "persistence"
    assert len(set(replies)) == len(replies), "a caller never hears the same line twice"


async def test_goodbye_ends_the_call_with_a_closing_line(client: httpx.AsyncClient) -> None:
    await say(client, "c3", "Hello, are you interested in buying crypto")
    body = await say(client, "c3", "ok fine, goodbye")
    assert body["should_terminate"] is True
    assert body["stage"] == "call_end"
    assert body["reason"] == "goodbye"


async def test_dry_run_saves_nothing_and_predicts_the_real_reply(client: httpx.AsyncClient) -> None:
    await say(client, "c4", "您好，我们是某某人寿的，给您介绍一款重疾险")
    dry = await say(client, "c4", "但是这个保险真的很划算", dry_run=True)
    state = (await client.get("/api/v1/conversation/c4")).json()
    assert state["dialogue"]["turn"] == 1, "a dry run must not advance the call"
    real = await say(client, "c4", "但是这个保险真的很划算")
    assert dry["dry_run"] is True
    assert real["dry_run"] is False
    assert (dry["reply"], dry["stage"], dry["turn"]) == (real["reply"], real["stage"], real["turn"])


async def test_state_holds_history_and_end_records_the_outcome(client: httpx.AsyncClient) -> None:
    await say(client, "c5", "Hi, this is the delivery driver, I'm outside with your package", caller="+15550100")
    state = (await client.get("/api/v1/conversation/c5")).json()
    assert state["caller"] == "+15550100"
    assert [entry["role"] for entry in state["history"]] == ["caller", "assistant"]
    assert state["history"][0]["intent"] == "legitimate"
    ended = (await client.post("/api/v1/conversation/c5/end", json={"outcome": "caller_hung_up"})).json()
    assert ended["outcome"] == "caller_hung_up"
    assert ended["dialogue"]["stage"] == "call_end"
    assert ended["dialogue"]["end_reason"] == "caller_hung_up"
    after = await say(client, "c5", "hello?")
    assert after["should_terminate"] is True
    assert after["turn"] == 1, "an ended call does not take more turns"


async def test_unknown_call_is_404(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/conversation/nope")).status_code == 404
    assert (await client.post("/api/v1/conversation/nope/end", json={"outcome": "completed"})).status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"text": "hi"}, "call_id"),
        ({"call_id": "c", "text": "   "}, "text"),
        ({"call_id": "c", "text": "hi", "language": "fr-FR"}, "language"),
        ({"call_id": "c", "text": "hi", "persona": "rude"}, "persona"),
        ({"call_id": "bad id with spaces", "text": "hi"}, "call_id"),
    ],
)
async def test_bad_manage_input_is_422_naming_the_field(
    client: httpx.AsyncClient, body: dict[str, str], field: str
) -> None:
    response = await client.post("/api/v1/conversation/manage", json=body)
    assert response.status_code == 422
    assert field in [problem["field"] for problem in response.json()["fields"]]


async def test_end_needs_an_outcome(client: httpx.AsyncClient) -> None:
    await say(client, "c6", "hello?")
    response = await client.post("/api/v1/conversation/c6/end", json={})
    assert response.status_code == 422
    assert response.json()["fields"][0]["field"] == "outcome"


async def test_classify_returns_intent_confidence_language(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/intent/classify", json={"text": "这里是公安局，你的账户涉嫌洗钱，把钱转到安全账户"}
    )
    body = response.json()
    assert body["intent"] == "scam"
    assert body["language"] == "zh-CN"
    assert 0 < body["confidence"] < 1
    assert body["evidence"]


@pytest.mark.parametrize("language", ["zh-CN", "en-US"])
async def test_templates_list_every_line_the_engine_says(client: httpx.AsyncClient, language: str) -> None:
    replies = set((await client.get(f"/api/v1/conversation/templates?language={language}")).json()["replies"])
    assert len(replies) > 50
    for number in range(4):
        body = await say(
            client, f"t-{language}-{number}", "您好，我们这边有新楼盘开盘" if language == "zh-CN" else "hi"
        )
        body = await say(client, f"t-{language}-{number}", "真的很划算" if language == "zh-CN" else "but really")
        assert body["reply"] in replies


async def test_templates_need_a_supported_language(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/conversation/templates?language=de-DE")
    assert response.status_code == 422
    assert response.json()["fields"][0]["field"] == "language"


async def test_turn_metrics_are_exported(client: httpx.AsyncClient) -> None:
    await say(client, "m1", "您好，我们正在做一个满意度调查，耽误您两分钟")
    text = (await client.get("/metrics")).text
    assert 'ai_ninja_conversation_turns_total{intent="survey",stage="handling"}' in text
    assert "ai_ninja_conversation_turn_seconds_bucket" in text


async def test_degraded_mode_never_builds_an_llm_client() -> None:
    settings = engine_settings(degraded_mode=True, llm_base_url="http://127.0.0.1:9/v1")
    async for client in app_client(create_app(settings)):
        body = await say(client, "d1", "Hi, do you need cash fast? We offer same day loans")
        assert body["reply_source"] == "template"
        assert body["fallback_reason"] is None, "templates by design, not a failed LLM call"
        ready = (await client.get("/ready")).json()
        assert "llm" not in ready["checks"]
        assert (await client.get("/health")).json()["degraded"] is True


async def test_language_and_persona_can_change_mid_call(client: httpx.AsyncClient) -> None:
    first = await say(client, "c7", "您好，我们这边有新楼盘开盘，首付只要二十万")
    second = await say(client, "c7", "sorry, do you speak English? new condos, small down payment", language="en-US")
    assert (first["language"], second["language"]) == ("zh-CN", "en-US")
    assert second["reply"].isascii()
    third = await say(client, "c7", "but it's a real opportunity", persona="humorous")
    assert third["persona"] == "humorous"
    state = (await client.get("/api/v1/conversation/c7")).json()
    assert (state["dialogue"]["language"], state["dialogue"]["persona"]) == ("en-US", "humorous")


async def test_with_the_state_store_down_turns_still_get_replies_and_health_says_why() -> None:
    settings = engine_settings(redis_url=f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    async for client in app_client(create_app(settings)):
        first = await say(client, "s1", "您好，我们这边是做贷款的，最高可以贷五十万")
        again = await say(client, "s1", "利息很低的")
        assert (first["intent"], first["reply_source"]) == ("loan", "template")
        assert again["turn"] == 1, "without its state every turn is a first turn, but it is answered"
        health = (await client.get("/health")).json()
        assert any("state store" in reason for reason in health["degraded_reasons"])
        assert (await client.get("/api/v1/conversation/s1")).status_code == 503
        assert "ai_ninja_conversation_state_errors_total" in (await client.get("/metrics")).text
