"""``answer-ninja numbers``: an operator vouches for a user's number (support, seeding a test stack).

A number counts (is routed, or forwarded to) only once proven with the code sent to it; this marks a user's
pending claim proven instead, with the operator's machine credential (picked up by itself, like every command).
"""

from __future__ import annotations

import httpx
import typer

from answer_ninja.cli import app
from answer_ninja.cli.common import console, err_console, operator_headers, settings_or_exit

numbers_app = typer.Typer(help="Users' numbers: vouch for one as an operator.", no_args_is_help=True)
app.add_typer(numbers_app, name="numbers")


@numbers_app.command("verify")
def verify(
    email: str = typer.Argument(..., help="The user's email"),
    number: str = typer.Argument(..., help="The pending number, e.g. +8610012345678"),
    forward: bool = typer.Option(False, "--forward", help="It is the user's new real number (calls put through)"),
) -> None:
    """Mark a user's pending hosted number (or, with --forward, their new real number) proven."""
    settings = settings_or_exit()
    body = {"email": email, "number": number, "purpose": "forward" if forward else "hosted"}
    try:
        response = httpx.post(
            f"{settings.user_management_url}/api/v1/operator/numbers/verified",
            json=body,
            headers=operator_headers(settings),
            timeout=10,
        )
    except httpx.HTTPError as error:
        err_console.print(f"[red]error:[/red] user-management unreachable: {type(error).__name__}")
        raise typer.Exit(code=1) from None
    if response.status_code != 200:
        try:
            detail = response.json().get("detail") or response.json().get("error")
        except ValueError:
            detail = response.text[:200]
        err_console.print(f"[red]error:[/red] {response.status_code}: {detail}", highlight=False)
        raise typer.Exit(code=1)
    user = response.json()
    console.print(
        f"{number} proven for {user['email']}: hosted {', '.join(user['hosted_numbers']) or '-'}; "
        f"real number {user['real_number'] or '-'}",
        highlight=False,
    )
