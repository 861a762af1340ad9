"""The responder's own store: incidents, budgets and approvals survive a restart of the responder."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from answer_ninja.ops.models import IncidentStatus, TimelineEvent, utc_now
from answer_ninja.ops.store import IncidentStore
from tests.ops.factories import incident


def test_incident_round_trips_and_the_open_one_is_found_after_a_restart(tmp_path: Path) -> None:
    store = IncidentStore(tmp_path)
    opened = incident("phone-gateway")
    opened.timeline.append(TimelineEvent(utc_now(), "detected", "down: phone-gateway", {"x": 1}))
    store.save(opened)

    again = IncidentStore(tmp_path)  # a new responder process
    found = again.open_incident()
    assert found is not None
    assert found.id == opened.id
    assert found.timeline[0].data == {"x": 1}
    assert round(found.mttd_seconds, 3) == round(opened.mttd_seconds, 3)

    found.status = IncidentStatus.RESOLVED
    again.save(found)
    assert again.open_incident() is None
    assert [i.id for i in again.recent()] == [opened.id]


def test_budget_counts_real_actions_only_and_survives_a_restart(tmp_path: Path) -> None:
    store = IncidentStore(tmp_path)
    for result in ("succeeded", "failed", "skipped", "dry_run"):
        store.audit(
            actor="responder",
            action="restart",
            target="phone-gateway",
            reason="t",
            result=result,
            dry_run=result == "dry_run",
        )
    store.audit(actor="responder", action="restart", target="conversation-engine", reason="t", result="succeeded")
    again = IncidentStore(tmp_path)
    assert again.count_actions(action="restart", target="phone-gateway", since=timedelta(hours=1)) == 2
    assert again.count_actions(action="restart", target="phone-gateway", since=timedelta(0)) == 0


def test_approval_is_requested_once_and_decided_once(tmp_path: Path) -> None:
    store = IncidentStore(tmp_path)
    first = store.request_approval(incident_id="INC-1", action="rollback", target="phone-gateway")
    assert store.request_approval(incident_id="INC-1", action="rollback", target="phone-gateway") == first
    assert not store.is_approved(incident_id="INC-1", action="rollback", target="phone-gateway")
    assert store.decide_approval(first, approved=True, by="alice")
    assert not store.decide_approval(first, approved=False, by="bob")  # already decided
    assert store.is_approved(incident_id="INC-1", action="rollback", target="phone-gateway")
    assert store.approvals(status="approved")[0]["decided_by"] == "alice"


def test_known_good_values_persist(tmp_path: Path) -> None:
    IncidentStore(tmp_path).put("known_good_config", {"DEGRADED_MODE": "false"})
    assert IncidentStore(tmp_path).get_value("known_good_config") == {"DEGRADED_MODE": "false"}
    assert IncidentStore(tmp_path).get_value("missing") is None
