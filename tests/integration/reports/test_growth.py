"""Kleline's growth month by month, on both backends: a worked example with exact counts, volumes, commission net of
refunds and growth rates (an empty month among them), months of Paris, closed days kept once and never read again,
open days read live."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from fractions import Fraction

import pytest

from kleline.bootstrap import Kleline, build, open_system_accounts
from kleline.config import load_settings
from kleline.ledger import NormalSide
from kleline.reports import InvalidMonth, Month
from kleline.reports.growth import Growth
from kleline.reports.growth_figures import GrowthReport, percent

from ...conftest import FakeClock
from ...operator_keys import OPERATOR
from ..payments.conftest import IBAN, eur, shopper
from .conftest import pay, send_payout
from .test_overview import NO_CHALLENGE


@pytest.fixture
def kleline(database_url: str, clock: FakeClock) -> Iterator[Kleline]:
    """Kleline with its own accounts open, where no payment asks for strong authentication."""
    system = build(load_settings(database_url=database_url, **NO_CHALLENGE), clock=clock)
    open_system_accounts(system)
    system.ledger.open_account("card:visa:receivable", "EUR", NormalSide.DEBIT)
    try:
        yield system
    finally:
        system.close()


def _approved(kleline: Kleline, name: str, fee_bps: int) -> str:
    registered, _ = kleline.merchants.register(
        name=name, email=f"{name.lower()}@example.fr", iban=IBAN, fee_bps=fee_bps
    )
    return kleline.merchants.approve(registered.id, actor=OPERATOR).id


def _story(kleline: Kleline, clock: FakeClock) -> dict[str, str]:
    """From September 2025 to 15 January 2026: two shops, three customers, payments, a refund, a payout, a
    suspension, a payment at 00:30 in Paris on New Year's Day (still 2025 in UTC) and an October without anything."""
    clock.now = datetime(2025, 9, 20, 10, 0, tzinfo=UTC)
    atelier = _approved(kleline, "Atelier", 400)
    ada = shopper(kleline, purse=1_000_000).id  # the top-up is no sale
    pay(kleline, atelier, ada, 1000)  # fee 40
    clock.now = datetime(2025, 11, 3, 15, 0, tzinfo=UTC)
    pay(kleline, atelier, ada, 1000)  # fee 40
    clock.now = datetime(2025, 11, 28, 9, 0, tzinfo=UTC)
    late_november = pay(kleline, atelier, ada, 2500)  # fee 100
    clock.now = datetime(2025, 12, 2, 9, 0, tzinfo=UTC)
    bob = shopper(kleline, purse=1_000_000, email="bob@example.org").id
    boutique = _approved(kleline, "Boutique", 350)
    clock.now = datetime(2025, 12, 5, 11, 0, tzinfo=UTC)
    pay(kleline, atelier, bob, 5000)  # fee 200
    assert kleline.refunds.refund(atelier, late_november, eur(500)).fee_returned == 20
    send_payout(kleline, atelier, 3000, "po_dec")  # not a sale
    clock.now = datetime(2025, 12, 31, 23, 30, tzinfo=UTC)  # 00:30 on 1 January in Paris
    pay(kleline, atelier, ada, 2000)  # fee 80
    clock.now = datetime(2026, 1, 8, 10, 0, tzinfo=UTC)
    shopper(kleline, email="carol@example.org")
    clock.now = datetime(2026, 1, 10, 10, 0, tzinfo=UTC)
    kleline.merchants.suspend(atelier, "Unusual refunds", actor=OPERATOR)
    clock.now = datetime(2026, 1, 12, 10, 0, tzinfo=UTC)
    pay(kleline, boutique, bob, 3000)  # fee 105
    clock.now = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)
    return {"atelier": atelier, "boutique": boutique, "ada": ada, "bob": bob}


def _rows(report: GrowthReport) -> list[tuple[object, ...]]:
    return [
        (
            str(m.month),
            m.new_merchants,
            m.active_merchants,
            m.new_customers,
            m.customers,
            m.payments,
            m.refunds,
            m.currency("EUR").sales.gross,
            m.currency("EUR").sales.refunds,
            m.currency("EUR").sales.commission,
        )
        for m in report.months
    ]


EXPECTED = [
    # month, merchants new/active, customers new/total, payments, refunds, gross, refunded, commission
    ("2025-09", 1, 1, 1, 1, 1, 0, 1000, 0, 40),
    ("2025-10", 0, 1, 0, 1, 0, 0, 0, 0, 0),
    ("2025-11", 0, 1, 0, 1, 2, 0, 3500, 0, 140),
    ("2025-12", 1, 2, 1, 2, 1, 1, 5000, 500, 200 - 20),
    ("2026-01", 0, 1, 1, 3, 2, 0, 5000, 0, 80 + 105),
]


def test_a_worked_example_month_by_month(kleline: Kleline, clock: FakeClock) -> None:
    _story(kleline, clock)
    report = kleline.growth.report("2025-09", "2026-01")

    assert (report.first, report.last, report.currencies) == (Month(2025, 9), Month(2026, 1), ("EUR",))
    assert _rows(report) == EXPECTED
    assert [m.complete for m in report.months] == [True, True, True, True, False]
    september, october, november, december, january = report.months
    # Nothing before September: no rate to give; after the empty October, none either.
    assert september.payments_growth is None and september.merchants_growth is None
    assert october.merchants_growth == 0 and october.customers_growth == 0
    assert october.payments_growth == -1 and october.currency("EUR").volume_growth == -1
    assert november.payments_growth is None and november.currency("EUR").commission_growth is None
    assert december.merchants_growth == 1 and december.customers_growth == 1
    assert december.payments_growth == Fraction(-1, 2)
    assert december.currency("EUR").volume_growth == Fraction(3, 7)
    assert december.currency("EUR").commission_growth == Fraction(2, 7)
    assert january.merchants_growth == Fraction(-1, 2)  # the suspension
    assert january.customers_growth == Fraction(1, 2)
    assert january.currency("EUR").volume_growth == 0
    assert january.currency("EUR").commission_growth == Fraction(1, 36)
    assert [percent(r) for r in (Fraction(3, 7), Fraction(2, 7), Fraction(1, 36), Fraction(-1, 2))] == [
        "42.9",
        "28.6",
        "2.8",
        "-50.0",
    ]
    assert percent(Fraction(1, 16)) == "6.3" and percent(Fraction(-1, 16)) == "-6.3"  # half away from zero


def test_the_first_month_gets_its_rate_from_the_month_before_it(kleline: Kleline, clock: FakeClock) -> None:
    _story(kleline, clock)
    december = kleline.growth.report("2025-12", "2025-12").months[0]
    assert _rows(kleline.growth.report("2025-12", "2025-12"))[0] == EXPECTED[3]
    assert december.currency("EUR").volume_growth == Fraction(3, 7)
    assert december.customers == 2 and december.active_merchants == 2


def test_closed_days_are_kept_once_and_read_from_the_rollup(kleline: Kleline, clock: FakeClock) -> None:
    _story(kleline, clock)
    first = kleline.growth.report("2025-09", "2026-01")
    with kleline.db.transaction(write=False) as tx:
        days = tx.fetchall("SELECT MIN(day), MAX(day), COUNT(*), SUM(customers), SUM(merchants) FROM growth_days")[0]
        sales = tx.fetchall("SELECT SUM(payments), SUM(gross), SUM(refunds) FROM growth_day_sales")[0]
    # Every day of Paris from 20 September to 14 January is closed and kept; today (15 January) is open.
    assert tuple(int(v) for v in days) == (20351, 20467, 117, 3, 2)
    assert tuple(int(v) for v in sales) == (6, 14_500, 500)
    # Another process reads the kept days, and the journal only from today's: the same figures.
    again = Growth(kleline.db, clock=clock).report("2025-09", "2026-01")
    assert _rows(again) == _rows(first) == EXPECTED
    # Once kept, a day is read from the rollup only: change a kept row and the report shows it (a cache never
    # read would not), then empty the rollup and the books give the same figures back.
    with kleline.db.transaction() as tx:
        tx.execute("UPDATE growth_day_sales SET gross = gross + 1 WHERE day = 20351")
    assert Growth(kleline.db, clock=clock).report("2025-09", "2025-09").months[0].currency("EUR").sales.gross == 1001
    with kleline.db.transaction() as tx:
        tx.execute("DELETE FROM growth_day_sales")
        tx.execute("DELETE FROM growth_days")
    assert _rows(Growth(kleline.db, clock=clock).report("2025-09", "2026-01")) == EXPECTED


def test_open_days_are_read_live_and_close_after_the_grace(kleline: Kleline, clock: FakeClock) -> None:
    shops = _story(kleline, clock)
    growth = kleline.growth
    assert growth.report().months[-1].payments == 2
    pay(kleline, shops["boutique"], shops["bob"], 10_000)  # today: read live, at once
    shopper(kleline, email="dan@example.org")
    january = growth.report().months[-1]
    assert (january.payments, january.new_customers, january.currency("EUR").sales.gross) == (3, 2, 15_000)
    # Late on 15 January in Paris, then after midnight: the day closes once the grace has passed.
    clock.now = datetime(2026, 1, 15, 22, 59, 59, tzinfo=UTC)
    pay(kleline, shops["boutique"], shops["bob"], 100)
    clock.now = datetime(2026, 1, 15, 23, 3, tzinfo=UTC)
    assert growth.report().months[-1].payments == 4
    clock.now = datetime(2026, 1, 15, 23, 6, tzinfo=UTC)
    closed = growth.report()
    assert closed.months[-1].payments == 4 and closed.months[-1].currency("EUR").sales.gross == 15_100
    with kleline.db.transaction(write=False) as tx:
        kept = tx.fetchone("SELECT payments, gross FROM growth_day_sales WHERE day = 20468")
    assert tuple(int(v) for v in kept) == (2, 10_100)


def test_a_report_without_anything_has_zeros_in_the_books_currency(kleline: Kleline) -> None:
    report = kleline.growth.report()
    assert len(report.months) == 12 and report.currencies == ("EUR",)
    assert report.last == Month(2026, 1) and report.first == Month(2025, 2)
    assert all(m.payments == m.customers == m.active_merchants == 0 for m in report.months)
    assert all(m.payments_growth is None for m in report.months)


@pytest.mark.parametrize(
    ("first", "last", "param"),
    [
        ("2025-13", "2026-01", "from"),
        ("2025-01", "2026-02", "to"),
        ("2026-01", "2025-12", "from"),
        ("2015-01", None, "from"),
    ],
)
def test_a_range_that_cannot_be_reported_is_refused(kleline: Kleline, first: str, last: str | None, param: str) -> None:
    with pytest.raises(InvalidMonth) as refused:
        kleline.growth.report(first, last)
    assert refused.value.param == param
