"""Helpers shared by the CLI modules: settings with a clear error, and one console."""

from __future__ import annotations

from rich.console import Console

from answer_ninja.errors import ConfigurationError
from answer_ninja.platform.settings import Settings, load_settings

console = Console()
err_console = Console(stderr=True)


def settings_or_exit() -> Settings:
    """Settings from the environment; on an invalid value print one line naming the variable and exit 2."""
    import typer

    try:
        return load_settings()
    except ConfigurationError as error:
        err_console.print(f"[red]error:[/red] {error}", highlight=False, soft_wrap=True)
        raise typer.Exit(code=2) from None
