"""``kleline bank import FILE``: reconcile a camt.053 statement from the operator's desk, as the API does."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from kleline.cli.common import console, fail, kleline_for_command
from kleline.staff.actor import command_line

if TYPE_CHECKING:
    from kleline.reconciliation import ImportResult

__all__ = ["bank_import"]


def bank_import(
    file: Annotated[Path, typer.Argument(help="a camt.053 document (any version from 001.02 to 001.14)")],
    as_json: Annotated[bool, typer.Option("--json", help="print the result as the API's JSON")] = False,
) -> None:
    """Import a bank statement of the safeguarding account: match each line to its payout, collection, card
    settlement or refund, hold the rest in suspense. Importing it again changes nothing. Exit 0 when imported (even
    with lines in suspense), 1 when refused (malformed, another account, a conflicting statement), 2 if unreadable."""
    from kleline.reconciliation import StatementTooLarge
    from kleline.reconciliation.views import import_json

    with kleline_for_command() as kleline:
        limit = kleline.reconciliation.max_bytes
        try:
            if file.stat().st_size > limit:
                raise StatementTooLarge(f"{file} is larger than the {limit}-byte limit of an import")
            xml = file.read_bytes()
        except OSError as error:
            raise fail(escape(f"cannot read {file}: {error.strerror or error}"), 2) from None
        result = kleline.reconciliation.import_document(xml, actor=command_line())
    if as_json:
        typer.echo(json.dumps(import_json(result), indent=2))
        return
    _print(result)


def _print(result: ImportResult) -> None:
    from kleline.reconciliation import LineStatus

    for statement in result.statements:
        table = Table("#", "entry ref", "direction", "amount", "end-to-end id", "outcome", title=statement.statement_id)
        for outcome in statement.lines or ():
            line = outcome.line
            if outcome.status is LineStatus.MATCHED:
                assert outcome.target is not None and outcome.action is not None
                what = f"{outcome.action.value} {outcome.target.value} {outcome.object_id}"
            elif outcome.status is LineStatus.SUSPENSE:
                what = f"suspense ({outcome.reason.value if outcome.reason else '?'}) {outcome.suspense_item_id}"
            else:
                what = f"duplicate of {outcome.duplicate_of}"
            table.add_row(
                str(outcome.position),
                Text(line.entry_ref),
                line.direction.value,
                str(line.amount),
                Text(line.end_to_end_id or ""),
                Text(what),
            )
        console.print(table)
    summary = f"{result.matched} matched, {result.unmatched} in suspense, {result.duplicates} duplicate(s)"
    if result.replayed:
        console.print(f"already imported, nothing changed: {summary}")
    else:
        console.print(f"[green]imported[/]: {summary}")
