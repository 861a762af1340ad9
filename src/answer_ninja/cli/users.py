"""``answer-ninja users``: operator commands on accounts. The operator role is granted here and only here (never by
signing up): it opens the console's operator pages and the responder's API to that person."""

from __future__ import annotations

import asyncio

import typer
from sqlalchemy import select

from answer_ninja.cli import app
from answer_ninja.cli.common import console, err_console, settings_or_exit
from answer_ninja.platform.db.engine import Database
from answer_ninja.platform.db.models import User
from answer_ninja.platform.settings import Settings

users_app = typer.Typer(help="Accounts: grant or revoke the operator role.", no_args_is_help=True)
app.add_typer(users_app, name="users")


async def set_role(settings: Settings, email: str, role: str) -> str | None:
    """Give the account ``email`` the role; its previous role, or None when there is no such account."""
    database = Database(settings.database_url)
    try:
        async with database.session() as session:
            user = await session.scalar(select(User).where(User.email == email.strip().lower()))
            if user is None:
                return None
            previous = user.role
            user.role = role
            await session.commit()
            return previous
    finally:
        await database.close()


def _change(email: str, role: str) -> None:
    settings = settings_or_exit()
    try:
        previous = asyncio.run(set_role(settings, email, role))
    except Exception as error:  # the database is away or not migrated: one line, no traceback
        err_console.print(f"[red]error:[/red] cannot reach the accounts database ({type(error).__name__})")
        raise typer.Exit(code=1) from None
    if previous is None:
        err_console.print(f"[red]error:[/red] no account with the e-mail {email!r}")
        raise typer.Exit(code=1)
    console.print(f"{email}: {previous} -> {role} (takes effect at their next sign-in)", highlight=False)


@users_app.command("grant-operator")
def grant_operator(email: str = typer.Argument(..., help="The account's e-mail")) -> None:
    """Make the account an operator (service board, incidents, approvals, drills)."""
    _change(email, "operator")


@users_app.command("revoke-operator")
def revoke_operator(email: str = typer.Argument(..., help="The account's e-mail")) -> None:
    """Make the account an ordinary user again."""
    _change(email, "user")
