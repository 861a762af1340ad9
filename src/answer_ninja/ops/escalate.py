"""When a person must take over (升级): the runbook's "立即升级情况", as rules over the incident (pure)."""

from __future__ import annotations

from datetime import datetime, timedelta

from answer_ninja.ops.models import ActionOutcome, Diagnosis, FailureMode, Incident

SECURITY_ALERT_WORDS = ("security", "intrusion", "unauthorized", "tamper")


def escalation_reason(
    incident: Incident,
    *,
    now: datetime,
    escalate_after: timedelta,
    down_now: list[str],
    diagnosis: Diagnosis | None = None,
    ladder_exhausted: bool = False,
    security_signal: bool = False,
) -> str | None:
    """Why this incident must go to a person now, or None."""
    if security_signal:
        return "security signal: a person must look before anything is restarted"
    if diagnosis is not None and diagnosis.mode == FailureMode.DEPENDENCY and "postgres" in diagnosis.dependencies_down:
        return "data-loss risk: the database is down"
    widened = sorted(set(down_now) - set(incident.services))
    if widened:
        return f"scope widened: now also {', '.join(widened)}"
    if now - incident.started_at >= escalate_after:
        return f"not recovered after {escalate_after.total_seconds() / 60:g} minutes"
    if ladder_exhausted:
        tried = [a for a in incident.actions if a.outcome in (ActionOutcome.SUCCEEDED, ActionOutcome.FAILED)]
        if not tried:
            return "no automatic fix could run (budgets or approvals)"
        return "automatic fixes exhausted or failed"
    if diagnosis is not None and diagnosis.mode == FailureMode.DEPENDENCY:
        return f"dependency down: {', '.join(diagnosis.dependencies_down)}; only a person can bring it back"
    return None


def is_security_alert(labels: dict[str, str]) -> bool:
    text = " ".join(labels.values()).lower()
    return labels.get("category") == "security" or any(word in text for word in SECURITY_ALERT_WORDS)
