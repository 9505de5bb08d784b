"""The overview's values without a database: a period's totals, and which days an overview covers and has closed."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from kleline.money import Money
from kleline.reports import Month
from kleline.reports.figures import (
    DayFigure,
    Frame,
    MonthFigure,
    SalesOverview,
    Totals,
    day_number,
    from_day_number,
    month_key,
)
from kleline.settlement.model import Creditor, Payout, PayoutOutlook

GRACE = timedelta(minutes=5)


def test_the_net_is_gross_less_refunds_less_the_commission_net_of_what_refunds_returned() -> None:
    day = Totals(gross=3750, refunds=500, commission_charged=132, commission_returned=18)
    assert (day.commission, day.net) == (114, 3750 - 500 - 114)
    assert day + Totals(100, 0, 4, 0) == Totals(3850, 500, 136, 18)
    assert Totals().net == 0


def test_a_day_is_numbered_from_the_epoch_and_belongs_to_its_utc_month() -> None:
    assert day_number(date(1970, 1, 1)) == 0 and from_day_number(20468) == date(2026, 1, 15)
    assert day_number(date(2026, 1, 15)) == 20468 and month_key(date(2026, 1, 15)) == 202601
    # The ledger's epoch microseconds divided by a day's give the same number: UTC has no daylight saving.
    assert int(datetime(2026, 1, 15, 23, 59, tzinfo=UTC).timestamp() * 1_000_000) // 86_400_000_000 == 20468


def test_a_frame_covers_thirty_days_and_twelve_months_and_closes_a_day_after_the_grace() -> None:
    frame = Frame.at(datetime(2026, 3, 1, 0, 3, tzinfo=UTC), GRACE)
    assert (frame.today, frame.open) == (date(2026, 3, 1), date(2026, 2, 28))  # 28 February closes at 00:05
    assert frame.days[0] == date(2026, 1, 31) and frame.days[-1] == date(2026, 3, 1) and len(frame.days) == 30
    assert frame.months[0] == Month(2025, 4) and frame.months[-1] == Month(2026, 3) and len(frame.months) == 12
    assert frame.window == date(2025, 4, 1)
    assert frame.day_keys[0] == (day_number(date(2026, 1, 31)), 202601)
    later = Frame.at(datetime(2026, 3, 1, 0, 5, tzinfo=UTC), GRACE)
    assert later.open == date(2026, 3, 1)


def test_in_early_january_the_months_reach_back_into_the_year_before() -> None:
    frame = Frame.at(datetime(2026, 1, 2, 12, 0, tzinfo=UTC), GRACE)
    assert frame.months[0] == Month(2025, 2) and frame.window == date(2025, 2, 1)
    assert frame.days[0] == date(2025, 12, 4)


def test_a_shop_has_no_sales_yet_until_anything_is_captured_pending_held_or_on_its_way() -> None:
    at = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
    frame = Frame.at(at, GRACE)
    quiet = SalesOverview(
        merchant_id="mer_1",
        currency="EUR",
        as_of=at,
        today=Totals(),
        this_month=Totals(),
        available=0,
        pending=0,
        payouts=PayoutOutlook("EUR", 1000, 0, None, None),
        days=tuple(DayFigure(day, Totals()) for day in frame.days),
        months=tuple(MonthFigure(month, Totals()) for month in frame.months),
    )
    assert quiet.no_sales_yet
    sold_in_spring = (MonthFigure(frame.months[0], Totals(gross=100)),)
    assert not replace(quiet, months=sold_in_spring + quiet.months[1:]).no_sales_yet  # eleven months ago still counts
    assert not replace(quiet, pending=7000).no_sales_yet  # an authorisation not captured yet
    assert not replace(quiet, available=1).no_sales_yet  # a balance (a sale older than the months shown)
    payout = Payout(
        "po_1", "mer_1", "run_1", Money(2500, "EUR"), "sent", Creditor("Shop", "FR1420041010050500013M02606", "X"), at
    )
    on_its_way = replace(quiet, payouts=PayoutOutlook("EUR", 1000, 0, None, payout))
    assert not on_its_way.no_sales_yet
