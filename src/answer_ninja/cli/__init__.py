"""``answer-ninja``: the one command-line entry point. Each module in this package adds one group of commands."""

from __future__ import annotations

import importlib
import pkgutil

import typer

app = typer.Typer(
    name="answer-ninja",
    help="AI Answer Ninja: answers spam calls for its users, and keeps itself running.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _register() -> None:
    """Import every command module here; each adds its commands to ``app`` when imported."""
    for module in pkgutil.iter_modules(__path__):
        if module.name != "common":
            importlib.import_module(f"{__name__}.{module.name}")


def main() -> None:
    _register()
    app()
