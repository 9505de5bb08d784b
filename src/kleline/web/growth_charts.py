"""Kleline's growth as charts for its staff's console: SVG drawn on the server (``web.charting``), each with the
same figures as a table, ready for a page to show (an ``<img>`` of the SVG served with ``SVG_CSP``, the table
beside it for screen readers and for anyone who wants the numbers).

The charts of a report (``reports.growth``): active and new merchants, customers in all and new, payments, volume
and commission in each currency, and the month-on-month growth of merchants, customers, payments and each
currency's volume as lines beside the seed's 10 % a month. Amounts in the tables come from integer minor units,
rates from their exact fractions (one decimal, half away from zero); only a chart's drawing places its points
with floats. Charts are kept by the process for the same figures in the same language (drawing one takes
milliseconds); ``GrowthChart.key`` names one by its figures, for a page to use in an image's address.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Final

from babel.core import Locale
from babel.dates import format_skeleton
from babel.numbers import format_decimal, format_percent

from kleline.money import Money, currency_exponent
from kleline.reports.growth_figures import GrowthReport, percent
from kleline.reports.model import Month
from kleline.web.charting import Series, bar_chart, compact_count, compact_money, line_chart
from kleline.web.history import month_name
from kleline.web.i18n import N_, Language

__all__ = ["ChartRow", "GrowthChart", "growth_charts"]

_MERCHANTS: Final = N_("Merchants")
_ACTIVE: Final = N_("Active merchants")
_NEW_MERCHANTS: Final = N_("New merchants")
_CUSTOMERS: Final = N_("Customers")
_NEW_CUSTOMERS: Final = N_("New customers")
_PAYMENTS: Final = N_("Payments")
_REFUNDS: Final = N_("Refunds")
_VOLUME: Final = N_("Volume")
_COMMISSION: Final = N_("Commission")
_SALES_TITLE: Final = N_("Volume and commission (%(currency)s)")
_GROWTH: Final = N_("Month-on-month growth")
_VOLUME_IN: Final = N_("Volume (%(currency)s)")
_TARGET: Final = N_("Target: %(rate)s a month")
_MONTH: Final = N_("Month")
_NONE: Final = "–"  # a rate after a month with nothing to grow from


@dataclass(frozen=True, slots=True)
class ChartRow:
    """A line of a chart's table: the month's name, and its figures formatted, in the columns' order."""

    month: str
    cells: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class GrowthChart:
    """A chart (``name``: merchants, customers, payments, sales-EUR, growth) with its title, the SVG, and its
    table: the columns' headings and a row per month, newest first; ``key`` names it by its figures."""

    name: str
    title: str
    svg: bytes
    columns: tuple[str, ...]
    rows: tuple[ChartRow, ...]
    key: str


def growth_charts(report: GrowthReport, language: Language) -> tuple[GrowthChart, ...]:
    """The report's charts in ``language``."""
    months = report.months
    labels = _labels(language.locale, tuple(m.month for m in months))
    names = tuple(month_name(language, m.month.year, m.month.month) for m in months)
    charts = [
        _counts(
            "merchants",
            language,
            labels,
            names,
            _MERCHANTS,
            (
                (_ACTIVE, tuple(m.active_merchants for m in months)),
                (_NEW_MERCHANTS, tuple(m.new_merchants for m in months)),
            ),
        ),
        _counts(
            "customers",
            language,
            labels,
            names,
            _CUSTOMERS,
            (
                (_CUSTOMERS, tuple(m.customers for m in months)),
                (_NEW_CUSTOMERS, tuple(m.new_customers for m in months)),
            ),
        ),
        _counts(
            "payments",
            language,
            labels,
            names,
            _PAYMENTS,
            ((_PAYMENTS, tuple(m.payments for m in months)), (_REFUNDS, tuple(m.refunds for m in months))),
        ),
    ]
    for currency in report.currencies:
        volume = tuple(m.currency(currency).sales.gross for m in months)
        commission = tuple(m.currency(currency).sales.commission for m in months)
        money = functools.partial(_money, language.locale, currency)
        series = ((language.gettext(_VOLUME), volume), (language.gettext(_COMMISSION), commission))
        svg = _bars(series, labels, language.locale, currency)
        rows = tuple(ChartRow(n, (money(v), money(c))) for n, v, c in zip(names, volume, commission, strict=True))
        title = language.gettext(_SALES_TITLE) % {"currency": currency}
        charts.append(_chart(f"sales-{currency}", title, svg, language, series, rows))
    charts.append(_growth(report, language, labels, names))
    return tuple(charts)


def _chart(
    name: str, title: str, svg: bytes, language: Language, series: Sequence[Series], rows: Sequence[ChartRow]
) -> GrowthChart:
    columns = (language.gettext(_MONTH), *(heading for heading, _ in series))
    return GrowthChart(name, title, svg, columns, tuple(reversed(rows)), hashlib.sha256(svg).hexdigest()[:20])


def _counts(
    name: str,
    language: Language,
    labels: tuple[str, ...],
    names: tuple[str, ...],
    title: str,
    figures: tuple[tuple[str, tuple[int, ...]], ...],
) -> GrowthChart:
    series = tuple((language.gettext(heading), values) for heading, values in figures)
    svg = _bars(series, labels, language.locale, None)
    cells = zip(*(values for _, values in figures), strict=True)
    rows = tuple(
        ChartRow(n, tuple(_count(language.locale, v) for v in values)) for n, values in zip(names, cells, strict=True)
    )
    return _chart(name, language.gettext(title), svg, language, series, rows)


def _growth(report: GrowthReport, language: Language, labels: tuple[str, ...], names: tuple[str, ...]) -> GrowthChart:
    """The month-on-month growth of merchants, customers, payments and each currency's volume, with the target."""
    months = report.months
    rates: list[tuple[str, tuple[Fraction | None, ...]]] = [
        (language.gettext(_ACTIVE), tuple(m.merchants_growth for m in months)),
        (language.gettext(_CUSTOMERS), tuple(m.customers_growth for m in months)),
        (language.gettext(_PAYMENTS), tuple(m.payments_growth for m in months)),
    ]
    rates += [
        (language.gettext(_VOLUME_IN) % {"currency": c}, tuple(m.currency(c).volume_growth for m in months))
        for c in report.currencies
    ]
    target = language.gettext(_TARGET) % {"rate": _rate(language.locale, report.target)}
    # Only the drawing places points with floats; the table's rates are exact.
    series = tuple((title, tuple(None if r is None else float(r * 100) for r in values)) for title, values in rates)
    series += ((target, tuple(float(report.target * 100) for _ in months)),)
    svg = _line(series, labels, language.locale, target)
    cells = zip(*(values for _, values in rates), strict=True)
    rows = tuple(
        ChartRow(n, (*(_rate(language.locale, r) for r in values), _rate(language.locale, report.target)))
        for n, values in zip(names, cells, strict=True)
    )
    return _chart("growth", language.gettext(_GROWTH), svg, language, series, rows)


@functools.lru_cache(maxsize=256)
def _bars(series: tuple[Series, ...], labels: tuple[str, ...], locale: str, currency: str | None) -> bytes:
    """Bars of counts, or of amounts in ``currency``; an axis to 10 (in the currency) while all are zero."""
    if currency is None:
        return bar_chart(labels, series, functools.partial(compact_count, locale), empty_range=(0, 10), counts=True)
    formatter = functools.partial(compact_money, locale, currency)
    return bar_chart(labels, series, formatter, empty_range=(0, 10 * 10 ** currency_exponent(currency)))


@functools.lru_cache(maxsize=64)
def _line(series: tuple[Series, ...], labels: tuple[str, ...], locale: str, target: str) -> bytes:
    """Lines of percentages, the ``target`` series dashed."""
    return line_chart(labels, series, functools.partial(_percent_tick, locale), dashed=(target,))


def _percent_tick(locale: str, tick: float) -> str:
    return str(format_percent(Decimal(round(tick)) / 100, locale=locale))


def _labels(locale: str, months: tuple[Month, ...]) -> tuple[str, ...]:
    """Each month short: its name (``Jan``) when the chart covers a year at most, else with its year (``Jan 26``)."""
    skeleton = "MMM" if len(months) <= 12 else "MMMyy"
    return tuple(str(format_skeleton(skeleton, m.first_day, locale=locale)) for m in months)


def _count(locale: str, value: int) -> str:
    return str(format_decimal(value, locale=locale))


def _money(locale: str, currency: str, minor: int) -> str:
    return Money(minor, currency).format(locale)


def _rate(locale: str, rate: Fraction | None) -> str:
    """A rate as a percentage with one decimal (``12.5%``, ``12,5 %``); a dash when there is none."""
    if rate is None:
        return _NONE
    return str(format_percent(Decimal(percent(rate)) / 100, format=_percent_pattern(locale), locale=locale))


@functools.cache
def _percent_pattern(locale: str) -> str:
    """The language's percentage pattern with one decimal (``#,##0.0%``, ``#,##0.0 %``)."""
    pattern = str(Locale.parse(locale).percent_formats[None].pattern)
    return pattern.replace("0", "0.0", 1) if "." not in pattern else pattern
