"""The runbook's Slack and customer templates, filled with real values and sent in Slack's wire format."""

from __future__ import annotations

import httpx

from answer_ninja.ops.models import (
    ActionKind,
    ActionOutcome,
    ActionRecord,
    FailureMode,
    Incident,
    IncidentStatus,
    utc_now,
)
from answer_ninja.ops.notify import Notifier, render_customer_notice, render_slack
from answer_ninja.platform.settings import load_settings
from tests.harness.monitoring import WebhookRecorder
from tests.ops.factories import incident


def _incident() -> Incident:
    opened = incident("phone-gateway")
    opened.mode = FailureMode.SINGLE_SERVICE
    opened.status = IncidentStatus.MITIGATING
    now = utc_now()
    opened.actions.append(ActionRecord(ActionKind.RESTART, ("phone-gateway",), "t", ActionOutcome.FAILED, now, now))
    return opened


def test_slack_message_fills_every_field_of_the_runbook_template() -> None:
    settings = load_settings(responder_engineer="alice", responder_incident_base_url="http://ops.local/incidents")
    text = render_slack(_incident(), settings)
    assert text.startswith("🚨 [CRITICAL] 服务不可用 - 修复进行中")
    assert "服务: phone-gateway" in text
    assert "当前状态: 自动修复进行中" in text
    assert "- [X] 服务重启 (failed)" in text
    assert "- [ ] 版本回滚" in text
    assert "负责工程师: @alice" in text
    assert "事故追踪: http://ops.local/incidents/INC-test" in text
    assert "{{" not in text


def test_customer_notice_before_and_after() -> None:
    opened = _incident()
    assert "影响范围: 电话接听和AI响应功能" in render_customer_notice(opened)
    opened.status = IncidentStatus.RESOLVED
    opened.resolved_at = utc_now()
    assert "已于" in render_customer_notice(opened)


async def test_notifier_posts_slack_json_to_the_webhook() -> None:
    with WebhookRecorder() as slack:
        notifier = Notifier(load_settings(slack_webhook_url=slack.url))
        assert await notifier.notify(_incident()) is None
    [(_, body, _)] = slack.received
    assert set(body) == {"text"}
    assert "服务: phone-gateway" in body["text"]


async def test_an_unreachable_webhook_is_reported_without_its_url() -> None:
    secret_url = "http://127.0.0.1:9/services/T0/B0/very-secret"
    error = await Notifier(load_settings(slack_webhook_url=secret_url)).notify(_incident())
    assert error is not None
    assert "very-secret" not in error
    assert issubclass(httpx.ConnectError, httpx.HTTPError)
