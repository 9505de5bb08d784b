"""Kleline's growth as plain values: per month of Paris, the merchants and customers it gained and has, the payments
it booked, their volume and its commission per currency, and each figure's month-on-month growth rate beside the
seed's 10 % a month.

Months are those of Paris, where Kleline and its staff work (as the wallet's history shows a shopper's months); a
merchant's statement counts UTC months, so the entries of the hour or two either side of midnight on a month's
last day fall in different months here and there.

The sales are the statements' (``reports.model``), summed over every merchant: ``payments`` is how many captures
were booked, ``gross`` what they took, ``refunds`` what refunds gave back (``refund_count`` of them), and the
commission is what Kleline charged less what refunds returned. A capture or a refund counts in the month its entry
is dated, as on the statements, so that a closed month never changes.

**Active merchants** at a month's end are those first approved before it, less those that are suspended now and
were suspended before it: the merchants' table keeps a merchant's first approval and its last change of status, not
the whole story, so a merchant suspended and approved again since counts as active throughout.

Growth rates are exact fractions (``current / previous - 1``), never floats; there is none after a month with
nothing to grow from. They are shown as percentages with one decimal, rounded half away from zero.

Standard library only (plus ``reports.model``'s ``Month`` and ``reports.figures``' day numbers).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Final
from zoneinfo import ZoneInfo

from kleline.reports.figures import day_number, from_day_number, month_key
from kleline.reports.model import Month

__all__ = [
    "HOUR_US",
    "MAX_MONTHS",
    "PARIS",
    "TARGET",
    "CurrencyMonth",
    "GrowthMonth",
    "GrowthReport",
    "Sales",
    "day_of_hour",
    "day_start",
    "growth_rate",
    "month_bounds",
    "paris_day",
    "paris_month",
    "percent",
]

PARIS: Final = ZoneInfo("Europe/Paris")
HOUR_US: Final = 3_600_000_000
"""An hour in epoch microseconds. Paris has been a whole number of hours from UTC since 1911, so every Paris day is
made of whole UTC hours: the database sums by hour (``posted_at / HOUR_US``), Python says which day each hour is."""
TARGET: Final = Fraction(1, 10)
"""The seed's growth: 10 % a month."""
MAX_MONTHS: Final = 120
"""The longest report: ten years of months."""


def paris_day(moment: datetime) -> date:
    """The day of Paris ``moment`` falls on."""
    return moment.astimezone(PARIS).date()


def paris_month(moment: datetime) -> Month:
    """The month of Paris ``moment`` falls in."""
    local = moment.astimezone(PARIS)
    return Month(local.year, local.month)


def day_start(day: date) -> datetime:
    """The first instant of a day of Paris, in UTC (midnight is never skipped nor repeated there)."""
    return datetime(day.year, day.month, day.day, tzinfo=PARIS).astimezone(UTC)


@functools.lru_cache(maxsize=4096)
def month_bounds(month: Month) -> tuple[datetime, datetime]:
    """The first instant of a month of Paris and of the month after, in UTC."""
    return day_start(month.first_day), day_start(month.next().first_day)


@functools.lru_cache(maxsize=65_536)
def day_of_hour(hour: int) -> int:
    """The day of Paris (as a day number) of the UTC hour ``hour`` (hours since 1970-01-01T00:00Z)."""
    return day_number(paris_day(datetime(1970, 1, 1, tzinfo=UTC) + timedelta(hours=hour)))


@functools.lru_cache(maxsize=65_536)
def month_of_day(number: int) -> int:
    """The month (``YYYYMM``) of a day number."""
    return month_key(from_day_number(number))


def growth_rate(current: int, previous: int) -> Fraction | None:
    """``current / previous - 1``, exactly; None when ``previous`` is not above zero (nothing to grow from)."""
    if previous <= 0:
        return None
    return Fraction(current - previous, previous)


@functools.lru_cache(maxsize=4096)
def percent(rate: Fraction) -> str:
    """``rate`` as a percentage with one decimal (``Fraction(1, 8)`` is ``12.5``), half away from zero."""
    exact = Decimal(rate.numerator * 100) / Decimal(rate.denominator)
    return str(exact.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


@dataclass(frozen=True, slots=True)
class Sales:
    """A period's sales in one currency, in minor units (see the module's docstring)."""

    payments: int = 0
    gross: int = 0
    refund_count: int = 0
    refunds: int = 0
    commission_charged: int = 0
    commission_returned: int = 0

    @property
    def commission(self) -> int:
        """What Kleline kept: charged on captures, less what refunds returned."""
        return self.commission_charged - self.commission_returned

    @property
    def net(self) -> int:
        """What customers paid and kept paying: gross, less refunds."""
        return self.gross - self.refunds

    def __add__(self, other: Sales) -> Sales:
        return Sales(
            self.payments + other.payments,
            self.gross + other.gross,
            self.refund_count + other.refund_count,
            self.refunds + other.refunds,
            self.commission_charged + other.commission_charged,
            self.commission_returned + other.commission_returned,
        )


@dataclass(frozen=True, slots=True)
class CurrencyMonth:
    """A month's sales in one currency, with the growth of its gross volume and of its commission."""

    currency: str
    sales: Sales
    volume_growth: Fraction | None
    commission_growth: Fraction | None


@dataclass(frozen=True, slots=True)
class GrowthMonth:
    """One month of Paris: ``complete`` once over (and its last entries committed), else to date."""

    month: Month
    complete: bool
    new_merchants: int
    active_merchants: int
    merchants_growth: Fraction | None
    new_customers: int
    customers: int
    customers_growth: Fraction | None
    payments: int
    payments_growth: Fraction | None
    refunds: int
    currencies: tuple[CurrencyMonth, ...]

    def currency(self, code: str) -> CurrencyMonth:
        """The month's figures in ``code`` (every report currency has a line in every month)."""
        return next(line for line in self.currencies if line.currency == code)


@dataclass(frozen=True, slots=True)
class GrowthReport:
    """The months from ``first`` to ``last`` (oldest first), read at ``as_of``; ``currencies`` are those sold in
    (the books' own when nothing was), each with a line in every month."""

    first: Month
    last: Month
    as_of: datetime
    currencies: tuple[str, ...]
    months: tuple[GrowthMonth, ...]
    target: Fraction = TARGET
