"""After each call the AI handled, a short summary to the channels the person chose (Apprise: e-mail, WeCom,
DingTalk, Telegram, ntfy, webhooks). Sent here because this is where the call is summarised; in the background,
so learning never waits for a mail server, and best effort: a failed channel is logged (without its target, which
may hold a robot key) and counted, never retried into a storm.

Webhook and ntfy targets that resolve to loopback, private or link-local addresses are refused unless
NOTIFY_ALLOW_PRIVATE_TARGETS is set (a person's webhook must not reach inside the cluster).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from typing import Any

import apprise
from prometheus_client import Counter

from answer_ninja.platform.app_factory import ServiceContext
from answer_ninja.platform.logging import get_logger
from answer_ninja.services.user_management.notification_channels import Channel, apprise_url, target_host

log = get_logger(__name__)

NOTIFICATIONS = Counter(
    "ai_ninja_notifications_total", "Call summaries sent to people's channels, by kind and result.", ["kind", "result"]
)
SEND_TIMEOUT_SECONDS = 20.0

TITLES = {"zh-CN": "AI 接线忍者：来自 {caller} 的通话", "en-US": "AI Answer Ninja: call from {caller}"}
BODIES = {
    "zh-CN": "AI 接听了来自 {caller} 的电话（{duration} 秒）。意图：{intent}；结果：{outcome}。\n{lines}",
    "en-US": "The AI answered a call from {caller} ({duration} s). Intent: {intent}; outcome: {outcome}.\n{lines}",
}


def message(summary: dict[str, Any], *, caller: str, language: str) -> tuple[str, str]:
    """Title and body of one call's notification, in the person's language (short: a phone's lock screen)."""
    lang = language if language in TITLES else "zh-CN"
    lines = "\n".join(f"{line.get('speaker')}: {line.get('text')}" for line in summary.get("key_lines", [])[:3])
    body = BODIES[lang].format(
        caller=caller,
        duration=summary.get("duration_seconds", 0),
        intent=summary.get("intent", "unknown"),
        outcome=summary.get("outcome", "unknown"),
        lines=lines,
    )
    return TITLES[lang].format(caller=caller), body


async def is_private(host: str) -> bool:
    """Whether the host is, or resolves to, an address inside (loopback, private, link-local, reserved)."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        return True  # unresolvable: nothing to send to, and nothing is learned about the inside
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if address.is_private or address.is_loopback or address.is_link_local or address.is_reserved:
            return True
    return False


def _send_blocking(url: str, title: str, body: str) -> bool:
    # All of Apprise in the worker thread: its first use loads its plugins (seconds of CPU), then sends (network).
    notifier = apprise.Apprise()
    return bool(notifier.add(url)) and bool(notifier.notify(body=body, title=title))


async def _send_one(url: str, title: str, body: str) -> bool:
    return await asyncio.wait_for(asyncio.to_thread(_send_blocking, url, title, body), SEND_TIMEOUT_SECONDS)


async def send_summary(ctx: ServiceContext, *, user_id: str, caller: str, summary: dict[str, Any]) -> dict[str, str]:
    """Send one finished call's summary to each enabled channel; kind -> sent | failed | skipped (why)."""
    url = f"{ctx.settings.user_management_url}/internal/v1/users/{user_id}/notifications"
    try:
        response = await ctx.require_http().get(url)
        response.raise_for_status()
        targets = response.json()
    except Exception as error:  # user-management away: this call's notice is lost, the console still shows it
        log.warning("notification_targets_unavailable", error=type(error).__name__)
        return {}
    email_server = ctx.settings.notify_email_url.get_secret_value() if ctx.settings.notify_email_url else None
    title, body = message(summary, caller=caller, language=str(targets.get("language", "zh-CN")))
    results: dict[str, str] = {}
    for raw in targets.get("channels", []):
        channel = Channel.model_validate(raw)
        if not channel.enabled:
            continue
        host = target_host(channel)
        if host and not ctx.settings.notify_allow_private_targets and await is_private(host):
            results[channel.kind] = "skipped: private address"
        else:
            target = apprise_url(channel, account_email=str(targets.get("email", "")), email_server_url=email_server)
            if target is None:
                results[channel.kind] = "skipped: no e-mail server configured (NOTIFY_EMAIL_URL)"
            else:
                try:
                    results[channel.kind] = "sent" if await _send_one(target, title, body) else "failed"
                except Exception as error:  # one bad channel never stops the others
                    results[channel.kind] = f"failed: {type(error).__name__}"
        NOTIFICATIONS.labels(channel.kind, results[channel.kind].split(":")[0]).inc()
    log.info("call_notified", user_id=user_id, results=results)
    return results


def notify_in_background(ctx: ServiceContext, *, user_id: str, caller: str, summary: dict[str, Any]) -> None:
    """Start sending and return at once (the task is kept so it is not collected mid-flight)."""
    tasks: set[asyncio.Task[Any]] = ctx.extras.setdefault("notification_tasks", set())
    task = asyncio.create_task(send_summary(ctx, user_id=user_id, caller=caller, summary=summary), name="notify")
    tasks.add(task)
    task.add_done_callback(tasks.discard)
