"""The local Platform against a real `answer-ninja up`: every runbook command the responder may use."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator

import httpx
import pytest

from answer_ninja.ops.drills import never_ready_argv
from answer_ninja.ops.platforms.base import InstanceState, ResourceLimits
from answer_ninja.ops.platforms.local import LocalPlatform, _parse_memory
from answer_ninja.platform.settings import load_settings
from tests.harness.credentials import SUPERVISOR_TOKEN
from tests.harness.stack import LocalStack

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    with LocalStack(tmp_path_factory.mktemp("local-platform"), services=["phone-gateway"]) as running:
        yield running


def _platform(stack: LocalStack) -> LocalPlatform:
    return LocalPlatform(
        load_settings(supervisor_port=stack.supervisor_port, supervisor_token=SUPERVISOR_TOKEN),
        supervisor_url=stack.supervisor_url,
    )


def _run(stack: LocalStack, work: Callable[[LocalPlatform], Awaitable[None]]) -> None:
    async def go() -> None:
        platform = _platform(stack)
        try:
            await work(platform)
        finally:
            await platform.close()

    asyncio.run(go())


def test_observe_instances_events_logs_node(stack: LocalStack) -> None:
    async def work(platform: LocalPlatform) -> None:
        assert await platform.services() == ["phone-gateway"]
        [instance] = await platform.instances("phone-gateway")
        assert instance.state == InstanceState.RUNNING
        assert instance.ready
        assert instance.revision == 1
        assert await platform.instances("nope") == []
        assert any(event.reason == "Started" for event in await platform.events("phone-gateway"))
        assert await platform.logs("phone-gateway", tail=5)
        [node] = await platform.node_status()
        assert 0 < node.details["memory_used_fraction"] < 1

    _run(stack, work)


def test_config_snapshot_patch_restore(stack: LocalStack) -> None:
    async def work(platform: LocalPlatform) -> None:
        before = await platform.read_config()
        changed = await platform.patch_config({"DEGRADED_MODE": "true"})
        assert changed.data["DEGRADED_MODE"] == "true"
        assert changed.version != before.version
        await platform.restore_config(before)
        assert (await platform.read_config()).data == before.data

    _run(stack, work)


def test_bad_release_then_rollback_to_previous(stack: LocalStack) -> None:
    async def work(platform: LocalPlatform) -> None:
        argv = never_ready_argv("phone-gateway")
        number = await platform.deploy("phone-gateway", env={}, argv=argv, change_cause="never ready")
        assert number == 2
        assert not await platform.wait_ready("phone-gateway", timeout=2)
        revisions = await platform.revisions("phone-gateway")
        assert [(r.number, r.current) for r in revisions] == [(1, False), (2, True)]
        await platform.rollback("phone-gateway")
        assert await platform.wait_ready("phone-gateway", timeout=30)
        assert (await platform.instances("phone-gateway"))[0].revision == 1

    _run(stack, work)


def test_scale_out_and_back(stack: LocalStack) -> None:
    async def work(platform: LocalPlatform) -> None:
        await platform.scale("phone-gateway", 2)
        assert await platform.wait_ready("phone-gateway", timeout=30)
        instances = await platform.instances("phone-gateway")
        assert [i.name for i in instances] == ["phone-gateway", "phone-gateway-2"]
        assert len({i.address for i in instances}) == 2
        assert await platform.replicas("phone-gateway") == 2
        await platform.scale("phone-gateway", 1)
        assert [i.name for i in await platform.instances("phone-gateway")] == ["phone-gateway"]

    _run(stack, work)


def test_memory_limit_oom_kills_then_raising_it_recovers(stack: LocalStack) -> None:
    async def work(platform: LocalPlatform) -> None:
        await platform.set_resource_limits("phone-gateway", ResourceLimits(memory="16Mi"))
        for _ in range(100):
            [instance] = await platform.instances("phone-gateway")
            if instance.last_exit_reason == "OOMKilled":
                break
            await asyncio.sleep(0.1)
        assert instance.last_exit_reason == "OOMKilled"
        await platform.set_resource_limits("phone-gateway", ResourceLimits(memory="1Gi"))
        assert await platform.wait_ready("phone-gateway", timeout=30)
        assert (await platform.resource_limits("phone-gateway")).memory == "1024Mi"

    _run(stack, work)


def test_failover_moves_the_address_to_the_backup_and_back(stack: LocalStack) -> None:
    async def work(platform: LocalPlatform) -> None:
        own = await platform.service_url("phone-gateway")
        await platform.switch_traffic("phone-gateway", to="phone-gateway-backup")
        assert await platform.traffic_target("phone-gateway") == "phone-gateway-backup"
        moved = await platform.service_url("phone-gateway")
        assert moved != own
        async with httpx.AsyncClient() as client:
            assert (await client.get(moved + "/ready")).status_code == 200
        await platform.switch_traffic("phone-gateway", to="phone-gateway")
        assert await platform.service_url("phone-gateway") == own

    _run(stack, work)


def test_memory_quantities() -> None:
    assert _parse_memory("512Mi") == 512
    assert _parse_memory("2Gi") == 2048
    assert _parse_memory("1048576") == 1
