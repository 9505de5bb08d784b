"""A merchant's sales figures as plain values: a period's totals, the days and months of the dashboard's overview,
and the calendar that says which days are closed.

The figures are the statements' (``reports.model``), summed: ``gross`` is what customers paid (the statement's
turnover), ``refunds`` what they got back, ``commission`` what Kleline kept net of what refunds returned, and
``net = gross - refunds - commission``, what the sales added to the merchant's balance. Payouts are not sales and
are left out. Days and months are UTC's, as the statements' months are, so that a month's figures here are its
statement's to the cent.

A day is **closed** once it ended more than the grace the statements give their last postings
(``reports.service.CLOSING_GRACE``): nothing dated in it can still commit, so its totals are final and kept; the
days after it are **open**, read live.

Standard library only (plus ``reports.model``'s ``Month`` and ``settlement``'s ``PayoutOutlook``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Final

from kleline.reports.model import Month
from kleline.settlement.model import PayoutOutlook

__all__ = [
    "DAILY_DAYS",
    "MONTHS",
    "DayFigure",
    "Frame",
    "MonthFigure",
    "SalesOverview",
    "Totals",
    "day_number",
    "from_day_number",
    "month_key",
]

DAILY_DAYS: Final = 30
"""The daily series: today and the 29 days before it."""
MONTHS: Final = 12
"""The monthly series: this month and the 11 before it."""
DAY_US: Final = 86_400_000_000
"""A day in the ledger's epoch microseconds (UTC has no daylight saving: every day is this long)."""
_EPOCH: Final = date(1970, 1, 1)


def day_number(day: date) -> int:
    """Days since 1970-01-01: how the rollups and the queries name a UTC day (``posted_at // DAY_US``)."""
    return (day - _EPOCH).days


def from_day_number(number: int) -> date:
    """The inverse of ``day_number``."""
    return _EPOCH + timedelta(days=number)


def month_key(day: date) -> int:
    """The month ``day`` falls in, as ``YYYYMM``."""
    return day.year * 100 + day.month


@dataclass(frozen=True, slots=True)
class Totals:
    """A period's sales, in minor units: captured, refunded, the commission charged on captures and returned by
    refunds."""

    gross: int = 0
    refunds: int = 0
    commission_charged: int = 0
    commission_returned: int = 0

    @property
    def commission(self) -> int:
        """The commission the period cost, net of what refunds returned (the statement's ``commission``)."""
        return self.commission_charged - self.commission_returned

    @property
    def net(self) -> int:
        """What the period's sales added to the balance: gross, less refunds, less commission."""
        return self.gross - self.refunds - self.commission

    def __add__(self, other: Totals) -> Totals:
        return Totals(
            self.gross + other.gross,
            self.refunds + other.refunds,
            self.commission_charged + other.commission_charged,
            self.commission_returned + other.commission_returned,
        )


@dataclass(frozen=True, slots=True)
class DayFigure:
    """One UTC day's totals."""

    day: date
    totals: Totals


@dataclass(frozen=True, slots=True)
class MonthFigure:
    """One UTC month's totals."""

    month: Month
    totals: Totals


@dataclass(frozen=True, slots=True)
class Frame:
    """The days an overview at ``now`` covers: the daily series' first day (``recent``), the monthly series' first
    day (``window``), the first open day (``open``: days before it are closed), and today."""

    now: datetime
    today: date
    open: date
    recent: date
    window: date

    @classmethod
    def at(cls, now: datetime, grace: timedelta) -> Frame:
        """The frame of an overview read at ``now``, days closing ``grace`` after they end."""
        utc = now.astimezone(UTC)
        today = utc.date()
        first_month = Month.of(utc)
        for _ in range(MONTHS - 1):
            first_month = first_month.previous()
        recent = today - timedelta(days=DAILY_DAYS - 1)
        return cls(utc, today, (utc - grace).date(), recent, min(first_month.first_day, recent))

    @property
    def months(self) -> tuple[Month, ...]:
        """The monthly series' months, oldest first."""
        return _calendar(self.today)[2]

    @property
    def days(self) -> tuple[date, ...]:
        """The daily series' days, oldest first."""
        return _calendar(self.today)[0]

    @property
    def day_keys(self) -> tuple[tuple[int, int], ...]:
        """Each day of the daily series' number and month (``YYYYMM``), oldest first."""
        return _calendar(self.today)[1]


_Calendar = tuple[tuple[date, ...], tuple[tuple[int, int], ...], tuple[Month, ...]]


@functools.lru_cache(maxsize=64)
def _calendar(today: date) -> _Calendar:
    """The series of the overviews of ``today`` (days, their numbers and months, months): worked out once a day,
    not at every visit."""
    days = tuple(today - timedelta(days=DAILY_DAYS - 1 - n) for n in range(DAILY_DAYS))
    months = [Month(today.year, today.month)]
    for _ in range(MONTHS - 1):
        months.append(months[-1].previous())
    return days, tuple((day_number(day), month_key(day)) for day in days), tuple(reversed(months))


@dataclass(frozen=True, slots=True)
class SalesOverview:
    """What the dashboard's overview shows of a merchant: today's and this month's sales, the balance available
    and pending, what settlement will pay next, and the daily and monthly series (oldest first).

    ``available`` is the merchant's balance at Kleline that the next settlement run may pay out; ``pending`` what
    its authorised, not yet captured, payments add up to; ``payouts`` the next payout and the one in transit."""

    merchant_id: str
    currency: str
    as_of: datetime
    today: Totals
    this_month: Totals
    available: int
    pending: int
    payouts: PayoutOutlook
    days: tuple[DayFigure, ...]
    months: tuple[MonthFigure, ...]

    @property
    def no_sales_yet(self) -> bool:
        """Nothing captured in any month shown, nothing authorised and pending, no balance, no payout on its way:
        how a shop looks before its first payment (or after a year without one), when the page's figures are all
        zero and the useful thing to show is how to start taking payments."""
        return (
            not any(month.totals.gross for month in self.months)
            and not self.pending
            and not self.available
            and self.payouts.in_transit is None
        )
