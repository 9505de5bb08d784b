"""Kleline's growth for its staff (``/console/growth``), for every role that reads: merchants, customers, payments,
volume and commission by month of Paris, and their month-on-month growth beside the seed's 10 % a month, as charts
drawn on the server (SVG images, ``web.growth_charts``) each followed by its figures as a table (for screen readers and
for anyone who wants the numbers), and, for the roles that export, the report as CSV.

The figures come from ``kleline.growth.report`` (one query per kind of figure, answered from indexes, not by loading
payments); the charts are drawn once per process for the same figures and language. An image's address carries the
chart's key (a digest of its figures), so the browser may keep it; an address whose figures changed meanwhile gets
today's chart, kept by nobody.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Final

from babel.numbers import format_percent
from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from kleline.reports.errors import InvalidMonth
from kleline.reports.growth_figures import MAX_MONTHS, GrowthReport
from kleline.reports.growth_views import growth_csv
from kleline.staff.roles import Power
from kleline.web.charting import CHART_SIZE, SVG_CSP
from kleline.web.console.visits import ConsoleVisit, console_context, console_page, refused, respond
from kleline.web.growth_charts import GrowthChart, growth_charts
from kleline.web.i18n import N_, Language, language_of
from kleline.web.rendering import render
from kleline.web.visits import web_of

__all__ = ["GROWTH", "router"]

router = APIRouter(include_in_schema=False)

GROWTH: Final = "/console/growth"
_TITLE: Final = N_("Growth")

Reader = Annotated[ConsoleVisit, Depends(console_page(Power.READ))]
Exporter = Annotated[ConsoleVisit, Depends(console_page(Power.EXPORT))]


_DRAWN: dict[tuple[str, GrowthReport], tuple[GrowthChart, ...]] = {}
_KEPT: Final = 64
_SOME_TIME: Final = datetime(2000, 1, 1, tzinfo=UTC)


def _charts_of(report: GrowthReport, language: Language) -> tuple[GrowthChart, ...]:
    """The report's charts and tables, kept by the process for the same figures in the same language (formatting
    a year's tables costs milliseconds; the figures change a few times a day): the report's ``as_of``, which the
    charts do not show, is left out of the key."""
    key = (language.code, replace(report, as_of=_SOME_TIME))
    charts = _DRAWN.get(key)
    if charts is None:
        if len(_DRAWN) >= _KEPT:
            _DRAWN.clear()
        charts = _DRAWN[key] = growth_charts(report, language)
    return charts


def _charts(request: Request) -> tuple[GrowthChart, ...]:
    return _charts_of(web_of(request).kleline.growth.report(), language_of(request))


@router.get(GROWTH)
def growth_page(request: Request, visit: Reader) -> Response:
    """The twelve months to this one: each chart and its table, the seed's target, the CSV link."""
    language = language_of(request)
    report = web_of(request).kleline.growth.report()
    charts = _charts_of(report, language)
    target = format_percent(
        Decimal(report.target.numerator) / Decimal(report.target.denominator),
        locale=language.locale,
        decimal_quantization=False,
    )
    context = console_context(
        visit,
        language.gettext(_TITLE),
        section="growth",
        charts=[(chart, f"{GROWTH}/charts/{chart.name}.svg?lang={language.code}&v={chart.key}") for chart in charts],
        chart_width=CHART_SIZE[0],
        chart_height=CHART_SIZE[1],
        target=target,
        first=report.first,
        last=report.last,
        may_export=visit.may(Power.EXPORT),
    )
    return respond(request, visit, render(request, "console/growth.html", context))


@router.get(GROWTH + "/charts/{name}.svg")
def growth_chart(request: Request, visit: Reader, name: str) -> Response:
    """One of the page's charts as an SVG image."""
    chart = next((chart for chart in _charts(request) if chart.name == name), None)
    if chart is None:
        raise refused(request, visit, language_of(request).gettext(N_("No chart has this name.")), status=404)
    fresh = request.query_params.get("v") == chart.key
    return Response(
        chart.svg,
        media_type="image/svg+xml",
        headers={
            "Content-Security-Policy": SVG_CSP,
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, max-age=86400, immutable" if fresh else "no-store",
            "Vary": "Cookie",
        },
    )


@router.get(GROWTH + ".csv")
def growth_csv_file(
    request: Request,
    visit: Exporter,
    first: Annotated[str | None, Query(alias="from", max_length=7)] = None,
    last: Annotated[str | None, Query(alias="to", max_length=7)] = None,
) -> Response:
    """The report as a CSV file (the same as the API's), for the roles that export."""
    try:
        report = web_of(request).kleline.growth.report(first, last)
    except InvalidMonth:
        language = language_of(request)
        message = N_("A report runs from a month to the same or a later one, both begun, %(months)d months at most.")
        title = language.gettext(N_("The report cannot be made"))
        context = console_context(visit, title, message=language.gettext(message) % {"months": MAX_MONTHS})
        return respond(request, visit, render(request, "console/refused.html", context, status=400))
    return Response(
        growth_csv(report),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="kleline-growth-{report.first}-{report.last}.csv"',
            "Cache-Control": "no-store",
        },
    )
