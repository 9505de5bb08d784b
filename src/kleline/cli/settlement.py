"""``kleline settle``: the operator's settlement run from the command line, and its pain.001 file (the run and the
file written are recorded in the staff audit trail)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from kleline.cli.common import kleline_for_command
from kleline.staff.actor import command_line

__all__ = ["settle"]


def _period(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date: give YYYY-MM-DD") from None


def settle(
    period: Annotated[
        str | None,
        typer.Option(
            help="the day to settle, YYYY-MM-DD (UTC); today by default. A past day only shows (or finishes) the run"
            " started that day",
            show_default=False,
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="write the run's pain.001 file here", dir_okay=False, writable=True)
    ] = None,
) -> None:
    """Pay out every active merchant's available balance above the minimum: one SEPA credit transfer file per
    period. Running the same period again prints the same run (finishing it first if it was interrupted); a past
    day that nobody settled is refused, since a run pays the balances of the day it starts."""
    from kleline.money import Money
    from kleline.staff.audit import record_download

    day = _period(period)
    actor = command_line()
    with kleline_for_command() as kleline:
        run = kleline.settlement.run(day, actor=actor)
        file = kleline.settlement.run_file(run.id) if run.has_file else None
        if out is not None and file is not None:
            details = {"format": "pain.001", "bytes": len(file)}
            record_download(kleline.db, actor, "settlement_run", run.id, at=kleline.clock(), details=details)
    total = Money(run.total, run.currency)
    typer.echo(f"{run.id} settled {run.period.isoformat()}: {run.payout_count} payout(s), {total}")
    if out is not None:
        if file is None:
            # Not a failure: a quiet day pays nobody, and a scheduled run should not page anyone for it.
            typer.echo(f"no payout in this run: nothing written to {out}")
            return
        out.write_bytes(file)
        typer.echo(f"pain.001 file written to {out} ({len(file):,} bytes)")
