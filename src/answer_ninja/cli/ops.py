"""``answer-ninja ops``: the runbook's commands for a person, on the same code the responder runs.

Every command that changes something takes ``--dry-run`` (print the plan, change nothing) and is written to the
responder's audit log with the person's name.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import json
from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer
from rich.table import Table

from answer_ninja.catalogue import CORE_SERVICES, SERVICES
from answer_ninja.cli import app
from answer_ninja.cli.common import console, err_console, settings_or_exit
from answer_ninja.ops.models import ActionKind, ActionOutcome, PlannedAction
from answer_ninja.ops.notify import render_customer_notice
from answer_ninja.ops.platforms import build_platform
from answer_ninja.ops.platforms.base import Platform
from answer_ninja.ops.policy import BACKUPS, DEGRADE_RESTARTS, plan
from answer_ninja.ops.probe import probe_services
from answer_ninja.ops.remediate import ActionRunner
from answer_ninja.ops.report import postmortem
from answer_ninja.ops.responder import Responder
from answer_ninja.ops.store import IncidentStore, incident_to_dict
from answer_ninja.ops.verify import verify
from answer_ninja.platform.logging import configure_logging
from answer_ninja.platform.settings import Settings
from answer_ninja.supervisor.client import SupervisorUnavailableError

ops_app = typer.Typer(help="The ServiceDown runbook, by hand (and `ops respond`: by itself).", no_args_is_help=True)
app.add_typer(ops_app, name="ops")

T = TypeVar("T")
DRY_RUN = typer.Option(False, "--dry-run", help="Print the plan; change nothing")


def _store(settings: Settings) -> IncidentStore:
    return IncidentStore(settings.data_dir / "responder")


def _with_platform(work: Callable[[Platform, Settings], Awaitable[T]]) -> T:
    settings = settings_or_exit()

    async def run() -> T:
        platform = build_platform(settings)
        try:
            return await work(platform, settings)
        finally:
            await platform.close()

    try:
        return asyncio.run(run())
    except SupervisorUnavailableError as error:
        err_console.print(f"[red]error:[/red] {error}")
        raise typer.Exit(code=1) from None


def _run_action(action: PlannedAction, dry_run: bool) -> None:
    async def work(platform: Platform, settings: Settings) -> None:
        # A person running the command is the approval; budgets still hold.
        runner = ActionRunner(platform, _store(settings), settings, actor=f"cli:{getpass.getuser()}", dry_run=dry_run)
        runner.approval_required = set()
        record = await runner.run(action)
        colour = {ActionOutcome.SUCCEEDED: "green", ActionOutcome.DRY_RUN: "cyan"}.get(record.outcome, "red")
        console.print(f"[{colour}]{record.outcome}[/] {action.describe()}\n  {record.detail}", highlight=False)
        if record.outcome in (ActionOutcome.FAILED, ActionOutcome.SKIPPED):
            raise typer.Exit(code=1)

    _with_platform(work)


def _check_service(service: str) -> str:
    if service not in SERVICES:
        err_console.print(f"[red]error:[/red] unknown service {service!r}; choose from {', '.join(SERVICES)}")
        raise typer.Exit(code=2)
    return service


@ops_app.command()
def check() -> None:
    """Runbook steps 1-2: every service's instances, /health, /ready and its last events, as a table."""

    async def work(platform: Platform, settings: Settings) -> None:
        import httpx

        services = [name for name in await platform.services() if name in SERVICES]
        urls = {name: await platform.service_url(name) for name in services}
        async with httpx.AsyncClient() as client:
            probes = await probe_services(client, urls, settings.responder_probe_timeout_seconds)
        table = Table(title="ServiceDown: steps 1-2")
        for column in ("service", "instances", "restarts", "health/ready", "last event"):
            table.add_column(column)
        for name in services:
            instances = await platform.instances(name)
            events = await platform.events(name, limit=1)
            probe = probes[name]
            mark = "[green]✅[/]" if probe.ok else "[red]❌[/]"
            table.add_row(
                name,
                ", ".join(f"{i.state}{'' if i.ready else ' (not ready)'}" for i in instances) or "-",
                str(sum(i.restarts for i in instances)),
                f"{mark} {probe.summary()}",
                f"{events[-1].reason}: {events[-1].message}" if events else "-",
            )
        console.print(table)

    _with_platform(work)


@ops_app.command()
def diagnose() -> None:
    """Runbook step 3: the failure mode with its evidence, and the plan the responder would follow."""

    async def work(platform: Platform, settings: Settings) -> None:
        responder = Responder(platform, _store(settings), settings)
        try:
            found = await responder.diagnose_now()
        finally:
            await responder.close()
        if not found.services and not found.dependencies_down:
            console.print("[green]every service is healthy[/green]")
            return
        console.print(f"[bold]mode {found.mode}[/bold]: {', '.join(found.services) or '-'}")
        for line in found.evidence:
            console.print(f"  - {line}", highlight=False)
        console.print("[bold]plan[/bold]:")
        for index, step in enumerate(plan(found), 1):
            console.print(f"  {index}. {step.describe()}", highlight=False)

    _with_platform(work)


@ops_app.command()
def restart(
    service: str | None = typer.Argument(None, help="Service to restart"),
    all_: bool = typer.Option(False, "--all", help="The four core services, in order, waiting for each"),
    dry_run: bool = DRY_RUN,
) -> None:
    """方案1: restart one service (or the core services in order) and wait until ready."""
    if all_:
        _run_action(PlannedAction(ActionKind.RESTART_ALL, CORE_SERVICES, "by hand: batch restart"), dry_run)
        return
    if service is None:
        err_console.print("[red]error:[/red] give a SERVICE or --all")
        raise typer.Exit(code=2)
    _run_action(PlannedAction(ActionKind.RESTART, (_check_service(service),), "by hand"), dry_run)


@ops_app.command()
def rollback(
    service: str,
    to: int | None = typer.Option(None, "--to", min=1, help="Revision number (default: the previous one)"),
    dry_run: bool = DRY_RUN,
) -> None:
    """方案4: roll a service back to the previous (or a given) revision."""
    params = {} if to is None else {"to_revision": to}
    _run_action(PlannedAction(ActionKind.ROLLBACK, (_check_service(service),), "by hand", params), dry_run)


@ops_app.command()
def scale(service: str, replicas: int = typer.Argument(..., min=1, max=10), dry_run: bool = DRY_RUN) -> None:
    """方案3.1: run N instances of a service."""
    action = PlannedAction(ActionKind.SCALE, (_check_service(service),), "by hand", {"replicas": replicas})
    _run_action(action, dry_run)


@ops_app.command()
def degrade(state: str = typer.Argument(..., help="on | off"), dry_run: bool = DRY_RUN) -> None:
    """方案5.1: DEGRADED_MODE on/off in app-config, then restart phone-gateway and realtime-processor."""
    if state not in ("on", "off"):
        err_console.print("[red]error:[/red] STATE must be on or off")
        raise typer.Exit(code=2)
    action = PlannedAction(ActionKind.DEGRADE, DEGRADE_RESTARTS, "by hand", {"enable": state == "on"})
    _run_action(action, dry_run)


@ops_app.command()
def failover(
    service: str,
    back: bool = typer.Option(False, "--back", help="Send traffic back to the service itself"),
    dry_run: bool = DRY_RUN,
) -> None:
    """方案5.2: switch a service's traffic to its backup (phone-gateway -> phone-gateway-backup)."""
    _check_service(service)
    if service not in BACKUPS:
        err_console.print(f"[red]error:[/red] {service} has no backup; only {', '.join(BACKUPS)}")
        raise typer.Exit(code=2)
    target = service if back else BACKUPS[service]
    _run_action(PlannedAction(ActionKind.FAILOVER, (service,), "by hand", {"to": target}), dry_run)


@ops_app.command("verify")
def verify_command() -> None:
    """The runbook's verification script: instances, /health, /ready, metrics, an end-to-end synthetic call."""

    async def work(platform: Platform, settings: Settings) -> bool:
        services = [name for name in await platform.services() if name in SERVICES and name != "responder"]
        report = await verify(platform, settings, services)
        for item in report.checks:
            mark = "✅" if item.ok else "❌"
            console.print(f"{mark} {item.name}: {item.detail}", highlight=False)
        console.print("验证完成！" if report.ok else "[red]验证失败[/red]")
        return report.ok

    if not _with_platform(work):
        raise typer.Exit(code=1)


@ops_app.command()
def respond() -> None:
    """Run the responder in the foreground (``answer-ninja up`` runs it as the responder service)."""
    settings = settings_or_exit()
    configure_logging(level=settings.log_level, json=settings.log_json, service="responder")

    async def work(platform: Platform, settings: Settings) -> None:
        stop = asyncio.Event()
        responder = Responder(platform, _store(settings), settings)
        try:
            await responder.run_forever(stop)
        finally:
            await responder.close()

    with contextlib.suppress(KeyboardInterrupt):
        _with_platform(work)


@ops_app.command()
def incidents(limit: int = typer.Option(20, min=1, max=500), as_json: bool = typer.Option(False, "--json")) -> None:
    """Recent incidents: status, mode, services, MTTD, MTTR."""
    found = _store(settings_or_exit()).recent(limit=limit)
    if as_json:
        print(json.dumps([incident_to_dict(i) for i in found], ensure_ascii=False))
        return
    table = Table(title="incidents")
    for column in ("id", "status", "mode", "services", "started", "MTTD", "MTTR"):
        table.add_column(column)
    for incident in found:
        mttr = incident.mttr_seconds
        table.add_row(
            incident.id,
            str(incident.status),
            str(incident.mode or "-"),
            ", ".join(incident.services),
            incident.started_at.strftime("%Y-%m-%d %H:%M:%S"),
            f"{incident.mttd_seconds:.1f}s",
            "-" if mttr is None else f"{mttr:.1f}s",
        )
    console.print(table)


@ops_app.command()
def incident(
    incident_id: str,
    as_json: bool = typer.Option(False, "--json"),
    customer: bool = typer.Option(False, "--customer", help="The customer notice instead of the postmortem"),
) -> None:
    """One incident: its timeline and the postmortem (Markdown), or the customer notice."""
    found = _store(settings_or_exit()).get(incident_id)
    if found is None:
        err_console.print(f"[red]error:[/red] no incident {incident_id}")
        raise typer.Exit(code=1)
    if as_json:
        print(json.dumps(incident_to_dict(found), ensure_ascii=False))
        return
    # Plain print: Markdown tables and checkboxes must reach the terminal (and pipes) as written.
    print(render_customer_notice(found) if customer else postmortem(found))


@ops_app.command()
def approve(
    approval_id: str, reject: bool = typer.Option(False, "--reject", help="Refuse instead of approving")
) -> None:
    """Approve (or reject) an action the responder is waiting for (rollback, failover when so configured)."""
    store = _store(settings_or_exit())
    who = f"cli:{getpass.getuser()}"
    if not store.decide_approval(approval_id, approved=not reject, by=who):
        err_console.print(f"[red]error:[/red] no pending approval {approval_id}")
        raise typer.Exit(code=1)
    store.audit(
        actor=who, action="approval", target=approval_id, reason="by hand", result="rejected" if reject else "approved"
    )
    console.print(f"{approval_id} {'rejected' if reject else 'approved'}")
