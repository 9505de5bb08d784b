"""The operator's side of the books: audit the ledger, issue operator API keys."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from kleline.cli.common import console, errors, fail, kleline_for_command

__all__ = ["ledger_app", "operator_app"]

operator_app = typer.Typer(help="Operators' access.", no_args_is_help=True)
ledger_app = typer.Typer(help="Audit the books.", no_args_is_help=True)


@operator_app.command("create-key")
def operator_create_key(label: Annotated[str, typer.Option(help="who or what the key is for")] = "operator") -> None:
    """Create an operator API key and print it (it is shown only this once)."""
    from kleline.operators.service import create_key

    with kleline_for_command() as kleline:
        key = create_key(kleline.db, label)
    typer.echo(key.secret)


@ledger_app.command("verify")
def ledger_verify() -> None:
    """Recompute every hash chain and balance; exit 1 and name each entry or account that was tampered with."""
    from kleline.ledger.audit import verify

    with kleline_for_command() as kleline:
        report = verify(kleline.db)
    if report.ok:
        console.print(
            f"[green]ok[/]: {report.entries} entries in {report.chains} chains and {report.accounts} accounts verified"
        )
        return
    for problem in report.problems:
        errors.print(f"[red]✗[/] {problem}", highlight=False)
    raise fail(f"{len(report.problems)} problem(s) found in {report.entries} entries")


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
        console.print(table)
    totals = Table("currency", "debits", "credits", "balanced", title="Trial balance")
    for currency, t in result.currencies.items():
        mark = "[green]yes[/]" if t.debits == t.credits else "[red]NO[/]"
        totals.add_row(currency, str(Money(t.debits, currency)), str(Money(t.credits, currency)), mark)
    console.print(totals)
    if not result.balanced:
        raise fail("the books do not balance")
