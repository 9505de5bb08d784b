"""Statements and exports from the command line: a merchant's month as a file, the books as beancount. Each is a
download, recorded in the staff audit trail (``export_downloaded``) before the file is written."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from kleline.cli.common import errors, fail, kleline_for_command
from kleline.staff.actor import command_line

__all__ = ["ledger_export", "statements"]


class StatementFormat(StrEnum):
    """The forms a statement comes in."""

    json = "json"
    csv = "csv"
    fec = "fec"
    pdf = "pdf"


class ExportFormat(StrEnum):
    """The forms the books are exported in."""

    beancount = "beancount"


def _write(content: bytes, out: Path | None) -> None:
    if out is None:
        sys.stdout.buffer.write(content)
        sys.stdout.buffer.flush()
        return
    try:
        out.write_bytes(content)
    except OSError as error:
        raise fail(f"cannot write {out}: {error.strerror}") from None
    errors.print(f"wrote {out} ({len(content)} bytes)", highlight=False)


def statements(
    merchant_id: Annotated[str, typer.Argument(help="merchant id (mer_...)")],
    month: Annotated[
        str | None, typer.Option("--month", help="the month, YYYY-MM (UTC); the last month that is over by default")
    ] = None,
    format: Annotated[
        StatementFormat,
        typer.Option("--format", help="json, csv, fec (Fichier des Écritures Comptables) or pdf (commission invoice)"),
    ] = StatementFormat.csv,
    out: Annotated[Path | None, typer.Option("--out", help="the file to write; standard output by default")] = None,
) -> None:
    """Write a merchant's statement for one month: movements, turnover, refunds, commission, payouts, balances."""
    from kleline.reports import Month
    from kleline.staff.audit import record_download

    with kleline_for_command() as kleline:
        period = month if month is not None else str(Month.of(kleline.clock()).previous())
        document = kleline.reports.statement_document(merchant_id, period, format.value)
        details = {"format": format.value, "month": period, "bytes": len(document.content)}
        record_download(kleline.db, command_line(), "merchant", merchant_id, at=kleline.clock(), details=details)
    _write(document.content, out)


def ledger_export(
    format: Annotated[ExportFormat, typer.Option("--format", help="beancount")] = ExportFormat.beancount,
    out: Annotated[Path | None, typer.Option("--out", help="the file to write; standard output by default")] = None,
) -> None:
    """Export the whole ledger (every account, entry and balance) as a file that bean-check accepts."""
    from kleline.staff.audit import record_download

    with kleline_for_command() as kleline:
        record_download(
            kleline.db, command_line(), "ledger", None, at=kleline.clock(), details={"format": format.value}
        )
        if out is None:
            summary = kleline.reports.export_beancount(sys.stdout)
        else:
            try:
                with out.open("w", encoding="utf-8", newline="\n") as file:
                    summary = kleline.reports.export_beancount(file)
            except OSError as error:
                raise fail(f"cannot write {out}: {error.strerror}") from None
    if out is not None:
        errors.print(
            f"wrote {out}: {summary.accounts} accounts, {summary.entries} entries ({format.value})", highlight=False
        )
