"""The overview on the dashboard's home page, worded: today's and this month's sales, the balance, the payouts,
and the charts of 30 days and 12 months with their figures as tables.

Every figure is the overview service's (``kleline.reports.overview``); this module only formats it in the page's
language (amounts with Babel from integer minor units, days and months in UTC as on the statements).

The overview is the page's larger part (two tables of 42 lines, some sixty amounts): drawn, it is kept by the
process for the same figures in the same language (``overview_html``), so that a merchant who comes back to an
overview nothing changed since reads it without its being drawn again. The figures are the cache's key, all of them
(their time to the minute, as the page shows it): an overview whose figures changed is always drawn anew.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from babel.dates import format_skeleton
from markupsafe import Markup

from kleline.money import Money
from kleline.reports.figures import SalesOverview, Totals
from kleline.settlement.model import PayoutOutlook
from kleline.web.dashboard.charts import CHART_SIZE, chart_url, points
from kleline.web.history import month_name
from kleline.web.i18n import Language
from kleline.web.rendering import environment_for

__all__ = ["Figures", "Line", "next_payout_context", "overview_context", "overview_html"]


@dataclass(frozen=True, slots=True)
class Figures:
    """A period's sales, formatted."""

    gross: str
    refunds: str
    commission: str
    net: str


@dataclass(frozen=True, slots=True)
class Line:
    """A line of a chart's table: the day or month, its gross and its net, formatted."""

    when: str
    gross: str
    net: str


@functools.lru_cache(maxsize=4096)
def _day(locale: str, day: date) -> str:
    return str(format_skeleton("yMMMEd", day, locale=locale))


@functools.lru_cache(maxsize=4096)
def _recent_day(locale: str, day: date) -> str:
    """A day of the last 30, without its year (``Thu 15 Jan``): no two of them share a day and a month."""
    return str(format_skeleton("MMMEd", day, locale=locale))


@functools.lru_cache(maxsize=16384)
def _money(locale: str, minor: int, currency: str) -> str:
    """An amount as ``locale`` writes it: a page shows some fifty, most of them met on the visit before."""
    return Money(minor, currency).format(locale)


def _figures(language: Language, currency: str, totals: Totals) -> Figures:
    def money(minor: int) -> str:
        return _money(language.locale, minor, currency)

    return Figures(money(totals.gross), money(totals.refunds), money(totals.commission), money(totals.net))


def next_payout_context(language: Language, payouts: PayoutOutlook, today: date) -> dict[str, Any]:
    """What ``dashboard/_next_payout.html`` reads: the next run's payout, or the minimum it waits for."""
    return {
        "next_payout": _money(language.locale, payouts.next_amount, payouts.currency) if payouts.next_on else None,
        "next_payout_on": _day(language.locale, payouts.next_on) if payouts.next_on else None,
        "next_payout_today": payouts.next_on == today,
        "payout_minimum": _money(language.locale, payouts.minimum, payouts.currency),
    }


def overview_context(language: Language, overview: SalesOverview) -> dict[str, Any]:
    """What ``dashboard/_overview.html`` reads."""
    currency = overview.currency

    def money(minor: int) -> str:
        return _money(language.locale, minor, currency)

    payouts = overview.payouts
    this_month = overview.months[-1].month
    daily, monthly = points(overview, "daily", language), points(overview, "monthly", language)
    return {
        "today": _figures(language, currency, overview.today),
        "this_month": _figures(language, currency, overview.this_month),
        "month_name": month_name(language, this_month.year, this_month.month),
        "as_of": language.time(overview.as_of),
        "available": money(overview.available),
        "pending": money(overview.pending),
        **next_payout_context(language, payouts, overview.as_of.date()),
        "in_transit": money(payouts.in_transit.amount.minor) if payouts.in_transit else None,
        "in_transit_on": _day(language.locale, payouts.in_transit.created_at.date()) if payouts.in_transit else None,
        "daily_chart": chart_url("daily", language, currency, daily),
        "monthly_chart": chart_url("monthly", language, currency, monthly),
        "chart_width": CHART_SIZE[0],
        "chart_height": CHART_SIZE[1],
        # The tables read newest first: the line a merchant looks for is usually today's, or this month's.
        "daily_lines": [
            Line(_recent_day(language.locale, f.day), money(f.totals.gross), money(f.totals.net))
            for f in reversed(overview.days)
        ],
        "monthly_lines": [
            Line(month_name(language, f.month.year, f.month.month), money(f.totals.gross), money(f.totals.net))
            for f in reversed(overview.months)
        ],
    }


def overview_html(language: Language, overview: SalesOverview) -> Markup:
    """``dashboard/_overview.html`` drawn for ``overview`` in ``language`` (kept for the same figures)."""
    return _drawn(language, replace(overview, as_of=overview.as_of.replace(second=0, microsecond=0)))


@functools.lru_cache(maxsize=512)
def _drawn(language: Language, overview: SalesOverview) -> Markup:
    template = environment_for(language).get_template("dashboard/_overview.html")
    return Markup(template.render(overview_context(language, overview)))  # escaped by the template
