"""``kleline collect``: the operator's direct debit collection run from the command line, and its pain.008 file;
``kleline receivables write-off``: proposing to give up a debt a returned direct debit left (a second person
approves it: ``kleline proposals``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kleline.cli.common import kleline_for_command
from kleline.staff.actor import command_line

__all__ = ["collect", "receivables_app"]

receivables_app = typer.Typer(help="Debts that returned direct debits left.", no_args_is_help=True)


def collect(
    out: Annotated[
        Path | None, typer.Option(help="write the run's pain.008 file here", dir_okay=False, writable=True)
    ] = None,
    run: Annotated[
        str | None,
        typer.Option(help="write the file of this earlier run (cr_...) instead of starting one", show_default=False),
    ] = None,
) -> None:
    """Send every direct debit not yet sent, in one SEPA pain.008 file. If a crash interrupted the previous run,
    that run is finished and printed instead (its collections were already taken): write its file, then run
    again for anything newer."""
    from kleline.staff.audit import record_download

    actor = command_line()
    with kleline_for_command() as kleline:
        runs = kleline.collections.runs
        done = runs.finish(run, actor=actor) if run is not None else runs.run(actor=actor)
        file = runs.file(done.id) if done.has_file else None
        if out is not None and file is not None:
            details = {"format": "pain.008", "bytes": len(file)}
            record_download(kleline.db, actor, "collection_run", done.id, at=kleline.clock(), details=details)
    typer.echo(
        f"{done.id}: {done.collection_count} collection(s), {done.total}, to be collected on "
        f"{done.collection_date.isoformat()}"
    )
    if out is not None:
        if file is None:
            # Not a failure: a day without direct-debit top-ups collects nothing, and a schedule should not alarm.
            typer.echo(f"nothing to collect in this run: nothing written to {out}")
            return
        out.write_bytes(file)
        typer.echo(f"pain.008 file written to {out} ({len(file):,} bytes)")


@receivables_app.command("write-off")
def write_off(
    customer: Annotated[str, typer.Argument(help="the customer who owes (cus_...)")],
    amount: Annotated[
        int | None, typer.Option(min=1, help="cents to write off; the whole debt by default", show_default=False)
    ] = None,
) -> None:
    """Propose to write a customer's debt off to Kleline's loss account (kleline:bad-debt): it is done once someone
    else approves it (kleline proposals approve); then the customer may top up by direct debit again."""
    from kleline.cli.proposals import announce
    from kleline.money import Money
    from kleline.staff.actor import command_line
    from kleline.wallet.customers import PURSE_CURRENCY

    asked = None if amount is None else Money(amount, PURSE_CURRENCY)
    with kleline_for_command() as kleline:
        proposal = kleline.proposals.propose_write_off(command_line(), customer, asked)
    announce(proposal)
