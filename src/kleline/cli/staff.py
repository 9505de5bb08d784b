"""Kleline's staff from the command line: the first admin's invitation, the list, disabling a person.

Whoever runs ``kleline`` holds the database's own credentials, hence every power: each act is recorded in the staff
audit trail under the command line's actor (``kleline.staff.actor.command_line``: the system user's name), as the
console's are under the person who signed in.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from kleline.cli.common import console, fail, kleline_for_command, show

__all__ = ["staff_app"]

staff_app = typer.Typer(
    help="Kleline's staff: invite a person (the first admin), list them, disable one.", no_args_is_help=True
)


@staff_app.command("create")
def staff_create(
    email: Annotated[str, typer.Argument(help="the person's email address")],
    role: Annotated[str, typer.Option(help="admin, compliance, finance or support")],
) -> None:
    """Invite a person to the staff with a role: print the single-use link (valid 72 hours, shown only this once)
    with which they choose a password and set up their authenticator app."""
    from kleline.staff.actor import command_line
    from kleline.staff.roles import parse_role

    try:
        chosen = parse_role(role)
    except ValueError as refused:
        raise fail(str(refused), 2) from None
    with kleline_for_command() as kleline:
        invited = kleline.staff_team.invite(email, chosen, by=command_line())
    console.print(
        f"Invitation for {invited.invitation.email} as {invited.invitation.role.value}, valid until "
        f"{invited.invitation.expires_at:%Y-%m-%d %H:%M} UTC; send them this link (shown only this once):",
        highlight=False,
        soft_wrap=True,
    )
    typer.echo(invited.url)


@staff_app.command("list")
def staff_list() -> None:
    """List the staff: active people first, with their role and whether their authenticator app is set up."""
    from kleline.staff.actor import command_line

    with kleline_for_command() as kleline:
        people = kleline.staff_team.list(command_line())
        invitations = kleline.staff_team.invitations(command_line())
    table = Table("id", "email", "role", "status", "authenticator", "since", title="Staff")
    for person in people:
        since = person.created_at.strftime("%Y-%m-%d %H:%M")
        authenticator = "yes" if person.authenticator else "not yet"
        table.add_row(person.id, Text(person.email), person.role.value, person.status, authenticator, since)
    show(table)
    if invitations:
        waiting = Table("id", "email", "role", "until", "invited by", title="Pending invitations")
        for invitation in invitations:
            until = invitation.expires_at.strftime("%Y-%m-%d %H:%M")
            waiting.add_row(
                invitation.id, Text(invitation.email), invitation.role.value, until, Text(invitation.invited_by)
            )
        show(waiting)


@staff_app.command("disable")
def staff_disable(email: Annotated[str, typer.Argument(help="the person's email address")]) -> None:
    """Disable a person for good: their sessions end and they can no longer sign in (the last active admin cannot
    be disabled: make someone else admin first)."""
    from kleline.staff.actor import command_line

    with kleline_for_command() as kleline:
        person = kleline.staff_team.find_by_email(email)
        kleline.staff_team.disable(person.id, by=command_line())
    typer.echo(f"{person.id} ({person.email}) is now disabled")
