"""A merchant's month as documents: CSV, FEC and the commission invoice, each the same bytes whenever asked."""

from __future__ import annotations

import csv
import io
import json
import re
from collections import defaultdict
from decimal import Decimal

from kleline.bootstrap import Kleline
from kleline.reports import MerchantStatement
from kleline.reports.fec import COLUMNS

from ...conftest import FakeClock
from ...unit.reports.pdf_text import pdf_text
from ..payments.conftest import eur, merchant, shopper
from .conftest import pay, send_payout


def _closed_january(kleline: Kleline, clock: FakeClock) -> MerchantStatement:
    """A month at 3.5 %: 12.50 (order =SUM(A1), a formula if a spreadsheet reads it raw) and 25.00 paid, 5.00
    refunded, 20.00 paid out; read once February has begun. The shop gave no SIRET."""
    shop = merchant(kleline, fee_bps=350, name="Librairie Kléber")
    ada = shopper(kleline, purse=50_000)
    first = pay(kleline, shop, ada.id, 1250, reference="=SUM(A1)")
    clock.advance(hours=1)
    pay(kleline, shop, ada.id, 2500)
    clock.advance(hours=1)
    kleline.refunds.refund(shop, first, eur(500))
    clock.advance(days=1)
    send_payout(kleline, shop, 2000, "po_jan")
    clock.now = clock.now.replace(month=2, day=2)
    return kleline.reports.statement(shop, "2026-01")


def test_every_format_gives_the_same_bytes_whenever_it_is_asked(kleline: Kleline, clock: FakeClock) -> None:
    statement = _closed_january(kleline, clock)
    kleline.reports.render(statement, "pdf")  # issued: from now on the statements name the invoice
    statement = kleline.reports.statement(statement.merchant.id, "2026-01")
    first = {f: kleline.reports.render(statement, f).content for f in ("json", "csv", "fec", "pdf")}
    clock.advance(days=40)
    again = kleline.reports.statement(statement.merchant.id, "2026-01")
    assert {f: kleline.reports.render(again, f).content for f in ("json", "csv", "fec", "pdf")} == first
    assert json.loads(first["json"])["closing_balance"] == 1136


def test_the_csv_lists_every_movement_then_the_summary(kleline: Kleline, clock: FakeClock) -> None:
    statement = _closed_january(kleline, clock)
    document = kleline.reports.render(statement, "csv")
    assert document.media_type == "text/csv; charset=utf-8"
    assert document.filename == f"kleline-{statement.merchant.id}-2026-01.csv"
    text = document.content.decode()
    assert text.endswith("\r\n")
    rows = list(csv.reader(io.StringIO(text)))
    blank = rows.index([])
    header, movements, summary = rows[0], rows[1:blank], rows[blank + 1 :]
    assert header[:3] == ["posted_at", "type", "id"] and header[-1] == "currency"
    assert [row[1] for row in movements] == ["payment", "payment", "refund", "payout"]
    first = dict(zip(header, movements[0], strict=True))
    assert (first["gross"], first["commission"], first["net"], first["balance_after"]) == (
        "12.50",
        "-0.44",
        "12.06",
        "12.06",
    )
    assert first["reference"] == "'=SUM(A1)"  # read as text, never run as a formula
    assert first["posted_at"] == "2026-01-15T09:30:00.000000Z"
    nets = sum(Decimal(dict(zip(header, row, strict=True))["net"]) for row in movements)
    assert summary[0] == ["item", "amount", "currency"]
    figures = {item: Decimal(amount) for item, amount, _ in summary[1:]}
    assert figures == {
        "opening_balance": Decimal("0.00"),
        "turnover": Decimal("37.50"),
        "refunds": Decimal("5.00"),
        "commission": Decimal("1.14"),
        "introduction_fees": Decimal("0.00"),
        "payouts": Decimal("20.00"),
        "payouts_returned": Decimal("0.00"),
        "adjustments": Decimal("0.00"),
        "closing_balance": Decimal("11.36"),
    }
    assert figures["opening_balance"] + nets == figures["closing_balance"]


_AMOUNT = re.compile(r"^[0-9]+,[0-9]{2}$")


def test_the_fec_holds_one_balanced_ecriture_per_movement(kleline: Kleline, clock: FakeClock) -> None:
    statement = _closed_january(kleline, clock)
    document = kleline.reports.render(statement, "fec")
    assert document.media_type == "text/plain; charset=iso-8859-15"
    assert document.filename == f"{statement.merchant.id}FEC20260131.txt"
    assert document.content.endswith(b"\r\n") and b"r\xe9f. =SUM(A1)" in document.content  # ISO 8859-15
    records = document.content.decode("iso-8859-15").split("\r\n")[:-1]
    assert records[0].split("\t") == list(COLUMNS) and len(COLUMNS) == 18
    lines = [dict(zip(COLUMNS, record.split("\t"), strict=True)) for record in records[1:]]

    ecritures: dict[str, list[dict[str, str]]] = defaultdict(list)
    for line in lines:
        assert _AMOUNT.match(line["Debit"]) and _AMOUNT.match(line["Credit"]), line
        assert re.match(r"^2026011[5-6]$", line["EcritureDate"]) and line["ValidDate"] == line["EcritureDate"]
        assert (line["JournalCode"], line["Montantdevise"], line["Idevise"]) == ("KLE", "", "")
        ecritures[line["EcritureNum"]].append(line)
    assert len(ecritures) == len(statement.movements) == 4

    def amount(text: str) -> Decimal:
        return Decimal(text.replace(",", "."))

    for number, ecriture in ecritures.items():
        debits = sum(amount(line["Debit"]) for line in ecriture)
        credits = sum(amount(line["Credit"]) for line in ecriture)
        assert debits == credits, number
    payment = ecritures["202601-00001"]
    assert [(line["CompteNum"], line["Debit"], line["Credit"]) for line in payment] == [
        ("467000", "12,06", "0,00"),
        ("627800", "0,44", "0,00"),
        ("411000", "0,00", "12,50"),
    ]
    assert payment[0]["CompAuxNum"] == "KLELINE" and payment[0]["PieceRef"] == statement.movements[0].object_id
    payout = ecritures["202601-00004"]
    assert [(line["CompteNum"], line["Debit"], line["Credit"]) for line in payout] == [
        ("467000", "0,00", "20,00"),
        ("512000", "20,00", "0,00"),
    ]
    kleline_account = sum(
        amount(line["Debit"]) - amount(line["Credit"]) for line in lines if line["CompteNum"] == "467000"
    )
    assert kleline_account == Decimal("11.36") == Decimal(statement.closing_balance - statement.opening_balance) / 100


def test_the_invoice_states_the_commission_its_number_and_the_vat_exemption(kleline: Kleline, clock: FakeClock) -> None:
    statement = _closed_january(kleline, clock)
    document = kleline.reports.render(statement, "pdf")
    assert document.media_type == "application/pdf"
    pdf = document.content
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    assert b"/CreationDate (D:20260202113000Z)" in pdf  # the invoice's date of issue
    text = pdf_text(pdf)
    assert "Facture de commissions" in text
    assert "Numéro : KL-2026-000001" in text
    assert "Date : 02/02/2026" in text and "Période : du 01/01/2026 au 31/01/2026" in text
    assert "Librairie Kléber" in text and f"Identifiant Kleline : {statement.merchant.id}" in text
    assert "Commission 3,50 % sur 2 paiements (37,50\xa0€ encaissés)" in text
    assert "1,32\xa0€" in text and "-0,18\xa0€" in text  # charged, returned
    assert text.count("1,14\xa0€") == 2  # total before and after VAT
    assert "TVA (0 %)" in text and "article 261 C 1° du CGI" in text
