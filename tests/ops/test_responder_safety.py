"""The responder never harms the stack: load is not an outage, and degraded mode it turned on it turns off."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from answer_ninja.ops.diagnose import failing_services
from answer_ninja.ops.models import ActionKind, ActionOutcome, ActionRecord, Incident, PlannedAction, utc_now
from answer_ninja.ops.platforms.base import ConfigSnapshot
from answer_ninja.ops.policy import DEGRADE_RESTARTS
from answer_ninja.ops.probe import probe_service
from answer_ninja.ops.responder import DEGRADED_BY_RESPONDER, Responder
from answer_ninja.ops.store import IncidentStore
from answer_ninja.platform.settings import Settings, load_settings
from tests.ops.factories import dead, incident, ok


def _client(ready: Callable[[httpx.Request], httpx.Response]) -> httpx.AsyncClient:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/health":
            return httpx.Response(200, json={"status": "ok"})
        return ready(request)

    return httpx.AsyncClient(transport=httpx.MockTransport(answer))


def _ready_times_out(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("slow", request=request)


@pytest.mark.parametrize(
    ("ready", "overloaded"),
    [
        (_ready_times_out, True),  # /health answers, /ready queues behind the flood
        (lambda _: httpx.Response(429, headers={"Retry-After": "2"}), True),
        (lambda _: httpx.Response(503, headers={"Retry-After": "2"}, json={"failed": []}), True),
        (lambda _: httpx.Response(503, json={"failed": ["database"]}), False),  # a real failure
    ],
)
async def test_load_is_overloaded_not_down(ready: Callable[[httpx.Request], httpx.Response], overloaded: bool) -> None:
    async with _client(ready) as client:
        probe = await probe_service(client, "user-management", "http://um", timeout=0.5)
    assert not probe.ok
    assert probe.overloaded is overloaded
    assert probe.up is overloaded
    assert ("user-management" in failing_services({"user-management": probe})) is not overloaded


class ConfigOnlyPlatform:
    """What the responder reads here: app-config and the list of services (nothing is ever restarted)."""

    name = "fake"

    def __init__(self, services: list[str]) -> None:
        self.config: dict[str, str] = {}
        self._services = services

    async def services(self) -> list[str]:
        return list(self._services)

    async def service_url(self, service: str) -> str:
        return f"http://{service}"

    async def read_config(self) -> ConfigSnapshot:
        return ConfigSnapshot(dict(self.config), utc_now())

    async def close(self) -> None:
        return None


class DegradeRunner:
    """Stands in for ActionRunner: DEGRADE sets or clears DEGRADED_MODE; ``fail_leaving`` makes leaving fail."""

    def __init__(self, platform: ConfigOnlyPlatform) -> None:
        self.platform = platform
        self.fail_leaving = False
        self.ran: list[PlannedAction] = []

    async def run(self, step: PlannedAction, incident: Incident | None = None) -> ActionRecord:
        self.ran.append(step)
        enable = step.params.get("enable", True)
        outcome = ActionOutcome.SUCCEEDED
        if enable:
            self.platform.config["DEGRADED_MODE"] = "true"
        elif self.fail_leaving:
            outcome = ActionOutcome.FAILED
        else:
            self.platform.config.pop("DEGRADED_MODE", None)
        return ActionRecord(step.kind, step.services, step.reason, outcome, utc_now(), utc_now(), "fake")


def _settings(tmp_path: Path, **overrides: Any) -> Settings:
    return load_settings(data_dir=tmp_path, responder_synthetic_call=False, **overrides)


def _responder(tmp_path: Path, services: list[str]) -> tuple[Responder, ConfigOnlyPlatform, DegradeRunner]:
    platform = ConfigOnlyPlatform(services)
    responder = Responder(platform, IncidentStore(tmp_path / "store"), _settings(tmp_path))  # type: ignore[arg-type]
    runner = DegradeRunner(platform)
    responder.runner = runner  # type: ignore[assignment]
    return responder, platform, runner


DEGRADE = PlannedAction(ActionKind.DEGRADE, DEGRADE_RESTARTS, "last resort")


async def test_degraded_mode_the_responder_set_is_turned_off_once_the_cause_is_gone(tmp_path: Path) -> None:
    responder, platform, runner = _responder(tmp_path, ["phone-gateway"])
    opened = incident("phone-gateway")
    await responder._run(opened, DEGRADE)  # the last step of a single-service ladder, not only mode C
    assert platform.config["DEGRADED_MODE"] == "true"
    assert opened.diagnosis[DEGRADED_BY_RESPONDER] is True
    assert await responder._leave_degraded_mode(opened)
    assert "DEGRADED_MODE" not in platform.config
    assert DEGRADED_BY_RESPONDER not in opened.diagnosis
    assert [step.params.get("enable", True) for step in runner.ran] == [True, False]
    await responder.close()


async def test_incident_is_not_resolved_while_its_degraded_mode_is_still_on(tmp_path: Path) -> None:
    responder, platform, runner = _responder(tmp_path, ["phone-gateway"])
    opened = incident("phone-gateway")
    await responder._run(opened, DEGRADE)
    runner.fail_leaving = True
    assert not await responder._leave_degraded_mode(opened)
    assert platform.config["DEGRADED_MODE"] == "true"
    assert opened.diagnosis[DEGRADED_BY_RESPONDER] is True  # still ours: tried again on the next round
    runner.fail_leaving = False
    assert await responder._leave_degraded_mode(opened)
    assert "DEGRADED_MODE" not in platform.config
    await responder.close()


async def test_degraded_mode_someone_else_set_is_left_alone(tmp_path: Path) -> None:
    responder, platform, runner = _responder(tmp_path, ["phone-gateway"])
    platform.config["DEGRADED_MODE"] = "true"  # an operator's choice
    opened = incident("phone-gateway")
    await responder._run(opened, DEGRADE)
    assert DEGRADED_BY_RESPONDER not in opened.diagnosis
    assert await responder._leave_degraded_mode(opened)
    assert platform.config["DEGRADED_MODE"] == "true"
    assert len(runner.ran) == 1
    await responder.close()


async def test_an_overloaded_service_opens_no_incident(tmp_path: Path) -> None:
    platform = ConfigOnlyPlatform(["user-management"])
    settings = _settings(tmp_path, responder_failures_to_confirm=1)
    store = IncidentStore(tmp_path / "store")
    responder = Responder(platform, store, settings)  # type: ignore[arg-type]
    await responder.http.aclose()
    responder.http = _client(lambda _: httpx.Response(429, headers={"Retry-After": "5"}))
    responder._started -= 3600  # past the start-up grace: a failure would count at once
    for _ in range(3):
        assert await responder.tick() is None
    assert responder.down_now == []
    assert store.open_incident() is None
    await responder.close()


def test_factories_still_mean_what_they_say() -> None:
    assert ok("a").up
    assert not dead("a").up


class RestartablePlatform(ConfigOnlyPlatform):
    def __init__(self, services: list[str]) -> None:
        super().__init__(services)
        self.restarts = 0

    async def restart(self, service: str) -> None:
        self.restarts += 1

    async def wait_ready(self, service: str, *, timeout: float) -> bool:
        return True


async def test_an_attacker_cannot_drive_the_responder_into_a_restart_loop(tmp_path: Path) -> None:
    """Kill a service again and again (each a new incident, even with a restarted responder): restarts stop at the
    hourly budget, the rest are skipped and audited as such."""
    from answer_ninja.ops.remediate import ActionRunner

    platform = RestartablePlatform(["phone-gateway"])
    settings = _settings(tmp_path, responder_max_restarts_per_service_hour=3)
    store = IncidentStore(tmp_path / "store")
    restart = PlannedAction(ActionKind.RESTART, ("phone-gateway",), "killed again")
    outcomes = []
    for _ in range(6):
        runner = ActionRunner(platform, IncidentStore(tmp_path / "store"), settings)  # type: ignore[arg-type]
        outcomes.append((await runner.run(restart, incident("phone-gateway"))).outcome)
    assert outcomes[:3] == [ActionOutcome.SUCCEEDED] * 3
    assert outcomes[3:] == [ActionOutcome.SKIPPED] * 3
    assert platform.restarts == 3
    assert sum(row["result"] == "skipped" for row in store.audit_log()) == 3
