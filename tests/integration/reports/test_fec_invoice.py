"""The FEC of a month cites its commission invoice once it is issued, and only then."""

from __future__ import annotations

from datetime import UTC, datetime

from kleline.bootstrap import Kleline
from kleline.reports.fec import COLUMNS

from ...conftest import FakeClock
from ..payments.conftest import eur, merchant, shopper
from .conftest import pay


def _lines(kleline: Kleline, shop: str) -> list[dict[str, str]]:
    content = kleline.reports.statement_document(shop, "2026-01", "fec").content
    records = content.decode("iso-8859-15").split("\r\n")[1:-1]
    return [dict(zip(COLUMNS, record.split("\t"), strict=True)) for record in records]


def _by_account(lines: list[dict[str, str]]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for line in lines:
        move = int(line["Debit"].replace(",", "")) - int(line["Credit"].replace(",", ""))
        totals[line["CompteNum"]] = totals.get(line["CompteNum"], 0) + move
    return totals


def test_the_issued_invoice_is_the_piece_of_the_commission_ecritures(kleline: Kleline, clock: FakeClock) -> None:
    shop = merchant(kleline, fee_bps=350)
    ada = shopper(kleline, purse=50_000)
    first = pay(kleline, shop, ada.id, 1250)
    clock.advance(hours=1)
    kleline.refunds.refund(shop, first, eur(500))
    clock.now = datetime(2026, 2, 3, 10, 0, tzinfo=UTC)

    before = _lines(kleline, shop)
    assert {line["PieceRef"] for line in before} == {first, before[-1]["PieceRef"]}  # the payment, the refund
    assert len({line["EcritureNum"] for line in before}) == 2

    kleline.reports.statement_document(shop, "2026-01", "pdf")  # issues KL-2026-000001 today
    after = _lines(kleline, shop)
    cited = [line for line in after if line["PieceRef"] == "KL-2026-000001"]
    assert {(line["CompteNum"], line["PieceDate"], line["EcritureDate"]) for line in cited} == {
        ("467000", "20260203", "20260115"),
        ("627800", "20260203", "20260115"),
    }
    assert [line["EcritureNum"] for line in cited] == ["202601-00002"] * 2 + ["202601-00004"] * 2
    assert _by_account(cited) == {"467000": -44 + 18, "627800": 44 - 18}
    assert _by_account(after) == _by_account(before)
    assert not any(line["CompteNum"] == "627800" and line["PieceRef"] != "KL-2026-000001" for line in after)
