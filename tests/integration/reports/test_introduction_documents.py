"""The introduction fee (issue 15) on its own line of the merchant's statement (JSON, CSV), FEC and invoice, and in
the dashboard's overview, for a month with an introduced customer's payment and a partial refund of it.

12.50 EUR at 3.5 % commission and 5 % introduction fee: 44 and 63 taken; 5.00 refunded: 18 and 25 back. The month:
commission 26, introduction fees 38, the merchant's balance 6.86 (12.50 - 5.00 - 0.26 - 0.38).
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

from kleline.bootstrap import Kleline
from kleline.merchants.model import balance_account
from kleline.reports import day_totals
from kleline.reports.fec import COLUMNS

from ...conftest import FakeClock
from ...unit.reports.pdf_text import pdf_text
from ..payments.conftest import balance, eur, merchant, shopper
from ..payments.offer_rows import deliver_offer_with_sql
from .conftest import pay


def _january(kleline: Kleline, clock: FakeClock) -> tuple[str, str, str]:
    """The merchant, its introduced customer's payment and the refund, the overview checked while January runs."""
    shop = merchant(kleline, fee_bps=350)
    ada = shopper(kleline, purse=50_000)
    deliver_offer_with_sql(kleline, shop, ada.id, delivered_at=clock() - timedelta(days=2), answer="interested")
    paid = pay(kleline, shop, ada.id, 1250)
    clock.advance(hours=1)
    refund = kleline.refunds.refund(shop, paid, eur(500)).id
    today = kleline.overview.of(shop).today
    # The overview's commission is what Kleline's fees cost, the introduction fee with the commission.
    assert (today.gross, today.refunds, today.commission, today.net) == (1250, 500, 64, 686)
    assert balance(kleline, balance_account(shop)) == 686
    clock.now = datetime(2026, 2, 3, 10, 0, tzinfo=UTC)
    return shop, paid, refund


def _fec(kleline: Kleline, shop: str) -> list[dict[str, str]]:
    content = kleline.reports.statement_document(shop, "2026-01", "fec").content
    records = content.decode("iso-8859-15").split("\r\n")[1:-1]
    return [dict(zip(COLUMNS, record.split("\t"), strict=True)) for record in records]


def _cents(text: str) -> int:
    return int(text.replace(",", "").replace(".", ""))


def test_the_statement_shows_the_introduction_fee_apart_from_the_commission(kleline: Kleline, clock: FakeClock) -> None:
    shop, paid, refund = _january(kleline, clock)
    statement = kleline.reports.statement(shop, "2026-01")
    assert (statement.commission_charged, statement.commission_returned, statement.commission) == (44, 18, 26)
    assert (statement.introductions_charged, statement.introductions_returned, statement.introductions) == (63, 25, 38)
    assert statement.closing_balance == 686 and statement.balanced
    lines = {m.object_id: (m.gross, m.commission, m.introduction, m.net) for m in statement.movements}
    assert lines == {paid: (1250, -44, -63, 1143), refund: (-500, 18, 25, -457)}

    document = json.loads(kleline.reports.render(statement, "json").content)
    assert (document["introduction_fees"], document["introduction_fees_charged"]) == (38, 63)
    assert [m["introduction_fee"] for m in document["movements"]] == [-63, 25]

    rows = list(csv.reader(io.StringIO(kleline.reports.render(statement, "csv").content.decode())))
    header = rows[0]
    assert [dict(zip(header, row, strict=True))["introduction_fee"] for row in rows[1:3]] == ["-0.63", "0.25"]
    assert ["introduction_fees", "0.38", "EUR"] in rows


def test_the_fec_books_the_introduction_fee_on_its_own_account_before_and_after_the_invoice(
    kleline: Kleline, clock: FakeClock
) -> None:
    shop, paid, _ = _january(kleline, clock)
    before = _fec(kleline, shop)
    introduction = [line for line in before if line["CompteNum"] == "627810"]
    assert [(_cents(line["Debit"]), _cents(line["Credit"])) for line in introduction] == [(63, 0), (0, 25)]
    assert sum(_cents(line["Debit"]) - _cents(line["Credit"]) for line in before) == 0

    pdf = kleline.reports.statement_document(shop, "2026-01", "pdf").content  # issues the invoice
    after = _fec(kleline, shop)
    number = kleline.reports.statement(shop, "2026-01").invoice
    assert number is not None
    cited = [line for line in after if line["CompteNum"] == "627810"]
    assert {line["PieceRef"] for line in cited} == {number.number}
    assert cited[0]["EcritureLib"] == f"Frais d'introduction Kleline du paiement {paid}, facture {number.number}"
    assert sum(_cents(line["Debit"]) - _cents(line["Credit"]) for line in after) == 0
    assert number.commission == 64  # the invoice's total: commission and introduction fees

    text = pdf_text(pdf).replace("\xa0", " ")  # amounts keep their currency sign with a no-break space
    assert "Frais d'introduction 5,00 % sur 1 paiement de clients présentés (12,50 € encaissés)" in text
    assert "Frais d'introduction restitués sur 1 remboursement" in text
    assert "0,63 €" in text and "-0,25 €" in text and "0,64 €" in text


def test_a_refund_paid_wholly_by_the_commission_and_the_introduction_fee_is_on_the_statement(
    kleline: Kleline, clock: FakeClock
) -> None:
    # 1.30 EUR: commission round_half_up(4.55) = 5, fee round_half_up(6.5) = 7. Two cents back leave 1.28:
    # commission 4 (1 back), fee 6 (1 back): the merchant's balance does not move.
    shop = merchant(kleline, fee_bps=350)
    ada = shopper(kleline, purse=1000)
    deliver_offer_with_sql(kleline, shop, ada.id, delivered_at=clock(), answer="share_email")
    paid = pay(kleline, shop, ada.id, 130)
    assert balance(kleline, balance_account(shop)) == 118
    clock.advance(hours=1)
    refund = kleline.refunds.refund(shop, paid, eur(2))
    assert (refund.fee_returned, refund.intro_fee_returned) == (1, 1)
    assert balance(kleline, balance_account(shop)) == 118
    today = kleline.overview.of(shop).today
    assert (today.gross, today.refunds, today.commission, today.net) == (130, 2, 10, 118)
    clock.now = datetime(2026, 2, 3, 10, 0, tzinfo=UTC)
    statement = kleline.reports.statement(shop, "2026-01")
    lines = [(m.kind, m.gross, m.commission, m.introduction, m.net) for m in statement.movements]
    assert lines == [("payment", 130, -5, -7, 118), ("refund", -2, 1, 1, 0)]
    assert (statement.refunds, statement.introductions, statement.closing_balance) == (2, 6, 118)
    # The closed days, now summed into the overview's store, say the same.
    january = kleline.overview.of(shop).months[-2].totals
    assert (january.gross, january.refunds, january.commission, january.net) == (130, 2, 10, 118)


def test_the_zero_net_refunds_are_found_through_their_partial_index(kleline: Kleline) -> None:
    params = {"merchant": "mer_x", "start": 0, "end": 1}
    with kleline.db.transaction() as tx:
        if tx.is_postgres:
            tx.execute("SET LOCAL enable_seqscan = off")  # an empty table: ask whether the index can serve at all
            plan = "\n".join(str(row[0]) for row in tx.fetchall(f"EXPLAIN {day_totals._ZERO_NET}", params))
        else:
            plan = "\n".join(str(row[3]) for row in tx.fetchall(f"EXPLAIN QUERY PLAN {day_totals._ZERO_NET}", params))
    assert "ix_refunds_zero_net" in plan
