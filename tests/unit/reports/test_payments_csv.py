"""The payments export as CSV: its columns, exact amounts in major units, text that never runs as a formula, and
chunks of bytes rather than one document."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from kleline.money import Money
from kleline.payments.model import Payment
from kleline.reports.payments_csv import PAYMENT_COLUMNS, payments_csv
from kleline.reports.tabular import spreadsheet_text


def _payment(n: int = 1, **changes: object) -> Payment:
    fields: dict[str, object] = {
        "id": f"pay_{n}",
        "merchant_id": "mer_1",
        "customer_id": "cus_1",
        "amount": Money(1250, "EUR"),
        "status": "succeeded",
        "method": "purse",
        "amount_authorized": 1250,
        "amount_captured": 1250,
        "amount_refunded": 500,
        "fee_bps": 350,
        "description": "Un livre",
        "reference": "ORD-1",
        "capture_method": "automatic",
        "return_url": None,
        "failure_code": None,
        "created_at": datetime(2026, 1, 15, 9, 30, 0, 123456, tzinfo=UTC),
        "checkout_url": "",
    }
    fields.update(changes)
    return Payment(**fields)  # type: ignore[arg-type]


def _rows(chunks: Iterator[bytes]) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(chunks).decode())))


def test_a_payment_is_one_line_with_exact_amounts_in_major_units() -> None:
    header, line = _rows(payments_csv([_payment()]))
    assert tuple(header) == PAYMENT_COLUMNS
    assert dict(zip(header, line, strict=True)) == {
        "id": "pay_1",
        "created_at": "2026-01-15T09:30:00.123456Z",
        "status": "succeeded",
        "method": "purse",
        "amount": "12.50",
        "currency": "EUR",
        "refunded": "5.00",
        "fee": "0.26",  # 3.5 % of the 7.50 kept, rounded half up
        "introduction_fee": "0.00",  # no offer introduced the customer
        "net": "7.24",
        "reference": "ORD-1",
        "description": "Un livre",
    }


def test_a_payment_not_paid_yet_has_empty_method_reference_and_description() -> None:
    waiting = _payment(
        status="requires_confirmation",
        method=None,
        amount_authorized=0,
        amount_captured=0,
        amount_refunded=0,
        reference=None,
        description=None,
    )
    line = dict(zip(PAYMENT_COLUMNS, _rows(payments_csv([waiting]))[1], strict=True))
    assert (line["method"], line["reference"], line["description"], line["fee"], line["net"]) == (
        "",
        "",
        "",
        "0.00",
        "0.00",
    )


@pytest.mark.parametrize(
    "text", ['=HYPERLINK("http://evil.example","click")', "+33 1 23", "-2+3", "@SUM(A1:A2)", "\t=1", "\r=1"]
)
def test_text_that_a_spreadsheet_would_run_as_a_formula_is_kept_as_text(text: str) -> None:
    line = dict(zip(PAYMENT_COLUMNS, _rows(payments_csv([_payment(reference=text, description=text)]))[1], strict=True))
    assert line["reference"] == line["description"] == "'" + text
    assert spreadsheet_text(text) == "'" + text


def test_plain_text_is_left_as_it_was_written() -> None:
    for text in ("ORD-1", "Café « crème », 2 €", "a=b", "'quoted"):
        assert spreadsheet_text(text) == text
    assert spreadsheet_text(None) == spreadsheet_text("") == ""


def test_the_export_leaves_in_chunks_as_the_payments_come() -> None:
    read: list[int] = []

    def payments() -> Iterator[Payment]:
        for n in range(1, 1201):
            read.append(n)
            yield _payment(n)

    chunks = payments_csv(payments(), lines_per_chunk=500)
    assert next(chunks).decode() == ",".join(PAYMENT_COLUMNS) + "\r\n"  # the header, before any payment is read
    assert read == []
    first = next(chunks)
    assert first.count(b"\r\n") == 500 and len(read) == 500
    rest = list(chunks)
    assert [chunk.count(b"\r\n") for chunk in rest] == [500, 200]
    assert [row[0] for row in _rows(iter([first, *rest]))] == [f"pay_{n}" for n in range(1, 1201)]


def test_an_empty_export_is_its_header() -> None:
    assert b"".join(payments_csv([])) == (",".join(PAYMENT_COLUMNS) + "\r\n").encode()


def test_an_introduced_customer_s_payment_shows_its_introduction_fee_apart() -> None:
    line = dict(zip(PAYMENT_COLUMNS, _rows(payments_csv([_payment(intro_fee_bps=500)]))[1], strict=True))
    # 5 % of the 7.50 kept is 0.375, rounded half up; the merchant keeps 7.50 - 0.26 - 0.38.
    assert (line["fee"], line["introduction_fee"], line["net"]) == ("0.26", "0.38", "6.86")
