"""Notifications with the runbook's Slack and customer templates, filled with the incident's real values.

Sent to a Slack incoming webhook (its documented wire format: POST JSON ``{"text": ...}``) on open, on each
state change, on escalation and on resolve. Without a webhook the text is still rendered and kept on the
incident's timeline, so nothing depends on Slack being reachable.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import httpx
import jinja2

from answer_ninja.ops.models import ActionKind, ActionOutcome, Incident, IncidentStatus, utc_now
from answer_ninja.platform.logging import get_logger
from answer_ninja.platform.settings import Settings

log = get_logger(__name__)

_templates = jinja2.Environment(
    loader=jinja2.PackageLoader("answer_ninja.ops", "templates"),
    undefined=jinja2.StrictUndefined,  # a missing value is a bug, never an empty field in front of customers
    keep_trailing_newline=True,
    autoescape=False,  # plain text for Slack and e-mail, not HTML
)

# The runbook's remedies, in its order, as the checklist of "已尝试方案".
STEP_LABELS: dict[ActionKind, str] = {
    ActionKind.RESTART: "服务重启",
    ActionKind.RESTART_ALL: "批量服务重启",
    ActionKind.RESTORE_CONFIG: "配置检查与恢复",
    ActionKind.SCALE: "资源扩容",
    ActionKind.RAISE_LIMITS: "资源限制调整",
    ActionKind.ROLLBACK: "版本回滚",
    ActionKind.DEGRADE: "服务降级",
    ActionKind.FAILOVER: "流量切换",
}
HEADLINES = {
    IncidentStatus.DETECTED: "🚨 [CRITICAL] 服务不可用 - 已检测",
    IncidentStatus.CONFIRMED: "🚨 [CRITICAL] 服务不可用 - 已确认",
    IncidentStatus.MITIGATING: "🚨 [CRITICAL] 服务不可用 - 修复进行中",
    IncidentStatus.RECOVERED: "🟡 [CRITICAL] 服务已恢复 - 验证中",
    IncidentStatus.RESOLVED: "✅ [RESOLVED] 服务已恢复",
    IncidentStatus.ESCALATED: "⬆️ [CRITICAL] 服务不可用 - 已升级, 需要人工干预",
    IncidentStatus.FALSE_ALARM: "ℹ️ [INFO] 告警未确认 (抖动)",
}
STATUS_TEXT = {
    IncidentStatus.DETECTED: "检测到故障",
    IncidentStatus.CONFIRMED: "故障已确认, 正在诊断",
    IncidentStatus.MITIGATING: "自动修复进行中",
    IncidentStatus.RECOVERED: "服务已恢复, 正在验证",
    IncidentStatus.RESOLVED: "已恢复并通过验证",
    IncidentStatus.ESCALATED: "已升级, 等待人工处理",
    IncidentStatus.FALSE_ALARM: "未确认",
}


@dataclass(frozen=True)
class Step:
    label: str
    tried: bool
    result: str


def _fmt(moment: datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")


def _eta(incident: Incident) -> str:
    if incident.status == IncidentStatus.RESOLVED:
        return "已恢复"
    if incident.status == IncidentStatus.ESCALATED:
        return "待人工评估"
    return "数分钟内 (自动修复中)"


def _progress(incident: Incident) -> str:
    ran = [a for a in incident.actions if a.outcome in (ActionOutcome.SUCCEEDED, ActionOutcome.FAILED)]
    mode = f"模式{incident.mode}" if incident.mode else "诊断中"
    text = f"{mode}; 已执行 {len(ran)} 个修复动作"
    if incident.escalation_reason:
        text += f"; 升级原因: {incident.escalation_reason}"
    return text


def steps_of(incident: Incident) -> list[Step]:
    results: dict[ActionKind, str] = {}
    for action in incident.actions:
        results[action.kind] = str(action.outcome)
    return [Step(label, kind in results, results.get(kind, "")) for kind, label in STEP_LABELS.items()]


def render_slack(incident: Incident, settings: Settings) -> str:
    return _templates.get_template("slack.md.j2").render(
        headline=HEADLINES[incident.status],
        affected_services=", ".join(incident.services) or "-",
        start_time=_fmt(incident.started_at),
        current_status=STATUS_TEXT[incident.status],
        repair_progress=_progress(incident),
        steps=steps_of(incident),
        eta=_eta(incident),
        engineer=settings.responder_engineer,
        dashboard_url=settings.responder_dashboard_url,
        incident_url=f"{settings.responder_incident_base_url.rstrip('/')}/{incident.id}",
    )


def render_customer_notice(incident: Incident) -> str:
    return _templates.get_template("customer.md.j2").render(
        resolved=incident.status == IncidentStatus.RESOLVED,
        resolved_time=_fmt(incident.resolved_at) if incident.resolved_at else "",
        impact="电话接听和AI响应功能",
        eta=_eta(incident),
        timestamp=_fmt(utc_now()),
    )


async def send_slack(client: httpx.AsyncClient, webhook_url: str, text: str) -> None:
    """Slack incoming webhook: POST ``{"text": ...}``; Slack answers 200 ``ok``."""
    response = await client.post(webhook_url, json={"text": text}, timeout=5.0)
    response.raise_for_status()


class Notifier:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.sent: list[str] = []

    async def notify(self, incident: Incident) -> str | None:
        """Send the Slack message for the incident's current state; return an error text if sending failed."""
        text = render_slack(incident, self.settings)
        self.sent.append(text)
        if self.settings.slack_webhook_url is None:
            return None
        try:
            async with httpx.AsyncClient() as client:
                await send_slack(client, self.settings.slack_webhook_url.get_secret_value(), text)
        except httpx.HTTPError as error:
            # The webhook URL is a secret: say what failed, never where.
            log.warning("notification_failed", error_type=type(error).__name__)
            return f"slack webhook failed: {type(error).__name__}"
        return None
