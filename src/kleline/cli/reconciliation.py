"""``kleline bank import FILE``: reconcile a camt.053 statement from the operator's desk, as the API does;
``kleline bank resolve ITEM``: propose where a line held in suspense belongs (a second person approves it:
``kleline proposals``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from kleline.cli.common import console, fail, kleline_for_command, show
from kleline.staff.actor import command_line

if TYPE_CHECKING:
    from kleline.reconciliation import ImportResult

__all__ = ["bank_import", "bank_resolve"]


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
        show(table)
    summary = f"{result.matched} matched, {result.unmatched} in suspense, {result.duplicates} duplicate(s)"
    if result.replayed:
        console.print(f"already imported, nothing changed: {summary}")
    else:
        console.print(f"[green]imported[/]: {summary}")


_TARGETS = {
    "payout": "payout",
    "collection": "collection",
    "payment": "card_payment",
    "top_up": "card_top_up",
    "refund": "card_refund",
    "account": "account",
}


def bank_resolve(
    item: Annotated[str, typer.Argument(help="the suspense item (si_...)")],
    payout: Annotated[str | None, typer.Option(help="the payout (po_...) the line pays or returns")] = None,
    collection: Annotated[str | None, typer.Option(help="the collection the line collects or returns")] = None,
    payment: Annotated[str | None, typer.Option(help="the card payment (pay_...) the network settled")] = None,
    top_up: Annotated[str | None, typer.Option(help="the card top-up (top_...) the network settled")] = None,
    refund: Annotated[str | None, typer.Option(help="the card refund (re_...) the network charged")] = None,
    account: Annotated[str | None, typer.Option(help="an account of the books, e.g. kleline:bank-charges")] = None,
    dismiss: Annotated[bool, typer.Option("--dismiss", help="for a line that posted nothing (give a --note)")] = False,
    note: Annotated[str | None, typer.Option(help="why, for whoever reads the item later")] = None,
) -> None:
    """Propose where a statement line held in suspense belongs (exactly one object or account, or --dismiss): its
    money leaves suspense once someone else approves the proposal (kleline proposals approve)."""
    from kleline.cli.proposals import announce
    from kleline.reconciliation import ResolutionRequest
    from kleline.staff.actor import command_line

    given = {"payout": payout, "collection": collection, "payment": payment, "top_up": top_up, "refund": refund}
    named = [(name, value) for name, value in {**given, "account": account}.items() if value is not None]
    if len(named) + int(dismiss) != 1:
        raise fail("name exactly one of --payout, --collection, --payment, --top-up, --refund, --account, or --dismiss")
    request = (
        ResolutionRequest("dismissed", None, note)
        if dismiss
        else ResolutionRequest(_TARGETS[named[0][0]], named[0][1], note)
    )
    with kleline_for_command() as kleline:
        proposal = kleline.proposals.propose_suspense_resolution(command_line(), item, request)
    announce(proposal)
