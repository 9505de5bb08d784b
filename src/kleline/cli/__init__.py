"""The ``kleline`` command line (Typer + Rich): serve, demo, migrations, operator keys, staff, ledger audit, vault
keys, config, the staff audit trail, proposals; each area's commands live in their own module, registered here in the
order ``kleline --help`` lists them."""

from __future__ import annotations

import typer
from pydantic import ValidationError
from rich.markup import escape

from kleline.cli.audit import audit_app
from kleline.cli.bank import bank_app
from kleline.cli.books import ledger_app, operator_app
from kleline.cli.collections import collect, receivables_app
from kleline.cli.common import errors
from kleline.cli.housekeeping import idempotency_app, payments_app
from kleline.cli.merchants import malls_app, merchants_app
from kleline.cli.proposals import proposals_app
from kleline.cli.receipts import receipt_app
from kleline.cli.reconciliation import bank_import, bank_resolve
from kleline.cli.reports import ledger_export, statements
from kleline.cli.server import db_app, demo, serve, show_config, worker
from kleline.cli.settlement import settle
from kleline.cli.staff import staff_app
from kleline.cli.wallets import customers_app, keys_app

__all__ = ["app", "main", "settings_problems"]

app = typer.Typer(help="Kleline: a payment intermediary for online shopping.", no_args_is_help=True)

app.command("config")(show_config)
app.command("worker")(worker)
app.command("serve")(serve)
app.command("demo")(demo)
app.command("statements")(statements)
ledger_app.command("export")(ledger_export)
app.command("settle")(settle)
app.command("collect")(collect)
bank_app.command("import")(bank_import)
bank_app.command("resolve")(bank_resolve)

app.add_typer(db_app, name="db")
app.add_typer(operator_app, name="operator")
app.add_typer(ledger_app, name="ledger")
app.add_typer(audit_app, name="audit")
app.add_typer(customers_app, name="customers")
app.add_typer(keys_app, name="keys")
app.add_typer(receipt_app, name="receipt")
app.add_typer(idempotency_app, name="idempotency")
app.add_typer(merchants_app, name="merchants")
app.add_typer(malls_app, name="malls")
app.add_typer(payments_app, name="payments")
app.add_typer(bank_app, name="bank")
app.add_typer(receivables_app, name="receivables")
app.add_typer(staff_app, name="staff")
app.add_typer(proposals_app, name="proposals")


def main() -> None:
    """The ``kleline`` console script: the commands above, with bad ``KLELINE_*`` settings told one line each
    (exit status 2, like any other bad input) instead of a traceback. The value given is never repeated: pydantic's
    own message would quote it, and a mistyped key is still a key."""
    try:
        app(prog_name="kleline")
    except ValidationError as error:
        if error.title != "Settings":
            raise
        for line in settings_problems(error):
            errors.print(f"[bold red]error:[/] {escape(line)}", soft_wrap=True)
        raise SystemExit(2) from None


def settings_problems(error: ValidationError) -> list[str]:
    """``KLELINE_NAME: what is wrong`` for each setting the environment got wrong, without the values."""
    lines = []
    for problem in error.errors(include_input=False, include_url=False):
        field = "_".join(str(part) for part in problem["loc"]).upper()
        message = str(problem["msg"]).removeprefix("Value error, ")
        lines.append(f"KLELINE_{field}: {message}" if field else f"settings: {message}")
    return lines
