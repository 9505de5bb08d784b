"""The commission invoice drawn from a statement alone: its lines, its totals, names in any script."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kleline.reports import Issuer, MerchantStatement, Month, Movement, StatementParty
from kleline.reports.invoice import commission_invoice

from .pdf_text import pdf_text

KLELINE = Issuer("Kleline SAS", "https://kleline.example")
ISSUED = datetime(2026, 4, 1, 8, 15, tzinfo=UTC)


def _draw(statement: MerchantStatement) -> bytes:
    return commission_invoice(statement, KLELINE, number="KL-2026-000007", issued=ISSUED)


def _payment(object_id: str, gross: int, fee: int, fee_bps: int) -> Movement:
    at = datetime(2026, 3, 2, tzinfo=UTC)
    return Movement(at, "payment", object_id, object_id, object_id, None, "", gross, -fee, gross - fee, 0, fee_bps)


def test_an_invoice_lists_the_commission_per_rate() -> None:
    party = StatementParty("mer_1", "Épicerie Œuf & Cie", "shop@example.fr", None)
    movements = (_payment("pay_1", 1000, 35, 350), _payment("pay_2", 2000, 60, 300), _payment("pay_3", 100, 4, 350))
    statement = MerchantStatement(party, Month(2026, 3), "EUR", 0, 3001, movements, True)
    text = pdf_text(_draw(statement))
    assert "Commission 3,00 % sur 1 paiement (20,00\xa0€ encaissés)" in text
    assert "Commission 3,50 % sur 2 paiements (11,00\xa0€ encaissés)" in text
    assert "0,60\xa0€" in text and "0,39\xa0€" in text and text.count("0,99\xa0€") == 2
    assert "Épicerie Œuf & Cie" in text and "Kleline SAS" in text and "https://kleline.example" in text
    assert "Date : 01/04/2026" in text and "SIRET" not in text
    assert "Facture de commissions" in text and "Numéro : KL-2026-000007" in text


def test_a_name_outside_windows_1252_prints_as_question_marks_and_an_empty_month_says_so() -> None:
    party = StatementParty("mer_2", "北京书店 Books", "shop@example.cn", "73282932000074")
    statement = MerchantStatement(party, Month(2026, 3), "EUR", 500, 500, (), True)
    text = pdf_text(_draw(statement))
    assert "???? Books" in text and "SIRET : 73282932000074" in text
    assert "Aucun paiement encaissé sur la période" in text and text.count("0,00\xa0€") >= 3


def test_a_month_that_gave_back_more_commission_than_it_charged_is_a_credit_note() -> None:
    party = StatementParty("mer_3", "Fromagerie", "shop@example.fr", None)
    at = datetime(2026, 3, 4, tzinfo=UTC)
    refund = Movement(at, "refund", "re_1", "re_1", "pay_0", None, "", -1000, 35, -965, -965, 350)
    statement = MerchantStatement(party, Month(2026, 3), "EUR", 0, -965, (refund,), True)
    text = pdf_text(_draw(statement))
    assert "Avoir sur commissions" in text and "Facture de commissions" not in text
    assert text.count("-0,35\xa0€") >= 2


@pytest.mark.parametrize("minute", [15, 16])
def test_the_date_of_issue_is_printed_and_is_the_documents_creation_date(minute: int) -> None:
    party = StatementParty("mer_1", "Shop", "shop@example.fr", None)
    statement = MerchantStatement(party, Month(2026, 3), "EUR", 0, 965, (_payment("pay_1", 1000, 35, 350),), True)
    issued = ISSUED.replace(minute=minute)
    pdf = commission_invoice(statement, KLELINE, number="KL-2026-000001", issued=issued)
    assert f"/CreationDate (D:2026040108{minute}00Z)".encode() in pdf
    assert pdf == commission_invoice(statement, KLELINE, number="KL-2026-000001", issued=issued)
