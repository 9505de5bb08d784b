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
import re
import sys
from datetime import date
from decimal import Decimal
from typing import Final, Literal

import pygal
from babel.dates import format_skeleton
from babel.numbers import format_compact_currency
from fastapi import APIRouter, Request
from pygal.style import Style
from starlette.responses import Response

from kleline.money import currency_exponent
from kleline.reports.figures import SalesOverview
from kleline.reports.model import Month
from kleline.web.dashboard.visits import signed_in_merchant_user
from kleline.web.i18n import N_, Language, language_of
from kleline.web.visits import web_of

__all__ = ["CHART_SIZE", "Chart", "chart_url", "points", "router"]

# pygal adds an import hook for its map plugins (which Kleline never uses) that lacks ``find_spec``: from then on,
# every import that fails (a library probing for an optional one) warns, which the tests turn into an error.
sys.meta_path[:] = [finder for finder in sys.meta_path if not isinstance(finder, pygal.PluginImportFixer)]

router = APIRouter(include_in_schema=False)

Chart = Literal["daily", "monthly"]
CHART_SIZE: Final = (640, 320)
"""The charts' drawing size in CSS pixels (the page scales them to its width)."""
_CSP: Final = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'"
_STYLE: Final = Style(
    background="#ffffff",
    plot_background="#ffffff",
    foreground="#1b1f24",
    foreground_strong="#1b1f24",
    foreground_subtle="#4b5563",
    colors=("#1d4ed8", "#1a7f37"),  # the pages' accent and their green: both 4.5:1 or more on white
    font_family='system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
    label_font_size=13,
    major_label_font_size=13,
    legend_font_size=14,
    value_font_size=12,
    tooltip_font_size=12,
    transition="none",
)
_SERIES: Final = (N_("Gross sales"), N_("Net"))
_SCRIPT: Final = re.compile(rb"<script[^>]*>.*?</script>", re.S)

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
    width, height = CHART_SIZE
    chart = pygal.Bar(
        js=[],  # pygal's tooltips script: the pages run none
        width=width,
        height=height,
        style=_STYLE,
        disable_xml_declaration=False,
        legend_at_bottom=True,
        legend_at_bottom_columns=2,
        show_minor_x_labels=len(bars) <= 12,
        x_labels_major_every=1 if len(bars) <= 12 else 5,
        truncate_label=-1,
        margin=12,
        max_scale=8,  # about eight guides up the axis, not sixteen
        spacing=8,
        value_formatter=functools.partial(_compact, language.locale, currency),
        print_values=False,
        include_x_axis=True,
        no_prefix=True,
    )
    if not any(gross or net for _, gross, net in bars):
        # Nothing sold yet: an axis from nothing to 10 in the currency, rather than the guides pygal draws around
        # zero (0.01, 0.01, 0, 0...).
        chart.range = (0, 10 * 10 ** currency_exponent(currency))
    chart.x_labels = [label for label, _, _ in bars]
    chart.add(language.gettext(_SERIES[0]), [gross for _, gross, _ in bars])
    chart.add(language.gettext(_SERIES[1]), [net for _, _, net in bars])
    svg: bytes = chart.render()
    # pygal writes its configuration for its script even without the script: no script runs in an image, and the
    # policy forbids any, but none is sent either. (XML text escapes "<": the element cannot end before its end.)
    return _SCRIPT.sub(b"", svg)


def _compact(locale: str, currency: str, tick: float) -> str:
    """An axis' amount, short (``€1.2K``, ``1,2 k€``): the tables give them to the cent. ``tick`` is where pygal
    labels its axis (a float of its own, in minor units): taken to the nearest minor unit, then scaled by the
    currency's exponent (not divided by 100 as a float: a yen has no cents)."""
    major = Decimal(round(tick)).scaleb(-currency_exponent(currency))
    return str(format_compact_currency(major, currency, locale=locale, fraction_digits=1))


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
            "Content-Security-Policy": _CSP,
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
