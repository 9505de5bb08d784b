"""``kleline collect``: the operator's direct debit collection run from the command line, and its pain.008 file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kleline.cli.common import kleline_for_command

__all__ = ["collect"]


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
    with kleline_for_command() as kleline:
        runs = kleline.collections.runs
        done = runs.finish(run) if run is not None else runs.run()
        file = runs.file(done.id) if done.has_file else None
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
