"""A merchant's statement as CSV (RFC 4180, UTF-8): one line per movement, then the month's summary.

Two tables in one file, separated by an empty line: the movements (``posted_at,type,id,...``), then the summary
(``item,amount,currency``) from the opening to the closing balance; once the month's commission invoice is issued,
a third table after another empty line names it (``invoice_number,issued_at``). Amounts are exact decimals in
major units with a point (``12.50``, ``-4.82``), signed as the merchant's balance moved. Text a merchant or
customer wrote is kept from reading as a spreadsheet formula.
"""

from __future__ import annotations

import csv
import io
from typing import Final

from kleline.clock import to_rfc3339
from kleline.money import Money
from kleline.reports.model import MerchantStatement

__all__ = [
    "INVOICE_COLUMNS",
    "MOVEMENT_COLUMNS",
    "SUMMARY_COLUMNS",
    "decimal_text",
    "spreadsheet_text",
    "statement_csv",
]

MOVEMENT_COLUMNS: Final = (
    "posted_at",
    "type",
    "id",
    "payment_id",
    "reference",
    "description",
    "gross",
    "commission",
    "introduction_fee",
    "net",
    "balance_after",
    "currency",
)
SUMMARY_COLUMNS: Final = ("item", "amount", "currency")
INVOICE_COLUMNS: Final = ("invoice_number", "issued_at")
_FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")


def decimal_text(minor: int, currency: str) -> str:
    """``minor`` units as an exact decimal in major units (``1250`` EUR is ``12.50``), never through a float."""
    return f"{Money(minor, currency).to_decimal():f}"


def spreadsheet_text(value: str | None) -> str:
    """Text someone wrote, as a CSV cell no spreadsheet runs: one starting with = + - @ (or a tab or a carriage
    return) would be read as a formula, so it gets a leading apostrophe, which makes it plain text."""
    if not value:
        return ""
    return "'" + value if value.startswith(_FORMULA_START) else value


def statement_csv(statement: MerchantStatement) -> bytes:
    """The statement as CSV bytes."""
    currency = statement.currency
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(MOVEMENT_COLUMNS)
    for m in statement.movements:
        writer.writerow(
            (
                to_rfc3339(m.posted_at),
                m.kind,
                m.object_id,
                m.payment_id or "",
                spreadsheet_text(m.reference),
                spreadsheet_text(m.description),
                decimal_text(m.gross, currency),
                decimal_text(m.commission, currency),
                decimal_text(m.introduction, currency),
                decimal_text(m.net, currency),
                decimal_text(m.balance_after, currency),
                currency,
            )
        )
    writer.writerow(())
    writer.writerow(SUMMARY_COLUMNS)
    summary = (
        ("opening_balance", statement.opening_balance),
        ("turnover", statement.turnover),
        ("refunds", statement.refunds),
        ("commission", statement.commission),
        ("introduction_fees", statement.introductions),
        ("payouts", statement.payouts),
        ("payouts_returned", statement.payouts_returned),
        ("adjustments", statement.adjustments),
        ("closing_balance", statement.closing_balance),
    )
    for item, minor in summary:
        writer.writerow((item, decimal_text(minor, currency), currency))
    if statement.invoice is not None:
        writer.writerow(())
        writer.writerow(INVOICE_COLUMNS)
        writer.writerow((statement.invoice.number, to_rfc3339(statement.invoice.issued_at)))
    return buffer.getvalue().encode()
