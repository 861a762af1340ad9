"""The ladders: which remedy first for which cause, and what is never done."""

from __future__ import annotations

from answer_ninja.ops.models import ActionKind, Cause, Diagnosis, FailureMode
from answer_ninja.ops.policy import plan


def _kinds(diagnosis: Diagnosis, previous: tuple[str, ...] = ()) -> list[str]:
    return [str(step.kind) for step in plan(diagnosis, with_previous_revision=previous)]


def test_killed_service_restarts_then_fails_over_then_degrades() -> None:
    diagnosis = Diagnosis(FailureMode.SINGLE_SERVICE, ["phone-gateway"], {"phone-gateway": Cause.KILLED}, [])
    assert _kinds(diagnosis) == ["restart", "failover", "degrade"]
    assert _kinds(diagnosis, ("phone-gateway",)) == ["restart", "rollback", "failover", "degrade"]


def test_first_rung_follows_the_cause() -> None:
    for cause, first in (
        (Cause.BAD_CONFIG, ActionKind.RESTORE_CONFIG),
        (Cause.BAD_RELEASE, ActionKind.ROLLBACK),
        (Cause.OOM, ActionKind.RAISE_LIMITS),
        (Cause.HANG, ActionKind.RESTART),
    ):
        steps = plan(Diagnosis(FailureMode.SINGLE_SERVICE, ["conversation-engine"], {"conversation-engine": cause}, []))
        assert steps[0].kind == first, cause
        assert steps[-1].kind == ActionKind.DEGRADE
        assert all(step.kind != ActionKind.FAILOVER for step in steps)  # no backup for conversation-engine


def test_dependency_outage_never_restarts_anything_but_the_degrade_pair() -> None:
    diagnosis = Diagnosis(
        FailureMode.DEPENDENCY, ["phone-gateway"], {"phone-gateway": Cause.DEPENDENCY}, [], ["postgres"]
    )
    steps = plan(diagnosis)
    assert [step.kind for step in steps] == [ActionKind.DEGRADE]
    assert steps[0].services == ("phone-gateway", "realtime-processor")


def test_several_services_restart_in_the_runbook_order() -> None:
    diagnosis = Diagnosis(
        FailureMode.MULTIPLE_SERVICES,
        ["profile-analytics", "phone-gateway"],
        {"profile-analytics": Cause.KILLED, "phone-gateway": Cause.KILLED},
        [],
    )
    steps = plan(diagnosis)
    assert steps[0].kind == ActionKind.RESTART_ALL
    assert steps[0].services == ("phone-gateway", "profile-analytics")
    assert steps[-1].kind == ActionKind.DEGRADE
