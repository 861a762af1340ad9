"""The postmortem: timeline, per-step times, evidence, the 5-why skeleton and the checklists."""

from __future__ import annotations

from datetime import timedelta

from answer_ninja.ops.models import ActionKind, ActionOutcome, ActionRecord, FailureMode, IncidentStatus, TimelineEvent
from answer_ninja.ops.report import postmortem, step_durations
from tests.ops.factories import incident


def test_postmortem_is_prefilled_from_timeline_and_evidence() -> None:
    opened = incident("phone-gateway", started_seconds_ago=10)
    opened.mode = FailureMode.SINGLE_SERVICE
    opened.status = IncidentStatus.RESOLVED
    opened.diagnosis = {
        "causes": {"phone-gateway": "oom"},
        "evidence": ["phone-gateway: killed for memory (OOMKilled)"],
    }
    start = opened.started_at
    for offset, kind in (
        (1.5, "detected"),
        (1.6, "confirmed"),
        (1.7, "classified"),
        (4.0, "recovered"),
        (5.0, "verified"),
    ):
        opened.timeline.append(TimelineEvent(start + timedelta(seconds=offset), kind, f"{kind} | x"))
    opened.actions.append(
        ActionRecord(
            ActionKind.RAISE_LIMITS,
            ("phone-gateway",),
            "OOMKilled",
            ActionOutcome.SUCCEEDED,
            start + timedelta(seconds=2),
            start + timedelta(seconds=4),
            "ready",
        )
    )
    opened.recovered_at = start + timedelta(seconds=4)
    opened.resolved_at = start + timedelta(seconds=5)
    text = postmortem(opened)
    assert "MTTD: 1.5s · MTTR: 5.0s" in text
    assert "| verified |" in text
    assert "detected / x" in text  # pipes in messages cannot break the table
    assert "内存溢出导致进程被杀死" in text  # the 5-why pre-filled from the cause
    assert "- [X] raise_limits phone-gateway: succeeded in 2.0s" in text
    assert "### 长期改进 (3个月内)" in text
    assert "phone-gateway: killed for memory (OOMKilled)" in text
    steps = dict(step_durations(opened))
    assert steps["detection (MTTD)"] == 1.5
    assert steps["action raise_limits phone-gateway"] == 2.0
