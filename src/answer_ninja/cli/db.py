"""``answer-ninja db``: schema migrations."""

from __future__ import annotations

import typer

from answer_ninja.cli import app
from answer_ninja.cli.common import console, settings_or_exit
from answer_ninja.platform.logging import redact_text

db_app = typer.Typer(help="Database schema (Alembic migrations; PostgreSQL or SQLite).", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head", help="Target revision")) -> None:
    """Apply migrations up to REVISION on DATABASE_URL."""
    from answer_ninja.platform.db.migrate import upgrade  # alembic is heavy; only this command needs it

    settings = settings_or_exit()
    upgrade(settings.database_url, revision)
    console.print(f"schema at {revision} on {redact_text(settings.database_url)}")
