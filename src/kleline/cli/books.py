"""The operator's side of the books: audit the ledger, issue and revoke operator API keys (each in a role)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from kleline.cli.common import console, errors, fail, kleline_for_command, show
from kleline.staff.actor import command_line
from kleline.staff.roles import Role, parse_role

__all__ = ["ledger_app", "operator_app"]

operator_app = typer.Typer(help="Operators' access.", no_args_is_help=True)
ledger_app = typer.Typer(help="Audit the books.", no_args_is_help=True)


_ROLES = ", ".join(role.value for role in Role)


def _role(value: str | None) -> Role:
    if value is None:
        raise typer.BadParameter(f"every new key acts in a role: choose one of {_ROLES}", param_hint="'--role'")
    try:
        return parse_role(value)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="'--role'") from None


@operator_app.command("create-key")
def operator_create_key(
    role: Annotated[
        str | None,
        typer.Option(help=f"the role the key acts in (least privilege): {_ROLES}", show_default=False),
    ] = None,
    label: Annotated[str, typer.Option(help="who or what the key is for")] = "operator",
) -> None:
    """Create an operator API key acting in a role and print it (it is shown only this once)."""
    from kleline.operators.service import create_key

    chosen = _role(role)
    with kleline_for_command() as kleline:
        key = create_key(kleline.db, label, role=chosen, actor=command_line(), clock=kleline.clock)
    typer.echo(key.secret)


@operator_app.command("list-keys")
def operator_list_keys(
    all_keys: Annotated[bool, typer.Option("--all", help="list the revoked keys too")] = False,
) -> None:
    """List the operator keys (never their secrets), newest first; a key without a role keeps every power."""
    from kleline.operators.service import list_keys

    with kleline_for_command() as kleline:
        keys = list_keys(kleline.db, include_revoked=all_keys)
    table = Table("id", "label", "role", "created", "revoked", title="Operator keys")
    for key in keys:
        role = key.role.value if key.role else "[yellow](none: every power)[/]"
        revoked = "" if key.revoked_at is None else key.revoked_at.strftime("%Y-%m-%d %H:%M")
        table.add_row(str(key.id), Text(key.label), role, key.created_at.strftime("%Y-%m-%d %H:%M"), revoked)
    show(table)


@operator_app.command("revoke-key")
def operator_revoke_key(
    key_id: Annotated[int, typer.Argument(help="the key's number (kleline operator list-keys)")],
) -> None:
    """Revoke an operator key: from now on it is refused."""
    from kleline.operators.service import revoke_key

    with kleline_for_command() as kleline:
        key = revoke_key(kleline.db, key_id, actor=command_line(), clock=kleline.clock)
    typer.echo(f"operator key {key.id} ({key.label}) is revoked")


@ledger_app.command("verify")
def ledger_verify() -> None:
    """Recompute every hash chain and balance, and the staff audit trail's chain; exit 1 and name each entry or
    account that was tampered with (``kleline audit verify`` names the trail's problems). The result is kept as
    the last integrity check, which the console shows."""
    from kleline.reports.integrity import run_check
    from kleline.staff.actor import command_line

    with kleline_for_command() as kleline:
        _, report, trail = run_check(kleline.db, command_line(), clock=kleline.clock)
    if report.ok:
        console.print(
            f"[green]ok[/]: {report.entries} entries in {report.chains} chains and {report.accounts} accounts verified"
        )
    for problem in report.problems:
        errors.print(f"[red]✗[/] {problem}", highlight=False)
    if trail.ok:
        console.print(f"[green]ok[/]: the staff audit trail's {trail.records} records verified", highlight=False)
    else:
        errors.print(
            f"[red]✗[/] the staff audit trail has {len(trail.problems)} problem(s): kleline audit verify names them",
            highlight=False,
        )
    if not report.ok:
        raise fail(f"{len(report.problems)} problem(s) found in {report.entries} entries")
    if not trail.ok:
        raise fail("the books check out, but the staff audit trail does not")


@ledger_app.command("trial-balance")
def ledger_trial_balance(
    accounts: Annotated[bool, typer.Option("--accounts/--no-accounts", help="list every account")] = True,
) -> None:
    """Print every account's balance and the debit and credit totals per currency."""
    from kleline.ledger.audit import trial_balance
    from kleline.money import Money

    with kleline_for_command() as kleline:
        result = trial_balance(kleline.db)
    if accounts:
        table = Table("account", "side", "balance", title="Accounts")
        for line in result.accounts:
            table.add_row(line.code, line.normal_side.name.lower(), str(Money(line.balance, line.currency)))
        show(table)
    totals = Table("currency", "debits", "credits", "balanced", title="Trial balance")
    for currency, t in result.currencies.items():
        mark = "[green]yes[/]" if t.debits == t.credits else "[red]NO[/]"
        totals.add_row(currency, str(Money(t.debits, currency)), str(Money(t.credits, currency)), mark)
    show(totals)
    if not result.balanced:
        raise fail("the books do not balance")
