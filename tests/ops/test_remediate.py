"""Guards around every action: budgets, approvals, services per incident, dry-run."""

from __future__ import annotations

from pathlib import Path

import pytest

from answer_ninja.ops.models import ActionKind, ActionOutcome, ActionRecord, PlannedAction, utc_now
from answer_ninja.ops.platforms.local import LocalPlatform
from answer_ninja.ops.remediate import ActionRunner
from answer_ninja.ops.store import IncidentStore
from answer_ninja.platform.settings import load_settings
from tests.harness.servers import free_port
from tests.ops.factories import incident

RESTART = PlannedAction(ActionKind.RESTART, ("phone-gateway",), "test")


@pytest.fixture
def store(tmp_path: Path) -> IncidentStore:
    return IncidentStore(tmp_path)


def _runner(store: IncidentStore, *, dry_run: bool = False, **settings: object) -> ActionRunner:
    # A supervisor port nobody listens on: any call that reached the platform would fail the test loudly.
    values = load_settings(supervisor_port=free_port(), **settings)
    return ActionRunner(LocalPlatform(values), store, values, dry_run=dry_run)


async def test_dry_run_changes_nothing_and_is_audited_as_such(store: IncidentStore) -> None:
    record = await _runner(store, dry_run=True).run(RESTART)
    assert record.outcome == ActionOutcome.DRY_RUN
    assert "restart phone-gateway" in record.detail
    row = store.audit_log()[0]
    assert (row["action"], row["result"], row["dry_run"]) == ("restart", "dry_run", 1)


async def test_restart_budget_holds_across_runners(store: IncidentStore) -> None:
    for _ in range(3):
        store.audit(actor="responder", action="restart", target="phone-gateway", reason="t", result="succeeded")
    record = await _runner(store, responder_max_restarts_per_service_hour=3).run(RESTART)
    assert record.outcome == ActionOutcome.SKIPPED
    assert "3 times in the last hour" in record.detail


async def test_rollback_waits_for_a_person_when_configured(store: IncidentStore) -> None:
    runner = _runner(store, responder_approval_required="rollback,failover")
    rollback = PlannedAction(ActionKind.ROLLBACK, ("phone-gateway",), "test")
    opened = incident("phone-gateway")
    record = await runner.run(rollback, opened)
    assert record.outcome == ActionOutcome.SKIPPED
    pending = store.approvals(status="pending")
    assert len(pending) == 1
    assert pending[0]["id"] in record.detail
    store.decide_approval(pending[0]["id"], approved=True, by="alice")
    assert runner.guard(rollback, opened) is None


def test_one_incident_touches_at_most_the_budgeted_services(store: IncidentStore) -> None:
    runner = _runner(store, responder_max_services_per_incident=2)
    opened = incident("a", "b")
    now = utc_now()
    opened.actions = [
        ActionRecord(ActionKind.RESTART, (name,), "t", ActionOutcome.SUCCEEDED, now, now) for name in ("a", "b")
    ]
    guard = runner.guard(PlannedAction(ActionKind.RESTART, ("c",), "t"), opened)
    assert guard is not None
    assert "would touch 3 services" in guard.detail
    assert runner.guard(PlannedAction(ActionKind.RESTART, ("a",), "t"), opened) is None
