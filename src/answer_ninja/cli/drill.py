"""``answer-ninja drill <fault>``: inject a fault into the running local stack and measure the responder."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import typer

from answer_ninja.cli import app
from answer_ninja.cli.common import console, err_console, operator_headers, settings_or_exit
from answer_ninja.ops.drills import FAULTS, DrillResult, run_drill, shell_hook
from answer_ninja.ops.login_flood import FloodResult, run_login_flood
from answer_ninja.ops.platforms.local import LocalPlatform
from answer_ninja.platform.settings import Settings
from answer_ninja.supervisor.client import SupervisorClient, SupervisorUnavailableError

LOGIN_FLOOD = "login-flood"


@app.command()
def drill(
    fault: str = typer.Argument(..., help=f"One of: {', '.join([*FAULTS, LOGIN_FLOOD])}"),
    service: list[str] = typer.Option(None, "--service", "-s", help="Target service(s) (repeatable)"),
    stop_command: str | None = typer.Option(None, help="Dependency drills: command that stops it"),
    start_command: str | None = typer.Option(None, help="Dependency drills: command that brings it back"),
    timeout: float = typer.Option(120.0, min=1, help="Seconds to wait for each stage"),
    as_json: bool = typer.Option(False, "--json"),
    seconds: float = typer.Option(20.0, min=1, max=3600, help="login-flood: how long to flood"),
    concurrency: int = typer.Option(32, min=1, max=1000, help="login-flood: tasks posting at once"),
) -> None:
    """Fire drill: inject FAULT, follow the responder's incident, print mode, actions, MTTD and MTTR.

    ``login-flood`` instead floods sign-in with wrong passwords and checks it ends in throttling: no restarts,
    degraded mode off, user-management ready throughout."""
    if fault == LOGIN_FLOOD:
        _login_flood(settings_or_exit(), seconds=seconds, concurrency=concurrency, as_json=as_json)
        return
    if fault not in FAULTS:
        err_console.print(f"[red]error:[/red] unknown fault {fault!r}; choose from {', '.join([*FAULTS, LOGIN_FLOOD])}")
        raise typer.Exit(code=2)
    settings = settings_or_exit()

    async def run() -> DrillResult:
        platform = LocalPlatform(settings)
        try:
            return await run_drill(
                fault,
                platform=platform,
                responder_url=settings.responder_url,
                responder_headers=operator_headers(settings),
                services=service or None,
                stop=shell_hook(stop_command),
                start=shell_hook(start_command),
                timeout=timeout,
            )
        finally:
            await platform.close()

    try:
        result = asyncio.run(run())
    except (SupervisorUnavailableError, ValueError) as error:
        err_console.print(f"[red]error:[/red] {error}")
        raise typer.Exit(code=1) from None
    incident = f"answer-ninja ops incident {result.incident['id']}" if result.incident else None
    _report(result.as_dict(), passed=result.passed, as_json=as_json, width=14, footer=incident)


def _login_flood(settings: Settings, *, seconds: float, concurrency: int, as_json: bool) -> None:
    async def run() -> FloodResult:
        async with SupervisorClient.for_settings(settings) as supervisor:
            return await run_login_flood(
                user_management_url=settings.user_management_url,
                responder_url=settings.responder_url,
                responder_headers=operator_headers(settings),
                supervisor=supervisor,
                seconds=seconds,
                concurrency=concurrency,
            )

    try:
        result = asyncio.run(run())
    except SupervisorUnavailableError as error:
        err_console.print(f"[red]error:[/red] {error}")
        raise typer.Exit(code=1) from None
    _report(result.as_dict(), passed=result.passed, as_json=as_json, width=30)


def _report(summary: dict[str, Any], *, passed: bool, as_json: bool, width: int, footer: str | None = None) -> None:
    """A drill's summary as JSON or aligned lines; exit code 1 when the drill did not pass."""
    if as_json:
        print(json.dumps(summary, ensure_ascii=False))
    else:
        for key, value in summary.items():
            console.print(f"{key:>{width}}: {value}", highlight=False)
        if footer:
            console.print(f"\n{footer}", highlight=False)
    if not passed:
        raise typer.Exit(code=1)
