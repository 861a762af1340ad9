"""The runbook's verification script (验证修复结果), as code.

1. every instance Running, 2. /health and /ready pass, 3. no service's metrics show it down (Prometheus ``up``
when PROMETHEUS_URL is set, else each /metrics must parse as Prometheus text), 4. an end-to-end synthetic call
through the loopback carrier gets an AI reply.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import httpx
from prometheus_client.parser import text_string_to_metric_families

from answer_ninja.ops.platforms.base import InstanceState, Platform
from answer_ninja.ops.probe import probe_services
from answer_ninja.platform.auth.client import service_auth
from answer_ninja.platform.settings import Settings

SYNTHETIC_CALLER = "+8613800000000"
SYNTHETIC_UTTERANCE = "你好，我们这边有一个贷款产品"


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class VerificationReport:
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    def failed(self) -> list[Check]:
        return [check for check in self.checks if not check.ok]

    def as_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in self.checks],
        }


async def _instances_running(platform: Platform, services: list[str]) -> list[Check]:
    checks = []
    for service in services:
        instances = await platform.instances(service)
        bad = [f"{i.name} {i.state}" for i in instances if i.state != InstanceState.RUNNING]
        ok = bool(instances) and not bad
        checks.append(Check(f"{service} instances Running", ok, ", ".join(bad) or f"{len(instances)} running"))
    return checks


async def _metrics_up(client: httpx.AsyncClient, settings: Settings, urls: dict[str, str]) -> list[Check]:
    prometheus_url: str | None = getattr(settings, "prometheus_url", None)
    if prometheus_url:
        jobs = "|".join(urls)
        try:
            response = await client.get(
                prometheus_url.rstrip("/") + "/api/v1/query", params={"query": f'up{{job=~"{jobs}"}}'}
            )
            results = response.json()["data"]["result"]
        except (httpx.HTTPError, ValueError, KeyError):
            results = None  # no Prometheus here (the embedded default): scrape the services ourselves
        if results:
            down = [r["metric"].get("job", "?") for r in results if r["value"][1] == "0"]
            detail = "down: " + ", ".join(down) if down else f"{len(results)} targets up"
            return [Check("prometheus up", not down, detail)]

    async def scrape(service: str, url: str) -> Check:
        try:
            response = await client.get(url + "/metrics")
            families = {family.name for family in text_string_to_metric_families(response.text)}
        except (httpx.HTTPError, ValueError) as error:
            return Check(f"{service} /metrics", False, f"not scrapable: {type(error).__name__}")
        ok = response.status_code == 200 and "ai_ninja_service_info" in families
        return Check(f"{service} /metrics", ok, f"{len(families)} metric families")

    return list(await asyncio.gather(*(scrape(name, url) for name, url in urls.items())))


async def synthetic_call(client: httpx.AsyncClient, settings: Settings, gateway_url: str) -> Check:
    """A call from the loopback carrier to the probe number must be answered by the AI, with a reply."""
    name = "end-to-end synthetic call"
    try:
        call = await client.post(
            gateway_url + "/webhook/incoming-call",
            json={"from": SYNTHETIC_CALLER, "to": settings.synthetic_probe_number, "carrier": "loopback"},
        )
        body = call.json()
        if call.status_code != 200 or body.get("decision") != "ai":
            return Check(name, False, f"gateway answered {call.status_code} decision={body.get('decision')!r}")
        turn = await client.post(
            settings.conversation_engine_url + "/api/v1/conversation/manage",
            json={"call_id": body["call_id"], "text": SYNTHETIC_UTTERANCE, "language": "zh-CN"},
        )
        reply = turn.json().get("reply") if turn.status_code == 200 else None
    except (httpx.HTTPError, ValueError, KeyError) as error:
        return Check(name, False, f"{type(error).__name__}: {error}")
    if not reply:
        return Check(name, False, f"no AI reply (HTTP {turn.status_code})")
    return Check(name, True, f"call {body['call_id']} answered by AI: {str(reply)[:60]}")


async def verify(platform: Platform, settings: Settings, services: list[str]) -> VerificationReport:
    report = VerificationReport()
    urls = {service: await platform.service_url(service) for service in services}
    timeout = settings.responder_probe_timeout_seconds
    async with httpx.AsyncClient(timeout=max(timeout, 10.0), auth=service_auth(settings, "responder")) as client:
        report.checks += await _instances_running(platform, services)
        probes = await probe_services(client, urls, timeout)
        report.checks += [Check(f"{name} /health /ready", p.ok, p.summary()) for name, p in probes.items()]
        report.checks += await _metrics_up(client, settings, urls)
        if settings.responder_synthetic_call and "phone-gateway" in urls:
            report.checks.append(await synthetic_call(client, settings, urls["phone-gateway"]))
    return report
