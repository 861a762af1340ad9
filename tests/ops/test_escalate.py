"""When a person must take over: the runbook's 立即升级情况."""

from __future__ import annotations

from datetime import timedelta

from answer_ninja.ops.escalate import escalation_reason, is_security_alert
from answer_ninja.ops.models import ActionKind, ActionOutcome, ActionRecord, Cause, Diagnosis, FailureMode, utc_now
from tests.ops.factories import incident

LATER = timedelta(minutes=15)


def test_nothing_to_escalate_early_in_a_single_service_incident() -> None:
    assert (
        escalation_reason(incident("phone-gateway"), now=utc_now(), escalate_after=LATER, down_now=["phone-gateway"])
        is None
    )


def test_fifteen_minutes_without_recovery() -> None:
    old = incident("phone-gateway", started_seconds_ago=16 * 60)
    assert "15 minutes" in (escalation_reason(old, now=utc_now(), escalate_after=LATER, down_now=[]) or "")


def test_scope_widening() -> None:
    reason = escalation_reason(
        incident("phone-gateway"), now=utc_now(), escalate_after=LATER, down_now=["phone-gateway", "profile-analytics"]
    )
    assert reason == "scope widened: now also profile-analytics"


def test_database_down_is_a_data_loss_risk() -> None:
    diagnosis = Diagnosis(FailureMode.DEPENDENCY, [], {"x": Cause.DEPENDENCY}, [], ["postgres"])
    reason = escalation_reason(incident(), now=utc_now(), escalate_after=LATER, down_now=[], diagnosis=diagnosis)
    assert reason is not None
    assert reason.startswith("data-loss risk")


def test_exhausted_ladder_says_whether_anything_ran() -> None:
    opened = incident("phone-gateway")
    assert "could run" in (
        escalation_reason(opened, now=utc_now(), escalate_after=LATER, down_now=[], ladder_exhausted=True) or ""
    )
    now = utc_now()
    opened.actions.append(ActionRecord(ActionKind.RESTART, ("phone-gateway",), "t", ActionOutcome.FAILED, now, now))
    assert escalation_reason(opened, now=now, escalate_after=LATER, down_now=[], ladder_exhausted=True) == (
        "automatic fixes exhausted or failed"
    )


def test_security_signals() -> None:
    assert is_security_alert({"alertname": "UnauthorizedAccess"})
    assert is_security_alert({"alertname": "X", "category": "security"})
    assert not is_security_alert({"alertname": "ServiceDown", "job": "phone-gateway"})
    reason = escalation_reason(incident(), now=utc_now(), escalate_after=LATER, down_now=[], security_signal=True)
    assert reason is not None
    assert reason.startswith("security")
