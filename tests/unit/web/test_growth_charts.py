"""The growth charts for the staff's console: each chart's table holds the report's own figures (amounts from minor
units, rates from their exact fractions), in English and French, and each SVG is an image without a script."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from fractions import Fraction

from kleline.reports.growth_figures import CurrencyMonth, GrowthMonth, GrowthReport, Sales
from kleline.reports.model import Month
from kleline.web.growth_charts import growth_charts
from kleline.web.i18n import ENGLISH, FRENCH


def _month(month: Month, index: int) -> GrowthMonth:
    sales = Sales(index * 50, index * 5000, index, index * 100, index * 175, index * 3)
    return GrowthMonth(
        month=month,
        complete=True,
        new_merchants=index,
        active_merchants=index * 3,
        merchants_growth=Fraction(1, 10) if index else None,
        new_customers=index * 10,
        customers=index * 1000,
        customers_growth=Fraction(1, 8) if index else None,
        payments=index * 50,
        payments_growth=Fraction(-1, 16) if index else None,
        refunds=index,
        currencies=(CurrencyMonth("EUR", sales, Fraction(3, 7) if index else None, None),),
    )


def _report(count: int = 12) -> GrowthReport:
    months, month = [], Month(2025, 2)
    for index in range(count):
        months.append(_month(month, index))
        month = month.next()
    return GrowthReport(months[0].month, months[-1].month, datetime(2026, 1, 15, tzinfo=UTC), ("EUR",), tuple(months))


def test_each_chart_tables_the_reports_figures_newest_first() -> None:
    charts = {chart.name: chart for chart in growth_charts(_report(), ENGLISH)}
    assert list(charts) == ["merchants", "customers", "payments", "sales-EUR", "growth"]
    assert charts["merchants"].columns == ("Month", "Active merchants", "New merchants")
    january, december = charts["customers"].rows[:2]
    assert (january.month, january.cells) == ("January 2026", ("11,000", "110"))
    assert december.month == "December 2025"
    assert charts["sales-EUR"].title == "Volume and commission (EUR)"
    assert charts["sales-EUR"].rows[0].cells == ("€550.00", "€18.92")  # 1925 charged, 33 returned
    growth = charts["growth"]
    assert growth.columns[-1] == "Target: 10.0% a month"
    assert growth.rows[0].cells == ("10.0%", "12.5%", "-6.3%", "42.9%", "10.0%")
    assert growth.rows[-1].month == "February 2025" and growth.rows[-1].cells[:4] == ("–",) * 4
    for chart in charts.values():
        assert chart.svg.startswith(b"<?xml") and b"<script" not in chart.svg
        assert len(chart.rows) == 12 and all(len(row.cells) == len(chart.columns) - 1 for row in chart.rows)


def test_in_french_with_its_typography() -> None:
    charts = {chart.name: chart for chart in growth_charts(_report(), FRENCH)}
    growth = charts["growth"]
    assert growth.title == "Croissance d’un mois sur l’autre"
    assert growth.columns[-1] == "Objectif\u00a0: 10,0\u00a0% par mois"
    assert growth.rows[0].cells[1] == "12,5\u00a0%" and growth.rows[0].month == "janvier 2026"
    assert charts["sales-EUR"].rows[0].cells == ("550,00\u00a0€", "18,92\u00a0€")
    assert "Objectif" in growth.svg.decode() and "Marchands actifs" in charts["merchants"].svg.decode()


def test_a_chart_is_named_by_its_figures() -> None:
    first, again = growth_charts(_report(), ENGLISH), growth_charts(_report(), ENGLISH)
    assert [c.key for c in first] == [c.key for c in again]
    other = growth_charts(_report(11), ENGLISH)
    assert all(a.key != b.key for a, b in zip(first, other, strict=True))


def test_a_long_report_names_its_months_with_their_years() -> None:
    charts = growth_charts(_report(24), ENGLISH)
    assert "Feb ’25" in charts[0].svg.decode() and b">Feb<" not in charts[0].svg and len(charts[0].rows) == 24


def _y_labels(svg: bytes) -> list[str]:
    axis = re.search(r'<g class="axis y[^"]*">(.*?)</g>\s*</g>', svg.decode(), re.S)
    assert axis is not None
    return re.findall(r"<text[^>]*>([^<]*)</text>", axis.group(1))


def test_a_small_count_is_labelled_at_each_whole_number_not_at_rounded_fractions() -> None:
    charts = {chart.name: chart for chart in growth_charts(_report(2), ENGLISH)}  # at most 3 active merchants
    assert _y_labels(charts["merchants"].svg) == ["0", "1", "2", "3"]
    many = {chart.name: chart for chart in growth_charts(_report(), ENGLISH)}  # up to 33: pygal's own guides
    labels = _y_labels(many["merchants"].svg)
    assert len(labels) == len(set(labels))
