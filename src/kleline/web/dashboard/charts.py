"""The overview's charts: gross sales and net by day over 30 days and by month over 12, drawn on the server with
pygal and served as SVG images from the dashboard (``/dashboard/charts/daily.svg``, ``.../monthly.svg``).

Why images rather than SVG inside the page: the pages' Content-Security-Policy allows no inline style, and pygal
styles its charts with a ``<style>`` element; an SVG loaded by ``<img>`` is a document of its own, under the policy
its own response carries (inline styles, nothing else: no script runs in an image anyway, and pygal's is left out).
And drawing a chart costs a dozen milliseconds, far more than the rest of the page: the page names each chart by
a digest of its figures (``?v=``), the browser keeps what it fetched under that name, and the process keeps the
last charts it drew, so that a chart is drawn once per change of its figures, not per visit.

The figures are the overview's (``kleline.reports.overview``); the page shows the same ones as tables, for screen
readers and for anyone who wants the numbers.
"""

from __future__ import annotations

import functools
import hashlib
from datetime import date
from typing import Final, Literal

from babel.dates import format_skeleton
from fastapi import APIRouter, Request
from starlette.responses import Response

from kleline.money import currency_exponent
from kleline.reports.figures import SalesOverview
from kleline.reports.model import Month
from kleline.web.charting import CHART_SIZE, SVG_CSP, bar_chart, compact_money
from kleline.web.dashboard.visits import signed_in_merchant_user
from kleline.web.i18n import N_, Language, language_of
from kleline.web.visits import web_of

__all__ = ["CHART_SIZE", "Chart", "chart_url", "points", "router"]

router = APIRouter(include_in_schema=False)

Chart = Literal["daily", "monthly"]
_SERIES: Final = (N_("Gross sales"), N_("Net"))

Point = tuple[str, int, int]
"""A bar's label, gross and net (minor units)."""


@functools.lru_cache(maxsize=4096)
def _short_day(locale: str, day: date) -> str:
    return str(format_skeleton("MMMd", day, locale=locale))


@functools.lru_cache(maxsize=1024)
def _short_month(locale: str, month: Month) -> str:
    # Twelve months in a row name each month once: its name alone is enough, and leaves room between the bars.
    return str(format_skeleton("MMM", month.first_day, locale=locale))


def points(overview: SalesOverview, chart: Chart, language: Language) -> tuple[Point, ...]:
    """The chart's bars, oldest first: each day's (``5 Jan``) or month's (``Jan``) label, gross and net."""
    if chart == "daily":
        return tuple((_short_day(language.locale, f.day), f.totals.gross, f.totals.net) for f in overview.days)
    return tuple((_short_month(language.locale, f.month), f.totals.gross, f.totals.net) for f in overview.months)


def _digest(language: Language, currency: str, bars: tuple[Point, ...]) -> str:
    text = repr((language.code, currency, bars)).encode()
    return hashlib.sha256(text).hexdigest()[:20]


def chart_url(chart: Chart, language: Language, currency: str, bars: tuple[Point, ...]) -> str:
    """Where the page finds ``chart``: named by its figures, so that a browser keeps it until they change."""
    return f"/dashboard/charts/{chart}.svg?lang={language.code}&v={_digest(language, currency, bars)}"


@functools.lru_cache(maxsize=256)
def _drawn(language: Language, currency: str, bars: tuple[Point, ...]) -> bytes:
    """The SVG of ``bars`` in ``language`` (the last charts drawn are kept: drawing one takes milliseconds)."""
    return bar_chart(
        [label for label, _, _ in bars],
        [
            (language.gettext(_SERIES[0]), [gross for _, gross, _ in bars]),
            (language.gettext(_SERIES[1]), [net for _, _, net in bars]),
        ],
        functools.partial(compact_money, language.locale, currency),
        # Nothing sold yet: an axis from nothing to 10 in the currency.
        empty_range=(0, 10 * 10 ** currency_exponent(currency)),
    )


def _chart(request: Request, chart: Chart) -> Response:
    visit = signed_in_merchant_user(request)
    assert visit.merchant is not None
    language = language_of(request)
    overview = web_of(request).kleline.overview.of(visit.merchant.id)
    bars = points(overview, chart, language)
    fresh = request.query_params.get("v") == _digest(language, overview.currency, bars)
    return Response(
        _drawn(language, overview.currency, bars),
        media_type="image/svg+xml",
        headers={
            "Content-Security-Policy": SVG_CSP,
            "X-Content-Type-Options": "nosniff",
            # Named by its figures, the same address always shows the same chart: the browser may keep it. An
            # address whose figures changed since the page was drawn gets today's chart, kept by nobody.
            "Cache-Control": "private, max-age=86400, immutable" if fresh else "no-store",
            "Vary": "Cookie",
        },
    )


@router.get("/dashboard/charts/daily.svg")
def daily_chart(request: Request) -> Response:
    """Gross sales and net of each of the last 30 days (UTC), as an SVG image."""
    return _chart(request, "daily")


@router.get("/dashboard/charts/monthly.svg")
def monthly_chart(request: Request) -> Response:
    """Gross sales and net of each of the last 12 months (UTC), as an SVG image."""
    return _chart(request, "monthly")
