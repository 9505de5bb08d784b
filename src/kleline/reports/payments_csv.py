"""A merchant's payments as CSV (RFC 4180, UTF-8): the export of a filtered list (``GET /v1/payments/export.csv``,
and the dashboard's button, over the same search).

One line per payment, newest first, under a header: ``id``, ``created_at`` (RFC 3339 UTC), ``status``, ``method``,
``amount`` (what was asked), ``currency``, ``refunded`` (what was given back), ``fee`` (the commission on what was
captured, net of refunds), ``introduction_fee`` (the introduction fee of a customer an offer introduced, issue 15;
0 otherwise), ``net`` (what the merchant keeps), ``reference``, ``description``. Amounts are exact
decimals in major units with a point (``12.50``), as in the statements. Text a merchant or its shop wrote is kept
from reading as a spreadsheet formula (``tabular.spreadsheet_text``).

The payments come as an iterator (``Payments.search_all`` reads them chunk by chunk) and the CSV leaves as an
iterator of byte chunks, so an export of 100,000 payments is never whole in memory.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Final

from kleline.clock import to_rfc3339
from kleline.payments.model import Payment
from kleline.reports.tabular import decimal_text, spreadsheet_text

__all__ = ["PAYMENT_COLUMNS", "payment_row", "payments_csv"]

PAYMENT_COLUMNS: Final = (
    "id",
    "created_at",
    "status",
    "method",
    "amount",
    "currency",
    "refunded",
    "fee",
    "introduction_fee",
    "net",
    "reference",
    "description",
)


def payment_row(payment: Payment) -> tuple[str, ...]:
    """One payment as the cells of a line, in ``PAYMENT_COLUMNS`` order."""
    currency = payment.currency
    return (
        payment.id,
        to_rfc3339(payment.created_at),
        payment.status,
        payment.method or "",
        decimal_text(payment.amount.minor, currency),
        currency,
        decimal_text(payment.amount_refunded, currency),
        decimal_text(payment.fee, currency),
        decimal_text(payment.introduction_fee, currency),
        decimal_text(payment.net, currency),
        spreadsheet_text(payment.reference),
        spreadsheet_text(payment.description),
    )


def payments_csv(payments: Iterable[Payment], *, lines_per_chunk: int = 500) -> Iterator[bytes]:
    """The payments as CSV, in chunks of bytes of about ``lines_per_chunk`` lines (the header first, alone)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(PAYMENT_COLUMNS)
    yield buffer.getvalue().encode()
    buffer.seek(0)
    buffer.truncate()
    lines = 0
    for payment in payments:
        writer.writerow(payment_row(payment))
        lines += 1
        if lines == lines_per_chunk:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
            lines = 0
    if lines:
        yield buffer.getvalue().encode()
