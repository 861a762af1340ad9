"""``answer-ninja serve | up | status``: run one service, run them all, see how they are."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import typer
from rich.table import Table

from answer_ninja.catalogue import SERVICES, UnknownServiceError, entry_for
from answer_ninja.cli import app
from answer_ninja.cli.common import console, err_console, settings_or_exit
from answer_ninja.platform.logging import configure_logging
from answer_ninja.platform.settings import Settings
from answer_ninja.supervisor.client import SupervisorClient, SupervisorUnavailableError
from answer_ninja.supervisor.supervisor import Supervisor


@app.command()
def serve(
    service: str = typer.Argument(..., help=f"One of: {', '.join(SERVICES)}"),
    port: int | None = typer.Option(None, help="Port (default: the service's own)"),
) -> None:
    """Run one service in the foreground."""
    from answer_ninja.platform.server import serve as run_service

    settings = settings_or_exit()
    try:
        entry_for(service)
    except UnknownServiceError as error:
        err_console.print(f"[red]error:[/red] {error.args[0]}")
        raise typer.Exit(code=2) from None
    run_service(service, settings, port=port)


@app.command()
def up(
    only: list[str] = typer.Option(None, "--service", "-s", help="Run only these services (repeatable)"),
) -> None:
    """Run all five services under the local supervisor, on embedded defaults. Ctrl-C stops everything."""
    from answer_ninja.supervisor.run import run_stack

    settings = settings_or_exit()
    configure_logging(level=settings.log_level, json=False, service="supervisor")
    for name in only or []:
        try:
            entry_for(name)
        except UnknownServiceError as error:
            err_console.print(f"[red]error:[/red] {error.args[0]}")
            raise typer.Exit(code=2) from None

    def announce(supervisor: Supervisor, ready: dict[str, bool], seconds: float) -> None:
        console.print(f"[bold]AI Answer Ninja[/bold] up in {seconds:.1f}s  (Ctrl-C stops everything)")
        for name, process in supervisor.processes.items():
            mark = "[green]ready[/green]" if ready.get(name) else "[yellow]not ready yet[/yellow]"
            console.print(f"  {name:<20} http://127.0.0.1:{process.spec.port}  {mark}")
        console.print(f"  {'supervisor':<20} http://127.0.0.1:{settings.supervisor_port}")
        if "console" in supervisor.processes:
            port = supervisor.processes["console"].spec.port
            console.print(f"Open the console: http://127.0.0.1:{port}/  (public status page: /status)")

    asyncio.run(run_stack(settings, services=only or None, on_ready=announce))


async def _probe(client: httpx.AsyncClient, url: str) -> str:
    try:
        response = await client.get(url)
    except httpx.HTTPError as error:
        return f"down ({type(error).__name__})"
    if response.status_code == 200:
        body = response.json()
        return "degraded" if body.get("degraded") else "ok"
    failed = response.json().get("failed", []) if "json" in response.headers.get("content-type", "") else []
    return f"{response.status_code} " + ",".join(failed)


async def _collect_status(settings: Settings) -> list[dict[str, Any]]:
    async with SupervisorClient.for_settings(settings) as supervisor:
        rows = await supervisor.services()
    async with httpx.AsyncClient(timeout=2.0) as client:

        async def probe_row(row: dict[str, Any]) -> None:
            base = f"http://127.0.0.1:{row['port']}"
            row["health"], row["ready"] = await asyncio.gather(
                _probe(client, base + "/health"), _probe(client, base + "/ready")
            )

        await asyncio.gather(*(probe_row(row) for row in rows))
    return rows


def _format_uptime(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


@app.command()
def status() -> None:
    """Table of the services under `answer-ninja up`: state, pid, restarts, uptime, /health, /ready."""
    settings = settings_or_exit()
    try:
        rows = asyncio.run(_collect_status(settings))
    except SupervisorUnavailableError as error:
        err_console.print(f"[red]error:[/red] {error}")
        raise typer.Exit(code=1) from None
    table = Table(title="AI Answer Ninja")
    for column in ("service", "state", "pid", "restarts", "uptime", "/health", "/ready"):
        table.add_column(column)
    colours = {"Running": "green", "CrashLoopBackOff": "red", "Stopped": "yellow"}
    for row in rows:
        state = row["state"]
        if row.get("backoff_remaining_seconds") is not None:
            state += f" ({row['backoff_remaining_seconds']:.0f}s)"
        table.add_row(
            row["name"],
            f"[{colours.get(row['state'], 'white')}]{state}[/]",
            str(row["pid"] or "-"),
            str(row["restarts"]),
            _format_uptime(row["uptime_seconds"]),
            row["health"],
            row["ready"],
        )
    console.print(table)
    for line in (_voice_line(rows), _carriers_line(rows)):
        if line:
            console.print(line)


def _health_details(rows: list[dict[str, Any]], service: str) -> dict[str, Any]:
    """The /health details of a running service (empty when it is not running or does not answer)."""
    port = next((row["port"] for row in rows if row["name"] == service and row.get("pid")), None)
    if port is None:
        return {}
    try:
        details = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2.0).json().get("details", {})
    except (httpx.HTTPError, ValueError):
        return {}
    return details if isinstance(details, dict) else {}


def _voice_line(rows: list[dict[str, Any]]) -> str:
    """The voice realtime-processor speaks with, from its /health details (one line under the table)."""
    voices = _health_details(rows, "realtime-processor").get("voice") or {}
    listed = "; ".join(f"{lang} {name}" for lang, name in voices.items())
    return f"realtime-processor voice: {listed}" if voices else ""


def _carriers_line(rows: list[dict[str, Any]]) -> str:
    """Which carriers phone-gateway accepts webhooks from (its /health details): "not configured" is refused."""
    carriers = _health_details(rows, "phone-gateway").get("carriers") or {}
    listed = "; ".join(f"{name} {state}" for name, state in carriers.items())
    return f"phone-gateway carriers: {listed}" if carriers else ""
