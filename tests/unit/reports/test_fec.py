"""The FEC once the month's commission invoice is issued: the commission is booked on its own écritures, whose
pièce is the invoice (its number, its date of issue); before the issue nothing changes."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

from kleline.reports import Invoice, MerchantStatement, Month, Movement, StatementParty
from kleline.reports.fec import COLUMNS, statement_fec

SHOP = StatementParty("mer_1", "Épicerie Œuf & Cie", "shop@example.fr", "73282932000074")
ISSUED = Invoice(
    "KL-2026-000007", "mer_1", Month(2026, 1), datetime(2026, 2, 3, 10, 5, tzinfo=UTC), 26, "EUR", "0" * 64
)

Line = dict[str, str]


def _movement(day: int, kind: str, object_id: str, gross: int, commission: int, balance: int) -> Movement:
    return Movement(
        datetime(2026, 1, day, 9, 30, tzinfo=UTC),
        kind,  # type: ignore[arg-type]
        object_id,
        object_id,
        "pay_1" if kind in ("payment", "refund") else None,
        None,
        "",
        gross,
        commission,
        gross + commission,
        balance,
        350,
    )


def _statement(invoice: Invoice | None) -> MerchantStatement:
    """Paid 12.50 (fee 0.44), 5.00 refunded (0.18 given back), 7.00 paid out, a free payment of 3.00."""
    movements = (
        _movement(15, "payment", "pay_1", 1250, -44, 1206),
        _movement(16, "refund", "re_1", -500, 18, 724),
        _movement(20, "payout", "po_1", -700, 0, 24),
        _movement(21, "payment", "pay_2", 300, 0, 324),
    )
    return MerchantStatement(SHOP, Month(2026, 1), "EUR", 0, 324, movements, True, invoice)


def _lines(statement: MerchantStatement) -> list[Line]:
    records = statement_fec(statement).decode("iso-8859-15").split("\r\n")
    assert records[0].split("\t") == list(COLUMNS) and records[-1] == ""
    return [dict(zip(COLUMNS, record.split("\t"), strict=True)) for record in records[1:-1]]


def _cents(text: str) -> int:
    return int(text.replace(",", ""))


def _ecritures(lines: list[Line]) -> dict[str, list[Line]]:
    ecritures: dict[str, list[Line]] = defaultdict(list)
    for line in lines:
        ecritures[line["EcritureNum"]].append(line)
    return ecritures


def _shape(ecriture: list[Line]) -> list[tuple[str, str, str, str, str]]:
    return [(x["CompteNum"], x["Debit"], x["Credit"], x["PieceRef"], x["PieceDate"]) for x in ecriture]


def test_once_issued_the_commission_is_booked_against_the_invoice() -> None:
    ecritures = _ecritures(_lines(_statement(ISSUED)))
    assert list(ecritures) == [f"202601-{n:05d}" for n in range(1, 7)]  # continuous, in order
    shapes = [_shape(e) for e in ecritures.values()]
    assert shapes == [
        [("467000", "12,50", "0,00", "pay_1", "20260115"), ("411000", "0,00", "12,50", "pay_1", "20260115")],
        [
            ("467000", "0,00", "0,44", "KL-2026-000007", "20260203"),
            ("627800", "0,44", "0,00", "KL-2026-000007", "20260203"),
        ],
        [("467000", "0,00", "5,00", "re_1", "20260116"), ("411000", "5,00", "0,00", "re_1", "20260116")],
        [
            ("467000", "0,18", "0,00", "KL-2026-000007", "20260203"),
            ("627800", "0,00", "0,18", "KL-2026-000007", "20260203"),
        ],
        [("467000", "0,00", "7,00", "po_1", "20260120"), ("512000", "7,00", "0,00", "po_1", "20260120")],
        [("467000", "3,00", "0,00", "pay_2", "20260121"), ("411000", "0,00", "3,00", "pay_2", "20260121")],
    ]
    commission = ecritures["202601-00002"]
    # Booked on the day Kleline took it, inside the period the file covers; the pièce is dated by its issue.
    assert {(x["EcritureDate"], x["ValidDate"]) for x in commission} == {("20260115", "20260115")}
    assert commission[0]["EcritureLib"] == "Commission Kleline du paiement pay_1, facture KL-2026-000007"
    assert ecritures["202601-00004"][0]["EcritureLib"] == (
        "Commission Kleline rendue sur le remboursement re_1, facture KL-2026-000007"
    )
    assert commission[0]["CompAuxNum"] == "KLELINE" and commission[1]["CompAuxNum"] == ""


def test_once_issued_every_ecriture_still_balances_and_the_accounts_end_where_they_did() -> None:
    before, after = _lines(_statement(None)), _lines(_statement(ISSUED))
    for lines in (before, after):
        for number, ecriture in _ecritures(lines).items():
            assert sum(_cents(x["Debit"]) - _cents(x["Credit"]) for x in ecriture) == 0, number
            assert len({(x["EcritureDate"], x["PieceRef"], x["PieceDate"]) for x in ecriture}) == 1, number

    def totals(lines: list[Line]) -> dict[str, int]:
        found: dict[str, int] = defaultdict(int)
        for x in lines:
            found[x["CompteNum"]] += _cents(x["Debit"]) - _cents(x["Credit"])
        return dict(found)

    assert totals(after) == totals(before) == {"467000": 324, "627800": 26, "411000": -1050, "512000": 700}
    invoiced = sum(_cents(x["Debit"]) - _cents(x["Credit"]) for x in after if x["PieceRef"] == ISSUED.number)
    assert invoiced == 0 and totals(after)["627800"] == ISSUED.commission


def test_before_the_issue_the_commission_stays_on_the_movements_ecriture() -> None:
    ecritures = _ecritures(_lines(_statement(None)))
    assert len(ecritures) == 4
    assert _shape(ecritures["202601-00001"]) == [
        ("467000", "12,06", "0,00", "pay_1", "20260115"),
        ("627800", "0,44", "0,00", "pay_1", "20260115"),
        ("411000", "0,00", "12,50", "pay_1", "20260115"),
    ]
    assert not any(x["PieceRef"].startswith("KL-") for e in ecritures.values() for x in e)
