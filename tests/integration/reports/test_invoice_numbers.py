"""Commission invoice numbers: one gapless, chronological sequence per year, allocated at first issue and kept."""

from __future__ import annotations

import csv
import io
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

from kleline.bootstrap import Kleline
from kleline.reports import NothingToInvoice, StatementPeriodOpen, invoice

from ...conftest import FakeClock
from ...unit.reports.pdf_text import pdf_text
from ..payments.conftest import merchant, shopper
from .conftest import pay


def _issued(kleline: Kleline) -> list[tuple[str, str, str, int, int]]:
    """Every invoice row (number, merchant, month, sequence, issue time) in the order of its number."""
    with kleline.db.transaction(write=False) as tx:
        rows = tx.fetchall("SELECT number, merchant_id, month, seq, issued_at FROM invoices ORDER BY year, seq")
    return [(r[0], r[1], r[2], int(r[3]), int(r[4])) for r in rows]


def _counters(kleline: Kleline) -> dict[int, int]:
    with kleline.db.transaction(write=False) as tx:
        return {int(r[0]): int(r[1]) for r in tx.fetchall("SELECT year, last_number FROM invoice_counters")}


def _number(pdf: bytes) -> str:
    (line,) = [line for line in pdf_text(pdf).splitlines() if line.startswith("Numéro : ")]
    return line.removeprefix("Numéro : ")


def _shops_paid_in_january(kleline: Kleline, count: int) -> list[str]:
    ada = shopper(kleline, purse=100_000)
    shops = [merchant(kleline, name=f"Boutique {n}") for n in range(count)]
    for shop in shops:
        pay(kleline, shop, ada.id, 1250)
    return shops


def test_the_first_invoice_is_000001_and_the_next_merchants_000002(kleline: Kleline, clock: FakeClock) -> None:
    first, second = _shops_paid_in_january(kleline, 2)
    clock.now = datetime(2026, 2, 3, 10, 0, tzinfo=UTC)
    assert json.loads(kleline.reports.statement_document(first, "2026-01", "json").content)["invoice_number"] is None

    assert _number(kleline.reports.statement_document(first, "2026-01", "pdf").content) == "KL-2026-000001"
    clock.advance(minutes=5)
    assert _number(kleline.reports.statement_document(second, "2026-01", "pdf").content) == "KL-2026-000002"

    assert [(n, m, month, seq) for n, m, month, seq, _ in _issued(kleline)] == [
        ("KL-2026-000001", first, "2026-01", 1),
        ("KL-2026-000002", second, "2026-01", 2),
    ]
    body = json.loads(kleline.reports.statement_document(second, "2026-01", "json").content)
    assert body["invoice_number"] == "KL-2026-000002"
    rows = list(csv.reader(io.StringIO(kleline.reports.statement_document(second, "2026-01", "csv").content.decode())))
    assert rows[-3:] == [[], ["invoice_number", "issued_at"], ["KL-2026-000002", "2026-02-03T10:05:00.000000Z"]]


def test_asking_again_returns_the_same_number_and_the_same_bytes(kleline: Kleline, clock: FakeClock) -> None:
    (shop,) = _shops_paid_in_january(kleline, 1)
    clock.now = datetime(2026, 2, 3, 10, 0, tzinfo=UTC)
    pdf = kleline.reports.statement_document(shop, "2026-01", "pdf").content
    assert "Date : 03/02/2026" in pdf_text(pdf)
    clock.advance(days=40)
    again = kleline.reports.statement_document(shop, "2026-01", "pdf").content
    assert again == pdf and _number(again) == "KL-2026-000001"
    assert len(_issued(kleline)) == 1 and _counters(kleline) == {2026: 1}


def test_concurrent_first_issues_get_distinct_consecutive_numbers(kleline: Kleline, clock: FakeClock) -> None:
    shops = _shops_paid_in_january(kleline, 6)
    clock.now = datetime(2026, 2, 3, 10, 0, tzinfo=UTC)
    requests = shops * 2  # each invoice asked for twice at once: still one number each
    start = threading.Barrier(len(requests))

    def ask(shop: str) -> str:
        start.wait()
        return _number(kleline.reports.statement_document(shop, "2026-01", "pdf").content)

    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        numbers = list(pool.map(ask, requests))
    by_shop = dict(zip(requests, numbers, strict=True))
    assert numbers == [by_shop[shop] for shop in requests]  # both requests of a shop saw the same number
    assert sorted(by_shop.values()) == [f"KL-2026-{n:06d}" for n in range(1, 7)]
    issued = _issued(kleline)
    assert [seq for *_, seq, _ in issued] == [1, 2, 3, 4, 5, 6] and _counters(kleline) == {2026: 6}
    assert [at for *_, at in issued] == sorted(at for *_, at in issued)  # numbers follow the dates of issue


def test_the_current_or_a_future_month_is_refused_and_allocates_nothing(kleline: Kleline, clock: FakeClock) -> None:
    (shop,) = _shops_paid_in_january(kleline, 1)
    for month in ("2026-01", "2026-03"):
        with pytest.raises(StatementPeriodOpen) as refused:
            kleline.reports.statement_document(shop, month, "pdf")
        assert (refused.value.status, refused.value.param) == (409, "month")
    assert _issued(kleline) == [] and _counters(kleline) == {}
    # At midnight a posting dated 23:59:59 may still be committing: the month closes a few minutes later.
    clock.now = datetime(2026, 2, 1, 0, 4, 59, tzinfo=UTC)
    with pytest.raises(StatementPeriodOpen):
        kleline.reports.statement_document(shop, "2026-01", "pdf")
    assert not kleline.reports.statement(shop, "2026-01").closed
    assert _issued(kleline) == [] and _counters(kleline) == {}
    clock.now = datetime(2026, 2, 1, 0, 5, tzinfo=UTC)
    assert kleline.reports.statement(shop, "2026-01").closed
    assert _number(kleline.reports.statement_document(shop, "2026-01", "pdf").content) == "KL-2026-000001"


def test_a_month_without_commission_gets_no_invoice_and_takes_no_number(kleline: Kleline, clock: FakeClock) -> None:
    idle, busy = merchant(kleline, name="Idle"), merchant(kleline, name="Busy")
    pay(kleline, busy, shopper(kleline, purse=5000).id, 1250)
    clock.now = datetime(2026, 2, 3, tzinfo=UTC)
    for shop, month in ((idle, "2026-01"), (busy, "2025-12"), (busy, "1999-12")):
        with pytest.raises(NothingToInvoice) as refused:
            kleline.reports.statement_document(shop, month, "pdf")
        assert (refused.value.status, refused.value.code) == (409, "nothing_to_invoice")
    assert _issued(kleline) == [] and _counters(kleline) == {}
    assert _number(kleline.reports.statement_document(busy, "2026-01", "pdf").content) == "KL-2026-000001"


def test_a_failed_issue_gives_its_number_back(
    kleline: Kleline, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = _shops_paid_in_january(kleline, 2)
    clock.now = datetime(2026, 2, 3, tzinfo=UTC)
    drawn = invoice.commission_invoice

    def broken(*args: object, **kwargs: object) -> bytes:
        raise RuntimeError("the renderer fell over after the number was taken")

    monkeypatch.setattr(invoice, "commission_invoice", broken)
    with pytest.raises(RuntimeError):
        kleline.reports.statement_document(first, "2026-01", "pdf")
    monkeypatch.setattr(invoice, "commission_invoice", drawn)
    assert _issued(kleline) == [] and _counters(kleline).get(2026, 0) == 0
    assert _number(kleline.reports.statement_document(second, "2026-01", "pdf").content) == "KL-2026-000001"
    assert _number(kleline.reports.statement_document(first, "2026-01", "pdf").content) == "KL-2026-000002"


def test_a_new_year_starts_again_at_000001(kleline: Kleline, clock: FakeClock) -> None:
    ada = shopper(kleline, purse=100_000)
    first, second = merchant(kleline, name="First"), merchant(kleline, name="Second")
    clock.now = datetime(2026, 11, 10, tzinfo=UTC)
    pay(kleline, first, ada.id, 1250)
    pay(kleline, second, ada.id, 2500)
    clock.now = datetime(2026, 12, 5, tzinfo=UTC)
    pay(kleline, first, ada.id, 1000)
    assert _number(kleline.reports.statement_document(first, "2026-11", "pdf").content) == "KL-2026-000001"
    clock.now = datetime(2027, 1, 3, tzinfo=UTC)
    december = kleline.reports.statement_document(first, "2026-12", "pdf").content
    assert _number(december) == "KL-2027-000001" and "Date : 03/01/2027" in pdf_text(december)
    # November's invoice of the other shop is issued in 2027: numbered in the year it is issued.
    assert _number(kleline.reports.statement_document(second, "2026-11", "pdf").content) == "KL-2027-000002"
    assert _counters(kleline) == {2026: 1, 2027: 2}
