"""The commission invoice drawn from a statement alone: its lines, its totals, names in any script."""

from __future__ import annotations

from datetime import UTC, datetime

from kleline.reports import Issuer, MerchantStatement, Month, Movement, StatementParty
from kleline.reports.invoice import commission_invoice

from .pdf_text import pdf_text

KLELINE = Issuer("Kleline SAS", "https://kleline.example")


def _payment(object_id: str, gross: int, fee: int, fee_bps: int) -> Movement:
    at = datetime(2026, 3, 2, tzinfo=UTC)
    return Movement(at, "payment", object_id, object_id, object_id, None, "", gross, -fee, gross - fee, 0, fee_bps)


def test_an_invoice_lists_the_commission_per_rate() -> None:
    party = StatementParty("mer_1", "Épicerie Œuf & Cie", "shop@example.fr", None)
    movements = (_payment("pay_1", 1000, 35, 350), _payment("pay_2", 2000, 60, 300), _payment("pay_3", 100, 4, 350))
    statement = MerchantStatement(party, Month(2026, 3), "EUR", 0, 3001, movements, True)
    text = pdf_text(commission_invoice(statement, KLELINE))
    assert "Commission 3,00 % sur 1 paiement (20,00\xa0€ encaissés)" in text
    assert "Commission 3,50 % sur 2 paiements (11,00\xa0€ encaissés)" in text
    assert "0,60\xa0€" in text and "0,39\xa0€" in text and text.count("0,99\xa0€") == 2
    assert "Épicerie Œuf & Cie" in text and "Kleline SAS" in text and "https://kleline.example" in text
    assert "Date : 01/04/2026" in text and "SIRET" not in text


def test_a_name_outside_windows_1252_prints_as_question_marks_and_an_empty_month_says_so() -> None:
    party = StatementParty("mer_2", "北京书店 Books", "shop@example.cn", "73282932000074")
    statement = MerchantStatement(party, Month(2026, 3), "EUR", 500, 500, (), True)
    text = pdf_text(commission_invoice(statement, KLELINE))
    assert "???? Books" in text and "SIRET : 73282932000074" in text
    assert "Aucun paiement encaissé sur la période" in text and text.count("0,00\xa0€") >= 3
