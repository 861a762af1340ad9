"""``answer-ninja drill <fault>``: inject a fault into the running local stack and measure the responder."""

from __future__ import annotations

import asyncio
import json

import typer

from answer_ninja.cli import app
from answer_ninja.cli.common import console, err_console, operator_headers, settings_or_exit
from answer_ninja.ops.drills import FAULTS, DrillResult, run_drill, shell_hook
from answer_ninja.ops.platforms.local import LocalPlatform
from answer_ninja.supervisor.client import SupervisorUnavailableError


@app.command()
def drill(
    fault: str = typer.Argument(..., help=f"One of: {', '.join(FAULTS)}"),
    service: list[str] = typer.Option(None, "--service", "-s", help="Target service(s) (repeatable)"),
    stop_command: str | None = typer.Option(None, help="Dependency drills: command that stops it"),
    start_command: str | None = typer.Option(None, help="Dependency drills: command that brings it back"),
    timeout: float = typer.Option(120.0, min=1, help="Seconds to wait for each stage"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Fire drill: inject FAULT, follow the responder's incident, print mode, actions, MTTD and MTTR."""
    if fault not in FAULTS:
        err_console.print(f"[red]error:[/red] unknown fault {fault!r}; choose from {', '.join(FAULTS)}")
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
    summary = result.as_dict()
    if as_json:
        print(json.dumps(summary, ensure_ascii=False))
    else:
        for key, value in summary.items():
            console.print(f"{key:>14}: {value}", highlight=False)
        if result.incident:
            console.print(f"\nanswer-ninja ops incident {result.incident['id']}", highlight=False)
    if not result.passed:
        raise typer.Exit(code=1)
