"""The statement's rules without a database: months, what each entry is, the signs, the FEC's écritures."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kleline.reports import MerchantStatement, Month, Movement, StatementParty
from kleline.reports.fec import statement_fec
from kleline.reports.model import classify
from kleline.reports.tabular import decimal_text

SHOP = StatementParty("mer_1", "Épicerie Œuf & Cie", "shop@example.fr", "73282932000074")


def test_months_follow_each_other_across_the_year() -> None:
    assert Month.parse("2025-12").next() == Month(2026, 1)
    assert Month(2026, 1).previous() == Month(2025, 12)
    assert Month(2026, 12).end == datetime(2027, 1, 1, tzinfo=UTC)
    assert str(Month(2026, 2).last_day) == "2026-02-28" and str(Month(2024, 2).last_day) == "2024-02-29"
    assert Month.of(datetime(2026, 3, 31, 23, 59, 59, tzinfo=UTC)) == Month(2026, 3)
    assert str(Month(2026, 3)) == "2026-03"


@pytest.mark.parametrize("text", ["2026-13", "2026-00", "2026-1", "26-01", "2026/01", " ", "1969-12"])
def test_anything_but_a_month_written_yyyy_mm_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        Month.parse(text)


def test_a_capture_is_a_payment_whose_gross_is_what_the_customer_paid() -> None:
    found = classify("pay_1:capture", {"payment": "pay_1", "merchant": "mer_1"}, 1206, 44, False)
    assert (found.kind, found.object_id, found.payment_id, found.gross, found.commission) == (
        "payment",
        "pay_1",
        "pay_1",
        1250,
        -44,
    )


def test_a_refund_gives_back_the_merchants_share_and_kleline_its_fee() -> None:
    found = classify("re_1", {"payment": "pay_1", "refund": "re_1", "merchant": "mer_1"}, -482, -18, False)
    assert (found.kind, found.object_id, found.payment_id, found.gross, found.commission) == (
        "refund",
        "re_1",
        "pay_1",
        -500,
        18,
    )


def test_payouts_are_named_by_their_metadata_or_by_their_bank_legs() -> None:
    sent = classify("po_1:sent", {"payout": "po_1", "merchant": "mer_1"}, -2000, 0, True)
    returned = classify("po_1:returned", {"payout": "po_1"}, 2000, 0, True)
    unnamed = classify("ent_9", {}, -300, 0, True)
    assert (sent.kind, sent.object_id, sent.gross) == ("payout", "po_1", -2000)
    assert (returned.kind, returned.object_id, returned.gross) == ("payout_returned", "po_1", 2000)
    assert (unnamed.kind, unnamed.object_id) == ("payout", "ent_9")


def test_anything_else_on_the_balance_is_an_adjustment() -> None:
    found = classify("fix-1", {"note": "correction"}, 100, 0, False)
    assert (found.kind, found.object_id, found.gross, found.commission) == ("adjustment", "fix-1", 100, 0)


def _movement(kind: str, object_id: str, gross: int, commission: int, balance: int) -> Movement:
    return Movement(
        datetime(2026, 1, 15, 9, 30, tzinfo=UTC),
        kind,  # type: ignore[arg-type]
        object_id,
        object_id,
        "pay_1" if kind in ("payment", "refund") else None,
        "A\tB",
        "Livres\r\nreliés",
        gross,
        commission,
        gross + commission,
        balance,
        350,
    )


def _statement() -> MerchantStatement:
    movements = (
        _movement("payment", "pay_1", 1250, -44, 1206),
        _movement("refund", "re_1", -500, 18, 724),
        _movement("payout", "po_1", -700, 0, 24),
        _movement("payout_returned", "po_1", 700, 0, 724),
        _movement("adjustment", "fix-1", -24, 0, 700),
    )
    return MerchantStatement(SHOP, Month(2026, 1), "EUR", 0, 700, movements, True)


def test_a_statement_balances_when_its_movements_lead_from_opening_to_closing() -> None:
    statement = _statement()
    assert statement.balanced
    assert (statement.turnover, statement.refunds, statement.commission) == (1250, 500, 26)
    assert (statement.payouts, statement.payouts_returned, statement.adjustments) == (700, 700, -24)
    wrong = MerchantStatement(SHOP, Month(2026, 1), "EUR", 0, 701, statement.movements, True)
    assert not wrong.balanced


def test_every_fec_ecriture_balances_and_no_field_holds_a_separator() -> None:
    content = statement_fec(_statement())
    records = content.decode("iso-8859-15").split("\r\n")[1:-1]
    sums: dict[str, int] = {}
    for record in records:
        fields = record.split("\t")
        assert len(fields) == 18 and "\n" not in record and "\r" not in record
        debit, credit = (int(x.replace(",", "")) for x in fields[11:13])
        sums[fields[2]] = sums.get(fields[2], 0) + debit - credit
    assert len(sums) == 5 and set(sums.values()) == {0}
    assert "Livres reliés" in content.decode("iso-8859-15")
    assert "A B" in content.decode("iso-8859-15")


def test_amounts_are_written_as_exact_decimals() -> None:
    assert decimal_text(1250, "EUR") == "12.50"
    assert decimal_text(-5, "EUR") == "-0.05"
    assert decimal_text(0, "EUR") == "0.00"
    assert decimal_text(1250, "JPY") == "1250"
    assert decimal_text(10**15 + 1, "EUR") == "10000000000000.01"
