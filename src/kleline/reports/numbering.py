"""Issuing commission invoices: one number per (merchant, month), from one gapless sequence per year of issue.

French rules (CGI art. 242 nonies A, BOI-TVA-DECLA-30-20-20) ask for invoice numbers taken from a unique,
chronological and continuous sequence. So a number is allocated, never derived, and only where it is kept:

- the year's counter row (``invoice_counters``) is locked (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite's
  ``BEGIN IMMEDIATE`` already serialises writers), the next number taken, the PDF rendered with it and the invoice
  row inserted, all in one transaction: a failure anywhere rolls the counter back with it, so no number is burnt
  (a SEQUENCE would be, which is why there is none);
- the (merchant, month) is looked up again once the lock is held, so two first requests for the same invoice give
  one number, not two;
- the issue time is read under the lock and never goes below the year's last one, so numbers and dates run in the
  same order even when two servers' clocks disagree.

The rendered bytes are kept with the invoice: asking again returns them as they were issued.

This is the only module of ``reports`` that writes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from kleline.clock import Clock, epoch_us, from_epoch_us
from kleline.db.engine import INTEGRITY_ERRORS, Database, RawTx
from kleline.reports.model import Invoice, MerchantStatement, Month

__all__ = ["Render", "find", "issue", "issued", "number_text"]

Render = Callable[[str, datetime], bytes]
"""Draws the invoice's PDF given its number and its date of issue."""

_COLUMNS = "number, merchant_id, month, issued_at, commission, currency, document_sha256"


def number_text(year: int, seq: int) -> str:
    """The printed number: ``KL-2026-000001``."""
    return f"KL-{year:04d}-{seq:06d}"


def _invoice(row: Sequence[Any]) -> Invoice:
    return Invoice(row[0], row[1], Month.parse(row[2]), from_epoch_us(int(row[3])), int(row[4]), row[5], row[6])


def find(tx: RawTx, merchant_id: str, month: Month) -> Invoice | None:
    """The invoice issued for the merchant's month, or None."""
    row = tx.fetchone(
        f"SELECT {_COLUMNS} FROM invoices WHERE merchant_id = :merchant AND month = :month",
        {"merchant": merchant_id, "month": str(month)},
    )
    return None if row is None else _invoice(row)


def _document(tx: RawTx, merchant_id: str, month: Month) -> tuple[Invoice, bytes] | None:
    row = tx.fetchone(
        f"SELECT {_COLUMNS}, document FROM invoices WHERE merchant_id = :merchant AND month = :month",
        {"merchant": merchant_id, "month": str(month)},
    )
    return None if row is None else (_invoice(row), bytes(row[7]))


def issued(db: Database, merchant_id: str, month: Month) -> tuple[Invoice, bytes] | None:
    """The invoice already issued for the merchant's month with its PDF, or None."""
    with db.transaction(write=False) as tx:
        return _document(tx, merchant_id, month)


def issue(db: Database, statement: MerchantStatement, clock: Clock, render: Render) -> tuple[Invoice, bytes]:
    """The statement's invoice and its PDF: the one already issued, or a new one numbered now.

    The caller has checked that the month is over and has commission to invoice."""
    merchant_id, month = statement.merchant.id, statement.month
    found = issued(db, merchant_id, month)
    if found is not None:
        return found
    try:
        while True:
            year = clock().year
            with db.transaction() as tx:
                done = _allocate(tx, statement, year, clock, render)
            if done is not None:
                return done
    except INTEGRITY_ERRORS:
        # Issued meanwhile under another year's counter (two requests straddling New Year): the first one stands.
        found = issued(db, merchant_id, month)
        if found is None:
            raise
        return found


def _allocate(
    tx: RawTx, statement: MerchantStatement, year: int, clock: Clock, render: Render
) -> tuple[Invoice, bytes] | None:
    """Inside one write transaction: lock the year's counter, then return the invoice found or newly inserted;
    None when the year ended while waiting for the lock (the caller starts again with the new year)."""
    merchant_id, month = statement.merchant.id, statement.month
    tx.execute(
        "INSERT INTO invoice_counters (year, last_number, last_issued_at) VALUES (:year, 0, 0) "
        "ON CONFLICT (year) DO NOTHING",
        {"year": year},
    )
    lock = " FOR UPDATE" if tx.is_postgres else ""
    last_number, last_issued_at = tx.fetchone(
        f"SELECT last_number, last_issued_at FROM invoice_counters WHERE year = :year{lock}", {"year": year}
    )
    found = _document(tx, merchant_id, month)
    if found is not None:
        return found
    now = clock()
    if now.year != year:
        return None
    at = max(epoch_us(now), int(last_issued_at))
    seq = int(last_number) + 1
    number = number_text(year, seq)
    content = render(number, from_epoch_us(at))
    digest = hashlib.sha256(content).hexdigest()
    tx.execute(
        "UPDATE invoice_counters SET last_number = :seq, last_issued_at = :at WHERE year = :year",
        {"seq": seq, "at": at, "year": year},
    )
    tx.execute(
        "INSERT INTO invoices (number, year, seq, merchant_id, month, issued_at, commission, currency, document, "
        "document_sha256) VALUES (:number, :year, :seq, :merchant, :month, :at, :commission, :currency, "
        ":document, :sha256)",
        {
            "number": number,
            "year": year,
            "seq": seq,
            "merchant": merchant_id,
            "month": str(month),
            "at": at,
            "commission": statement.commission + statement.introductions,  # the invoice's total
            "currency": statement.currency,
            "document": content,
            "sha256": digest,
        },
    )
    total = statement.commission + statement.introductions
    invoice = Invoice(number, merchant_id, month, from_epoch_us(at), total, statement.currency, digest)
    return invoice, content
