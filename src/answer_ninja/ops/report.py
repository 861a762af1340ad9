"""MTTD, MTTR (overall and per step) and the postmortem in Markdown, pre-filled from timeline and evidence."""

from __future__ import annotations

from answer_ninja.ops.models import Cause, Incident
from answer_ninja.ops.notify import _templates

# First two answers of the runbook's 5-why, from what the evidence says happened.
WHY: dict[str, tuple[str, str]] = {
    str(Cause.KILLED): ("服务进程被终止 (killed/exited)", "进程收到终止信号或异常退出, 见证据中的退出码"),
    str(Cause.CRASH_LOOP): ("服务启动后反复崩溃 (CrashLoopBackOff)", "每次启动即退出, 见退出码与最后日志"),
    str(Cause.BAD_CONFIG): ("服务启动后反复崩溃 (CrashLoopBackOff)", "app-config 被改为无效值"),
    str(Cause.HANG): ("服务进程存活但不响应 /health", "进程挂起 (例如被 SIGSTOP 或死锁)"),
    str(Cause.BAD_RELEASE): ("新版本始终未就绪", "最新发布的版本存在问题"),
    str(Cause.OOM): ("服务进程频繁重启", "内存溢出导致进程被杀死 (OOMKilled)"),
    str(Cause.NOT_READY): ("服务存活但未就绪", "/ready 检查失败"),
    str(Cause.DEPENDENCY): ("服务存活但依赖不可用", "依赖服务 (数据库/缓存/外部服务) 故障"),
}


def step_durations(incident: Incident) -> list[tuple[str, float]]:
    """Seconds from the start to detection, confirmation, diagnosis, each action, recovery and verification."""
    marks = [("detection (MTTD)", incident.detected_at)]
    for kind in ("confirmed", "classified", "recovered", "verified", "escalated", "resolved"):
        event = next((e for e in incident.timeline if e.kind == kind), None)
        if event is not None:
            marks.append((kind, event.at))
    steps = []
    previous = incident.started_at
    for name, at in sorted(marks, key=lambda mark: mark[1]):
        steps.append((name, round((at - previous).total_seconds(), 3)))
        previous = at
    steps += [(f"action {a.kind} {','.join(a.services)}", round(a.seconds, 3)) for a in incident.actions]
    return steps


def postmortem(incident: Incident) -> str:
    causes = incident.diagnosis.get("causes", {})
    first_cause = next(iter(causes.values()), None)
    why = WHY.get(str(first_cause), ("服务健康检查失败", "(待填写)"))
    timeline = [
        {
            "at": event.at.strftime("%H:%M:%S.%f")[:-3],
            "offset": f"{(event.at - incident.started_at).total_seconds():.1f}",
            "kind": event.kind,
            "message": event.message.replace("|", "/"),
        }
        for event in incident.timeline
    ]
    mttr = incident.mttr_seconds
    return _templates.get_template("postmortem.md.j2").render(
        incident=incident,
        mode=incident.mode or "-",
        started=incident.started_at.isoformat(),
        mttd=f"{incident.mttd_seconds:.1f}s",
        mttr="-" if mttr is None else f"{mttr:.1f}s",
        timeline=timeline,
        per_step=step_durations(incident),
        evidence=incident.diagnosis.get("evidence", []),
        why=why,
    )
