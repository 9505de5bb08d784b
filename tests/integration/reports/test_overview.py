"""A merchant's overview read from the books, on both backends: it agrees with the statements to the cent, its
closed days are kept once and never change, its open days are read live, and one merchant never sees another's."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from kleline.bootstrap import Kleline, build, open_system_accounts
from kleline.config import load_settings
from kleline.ledger import NormalSide
from kleline.merchants.model import balance_account
from kleline.payments.model import PaymentRequest
from kleline.reports import MerchantStatement, Month, day_totals
from kleline.reports.figures import SalesOverview, Totals, day_number
from kleline.reports.overview import Overview

from ...conftest import FakeClock
from ...operator_keys import OPERATOR
from ..payments.conftest import IBAN, eur, merchant, shopper
from .conftest import pay, send_payout

START = datetime(2025, 12, 20, 10, 0, tzinfo=UTC)
# The stories pay without strong authentication: they test the figures, not the rules of a purchase.
NO_CHALLENGE = {"sca_single_limit": 10**9, "sca_cumulative_limit": 10**12, "sca_max_payments": 10**9}


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


def _kept(kleline: Kleline, shop: str) -> dict[date, tuple[int, int, int, int]]:
    """The closed days kept for ``shop``: gross, refunds, commission charged and returned."""
    with kleline.db.transaction(write=False) as tx:
        rows = tx.fetchall(
            "SELECT day, gross, refunds, commission_charged, commission_returned FROM merchant_day_totals "
            "WHERE merchant_id = :m ORDER BY day",
            {"m": shop},
        )
    return {date(1970, 1, 1) + timedelta(days=int(r[0])): (int(r[1]), int(r[2]), int(r[3]), int(r[4])) for r in rows}


def _as_statement(statement: MerchantStatement) -> Totals:
    return Totals(statement.turnover, statement.refunds, statement.commission_charged, statement.commission_returned)


def _sells(kleline: Kleline, clock: FakeClock) -> tuple[str, str]:
    """A shop at 4 % opened on 20 December 2025, selling until 15 January 2026 (payments, refunds, among them one
    paid entirely out of the commission, payments either side of midnight, a payout); the shop and a shopper."""
    clock.now = START
    shop = merchant(kleline, fee_bps=400)
    ada = shopper(kleline, purse=10_000_000).id
    first = pay(kleline, shop, ada, 1250, reference="CMD-1")
    clock.advance(hours=3)
    pay(kleline, shop, ada, 4999)
    clock.now = datetime(2025, 12, 31, 23, 59, 59, 900_000, tzinfo=UTC)
    last_of_the_year = pay(kleline, shop, ada, 2000)
    clock.now = datetime(2026, 1, 1, 0, 0, 0, 100_000, tzinfo=UTC)
    pay(kleline, shop, ada, 3000)
    kleline.refunds.refund(shop, first, eur(250))  # a December payment refunded in January
    clock.now = datetime(2026, 1, 7, 9, 0, tzinfo=UTC)
    tiny = pay(kleline, shop, ada, 13)
    assert kleline.refunds.refund(shop, tiny, eur(1)).fee_returned == 1  # zero net: the commission pays it all
    send_payout(kleline, shop, 5000, "po_jan")  # not a sale: in no figure
    clock.now = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)
    kleline.refunds.refund(shop, last_of_the_year, eur(2000))
    pay(kleline, shop, ada, 650)
    return shop, ada


def test_a_months_figures_are_its_statement_to_the_cent(kleline: Kleline, clock: FakeClock) -> None:
    shop, _ = _sells(kleline, clock)
    overview = kleline.overview.of(shop)
    january = kleline.reports.statement(shop, "2026-01")
    december = kleline.reports.statement(shop, "2025-12")

    assert overview.this_month == _as_statement(january)
    assert overview.this_month.net == january.turnover - january.refunds - january.commission
    assert overview.months[-1].month == Month(2026, 1) and overview.months[-2].month == Month(2025, 12)
    assert overview.months[-2].totals == _as_statement(december)
    assert december.turnover == 1250 + 4999 + 2000 and january.turnover == 3000 + 13 + 650
    assert overview.this_month == Totals(3663, 250 + 1 + 2000, 120 + 1 + 26, 10 + 1 + 80)
    assert overview.today == Totals(650, 2000, 26, 80)
    assert [m.totals for m in overview.months[:-2]] == [Totals()] * 10  # before the shop opened
    # Every day of the daily series is its own: the two payments either side of midnight fall apart.
    by_day = {figure.day: figure.totals for figure in overview.days}
    assert by_day[date(2025, 12, 31)] == Totals(2000, 0, 80, 0)
    assert by_day[date(2026, 1, 1)] == Totals(3000, 250, 120, 10)
    assert sum((f.totals for f in overview.days), Totals()) == overview.this_month + Totals(2000, 0, 80, 0) + Totals(
        4999 + 1250, 0, 200 + 50, 0
    )


def test_closed_days_are_kept_once_and_the_open_ones_read_live(kleline: Kleline, clock: FakeClock) -> None:
    shop, ada = _sells(kleline, clock)
    before = kleline.overview.of(shop)
    kept = _kept(kleline, shop)
    # Every closed day since the account opened, the empty ones too; today (15 January) is open.
    assert sorted(kept) == [date(2025, 12, 20) + timedelta(days=n) for n in range(26)]
    assert kept[date(2025, 12, 31)] == (2000, 0, 80, 0) and kept[date(2026, 1, 7)] == (13, 1, 1, 1)

    # Late in the evening a payment; after midnight, for the statements' grace, the day is still read live...
    clock.now = datetime(2026, 1, 15, 23, 59, 59, tzinfo=UTC)
    big = pay(kleline, shop, ada, 10_000)
    clock.now = datetime(2026, 1, 16, 0, 4, tzinfo=UTC)
    late = kleline.overview.of(shop)
    assert date(2026, 1, 15) not in _kept(kleline, shop)
    assert late.days[-2].totals == before.today + Totals(10_000, 0, 400, 0) and late.today == Totals()
    # ... then kept, with the same figures, never to change: a refund of it the next day counts on its own day.
    clock.now = datetime(2026, 1, 16, 0, 6, tzinfo=UTC)
    assert kleline.overview.of(shop) == _with_time(late, clock.now)
    assert _kept(kleline, shop)[date(2026, 1, 15)] == (10_650, 2000, 426, 80)
    clock.now = datetime(2026, 1, 16, 10, 0, tzinfo=UTC)
    kleline.refunds.refund(shop, big, eur(4000))
    after = kleline.overview.of(shop)
    assert after.days[-2].totals == late.days[-2].totals
    assert after.today == Totals(0, 4000, 0, 160)
    assert after.this_month == _as_statement(kleline.reports.statement(shop, "2026-01"))

    # The kept days are a cache of the books: forgotten, they are kept again with the same figures (by another
    # process, which has not read them yet).
    kept = _kept(kleline, shop)
    with kleline.db.transaction() as tx:
        tx.execute("DELETE FROM merchant_day_totals")
    assert kleline.overview.of(shop) == after
    other_process = Overview(kleline.db, kleline.ledger, kleline.payments, kleline.settlement, clock=clock)
    assert other_process.of(shop) == after and _kept(kleline, shop) == kept


def _with_time(overview: SalesOverview, now: datetime) -> SalesOverview:
    return replace(overview, as_of=now)


def test_a_merchant_sees_only_its_own_sales(kleline: Kleline, clock: FakeClock) -> None:
    shop, ada = _sells(kleline, clock)
    other = merchant(kleline, name="Atelier Nord", fee_bps=300)
    pay(kleline, other, ada, 10_000)
    clock.advance(days=2)
    pay(kleline, other, ada, 500)
    mine, theirs = kleline.overview.of(shop), kleline.overview.of(other)
    assert mine.this_month == _as_statement(kleline.reports.statement(shop, "2026-01"))
    assert theirs.this_month == Totals(10_500, 0, 315, 0) and theirs.today == Totals(500, 0, 15, 0)
    assert theirs.available == 10_185 and theirs.months[-2].totals == Totals()
    assert set(_kept(kleline, other)) == {date(2026, 1, 15), date(2026, 1, 16)}
    assert _kept(kleline, shop)[date(2026, 1, 15)] == (650, 2000, 26, 80)


def test_balance_pending_and_the_next_payout(kleline: Kleline, clock: FakeClock) -> None:
    shop, ada = _sells(kleline, clock)
    waiting = kleline.payments.create(shop, PaymentRequest(eur(7000), capture_method="manual"))
    assert kleline.payments.confirm(waiting.id, ada, "purse").status == "authorized"
    overview = kleline.overview.of(shop)
    posted = kleline.ledger.balance(balance_account(shop))
    assert overview.available == posted.available and overview.pending == 7000
    assert overview.payouts.next_amount == overview.available and overview.payouts.next_on == date(2026, 1, 15)
    assert overview.payouts.in_transit is None

    run = kleline.settlement.run(actor=OPERATOR)
    paid_out = kleline.overview.of(shop)
    assert paid_out.available == 0 and paid_out.payouts.next_on is None and paid_out.payouts.next_amount == 0
    assert paid_out.payouts.in_transit is not None and paid_out.payouts.in_transit.settlement_run_id == run.id
    assert paid_out.payouts.in_transit.amount.minor == overview.available
    assert paid_out.this_month == overview.this_month  # a payout is not a sale
    kleline.payments.capture(shop, waiting.id)
    captured = kleline.overview.of(shop)
    assert captured.pending == 0 and captured.available == 7000 - 280
    assert captured.payouts.next_on == date(2026, 1, 16)  # today's run is over


def test_a_merchant_awaiting_approval_has_an_empty_overview(kleline: Kleline) -> None:
    pending, _ = kleline.merchants.register(name="Atelier Nord", email="a@example.fr", iban=IBAN)
    overview = kleline.overview.of(pending.id)
    assert (overview.today, overview.this_month, overview.available, overview.pending) == (Totals(), Totals(), 0, 0)
    assert len(overview.days) == 30 and len(overview.months) == 12
    assert overview.payouts.next_on is None and overview.payouts.in_transit is None
    assert overview.days[-1].day == date(2026, 1, 15) and day_number(overview.days[0].day) == day_number(
        date(2025, 12, 17)
    )


def test_todays_sales_read_in_two_parts_add_up_to_the_statement(kleline: Kleline, clock: FakeClock) -> None:
    """Today's postings older than twice the grace are summed once and remembered; those after them are read at each
    visit: sales before, between and after the sums agree with a fresh reader and with the statement."""
    clock.now = datetime(2026, 1, 15, 8, 0, tzinfo=UTC)
    shop = merchant(kleline, fee_bps=400)
    ada = shopper(kleline, purse=1_000_000).id
    first = pay(kleline, shop, ada, 1250)
    clock.now = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)
    pay(kleline, shop, ada, 2000)
    clock.now = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)
    assert kleline.overview.of(shop).today == Totals(3250, 0, 130, 0)  # both settled, summed once
    pay(kleline, shop, ada, 999)
    clock.advance(minutes=1)
    kleline.refunds.refund(shop, first, eur(250))
    remembered = kleline.overview.of(shop)
    assert remembered.today == Totals(4249, 250, 170, 10)
    assert remembered.today == _as_statement(kleline.reports.statement(shop, "2026-01"))
    fresh = Overview(kleline.db, kleline.ledger, kleline.payments, kleline.settlement, clock=clock)
    assert fresh.of(shop) == remembered
    clock.advance(minutes=20)  # the remembered sums are summed again, further
    pay(kleline, shop, ada, 1)
    assert kleline.overview.of(shop).today == Totals(4250, 250, 170, 10) == fresh.of(shop).today


def test_a_quiet_shop_reads_no_posting_and_still_sees_a_refund_paid_by_the_commission(
    kleline: Kleline, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The open days' sales after the settled ones are read only when something moved: a posting of the balance
    account, or a refund paid entirely out of the commission (which moves none of its postings, and counts at the
    very next visit all the same)."""
    clock.now = datetime(2026, 1, 15, 8, 0, tzinfo=UTC)
    shop = merchant(kleline, fee_bps=400)
    ada = shopper(kleline, purse=1_000_000).id
    tiny = pay(kleline, shop, ada, 13)
    scans = []
    read_tail = day_totals.tail
    monkeypatch.setattr(day_totals, "tail", lambda *args, **kwargs: scans.append(1) or read_tail(*args, **kwargs))
    assert kleline.overview.of(shop).today == Totals(13, 0, 1, 0) and len(scans) == 1  # not settled yet: read
    clock.now = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)
    assert kleline.overview.of(shop).today == Totals(13, 0, 1, 0) and len(scans) == 1  # settled, summed once: kept
    assert kleline.overview.of(shop).today == Totals(13, 0, 1, 0) and len(scans) == 1  # nothing new: no scan

    assert kleline.refunds.refund(shop, tiny, eur(1)).fee_returned == 1  # zero net: no posting of the shop's
    refunded = kleline.overview.of(shop)
    assert refunded.today == Totals(13, 1, 1, 1) == _as_statement(kleline.reports.statement(shop, "2026-01"))
    assert len(scans) == 2  # one more such refund: read
    clock.advance(minutes=11)  # what the process keeps is read again, the refund with it
    assert kleline.overview.of(shop).today == Totals(13, 1, 1, 1) and len(scans) == 2
    pay(kleline, shop, ada, 2000)
    assert kleline.overview.of(shop).today == Totals(2013, 1, 81, 1) and len(scans) == 3  # a new posting: read
