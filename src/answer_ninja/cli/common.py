"""Helpers shared by the CLI modules: settings with a clear error, and one console."""

from __future__ import annotations

from rich.console import Console

from answer_ninja.errors import ConfigurationError
from answer_ninja.platform.machine_secrets import machine_secret
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


def machine_credential(settings: Settings, name: str) -> str | None:
    """A secret the operator's machine holds (e.g. TWILIO_AUTH_TOKEN for the loopback carrier): the settings
    (environment) first, then DATA_DIR/secrets.json."""
    configured = getattr(settings, name.lower(), None)
    if configured is not None and configured.get_secret_value():
        return str(configured.get_secret_value())
    return machine_secret(settings.data_dir, name)


def operator_headers(settings: Settings) -> dict[str, str]:
    """The operator's machine credential (OPERATOR_TOKEN from the environment, else DATA_DIR/secrets.json), so
    commands reach operator routes without the operator typing a token. Empty when there is none: the service
    then answers 401, which the command reports."""
    configured = settings.operator_token.get_secret_value() if settings.operator_token else None
    token = configured or machine_secret(settings.data_dir, "OPERATOR_TOKEN")
    return {"Authorization": f"Bearer {token}"} if token else {}
