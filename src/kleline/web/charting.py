"""Charts drawn on the server with pygal, as SVG images: the pages' style, their axes' formats, and the headers an
image is served with. The merchant's dashboard (``web.dashboard.charts``) and the staff's growth charts
(``web.growth_charts``) draw with these.

Why images rather than SVG inside the page: the pages' Content-Security-Policy allows no inline style, and pygal
styles its charts with a ``<style>`` element; an SVG loaded by ``<img>`` is a document of its own, under the policy
its own response carries (``SVG_CSP``: inline styles, nothing else; no script runs in an image anyway, and pygal's
is left out).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Final

import pygal
from babel.numbers import format_compact_currency, format_compact_decimal
from pygal.style import Style

from kleline.money import currency_exponent

__all__ = [
    "CHART_SIZE",
    "LINE_HEIGHT",
    "SVG_CSP",
    "Series",
    "bar_chart",
    "compact_count",
    "compact_money",
    "line_chart",
    "style",
]

# pygal adds an import hook for its map plugins (which Kleline never uses) that lacks ``find_spec``: from then on,
# every import that fails (a library probing for an optional one) warns, which the tests turn into an error.
sys.meta_path[:] = [finder for finder in sys.meta_path if not isinstance(finder, pygal.PluginImportFixer)]

CHART_SIZE: Final = (640, 320)
"""The charts' drawing size in CSS pixels (the pages scale them to their width)."""
LINE_HEIGHT: Final = 340
"""A line chart's height with one row of legend; each further row adds 24 pixels."""
SVG_CSP: Final = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'"
"""The policy an SVG image is served with."""
# The pages' accent, their green, then a violet, an amber and a grey: each 4.5:1 or more on white.
_COLOURS: Final = ("#1d4ed8", "#1a7f37", "#7c3aed", "#b45309", "#4b5563")
_SCRIPT: Final = re.compile(rb"<script[^>]*>.*?</script>", re.S)

Series = tuple[str, Sequence[float | int | None]]
"""A series' title and its values, one per label (None: no value there)."""


def style(colours: Sequence[str] = _COLOURS[:2]) -> Style:
    """The pages' chart style, its series drawn in ``colours``."""
    return Style(
        background="#ffffff",
        plot_background="#ffffff",
        foreground="#1b1f24",
        foreground_strong="#1b1f24",
        foreground_subtle="#4b5563",
        colors=tuple(colours),
        font_family='system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
        label_font_size=13,
        major_label_font_size=13,
        legend_font_size=14,
        value_font_size=12,
        tooltip_font_size=12,
        transition="none",
    )


_WHOLE_GUIDES = 8  # below this many, a count's axis has one guide per whole number


def compact_money(locale: str, currency: str, tick: float) -> str:
    """An axis' amount, short (``€1.2K``, ``1,2 k€``): the tables give them to the cent. ``tick`` is where pygal
    labels its axis (a float of its own, in minor units): taken to the nearest minor unit, then scaled by the
    currency's exponent (not divided by 100 as a float: a yen has no cents)."""
    major = Decimal(round(tick)).scaleb(-currency_exponent(currency))
    return str(format_compact_currency(major, currency, locale=locale, fraction_digits=1))


def compact_count(locale: str, tick: float) -> str:
    """An axis' count, short (``1.2K``, ``1,2 k``), from the nearest whole number."""
    return str(format_compact_decimal(round(tick), locale=locale, fraction_digits=1))


def _options(
    labels: Sequence[str], colours: Sequence[str], legend_columns: int = 2, height: int = CHART_SIZE[1]
) -> dict[str, object]:
    width = CHART_SIZE[0]
    return {
        "js": [],  # pygal's tooltips script: the pages run none
        "width": width,
        "height": height,
        "style": style(colours),
        "disable_xml_declaration": False,
        "legend_at_bottom": True,
        "legend_at_bottom_columns": legend_columns,
        "show_minor_x_labels": len(labels) <= 12,
        "x_labels_major_every": 1 if len(labels) <= 12 else 5,
        "truncate_label": -1,
        "margin": 12,
        "max_scale": 8,  # about eight guides up the axis, not sixteen
        "spacing": 8,
        "print_values": False,
        "include_x_axis": True,
        "no_prefix": True,
    }


def _rendered(
    chart: pygal.graph.graph.Graph, labels: Sequence[str], series: Sequence[Series], dashed: Sequence[str] = ()
) -> bytes:
    chart.x_labels = list(labels)
    for title, values in series:
        if title in dashed:
            chart.add(title, list(values), show_dots=False, stroke_style={"dasharray": "8, 6", "width": 2})
        else:
            chart.add(title, list(values))
    svg: bytes = chart.render()
    # pygal writes its configuration for its script even without the script: no script runs in an image, and the
    # policy forbids any, but none is sent either. (XML text escapes "<": the element cannot end before its end.)
    return _SCRIPT.sub(b"", svg)


def bar_chart(
    labels: Sequence[str],
    series: Sequence[Series],
    formatter: Callable[[float], str],
    *,
    empty_range: tuple[int, int] | None = None,
    colours: Sequence[str] = _COLOURS[:2],
    counts: bool = False,
) -> bytes:
    """Bars of each series over ``labels``, the axis written by ``formatter``; with nothing but zeros, the axis
    spans ``empty_range`` rather than the guides pygal draws around zero (0.01, 0.01, 0, 0...). With ``counts``, a
    small axis is labelled at each whole number: pygal's guides at 0.2, 0.4... would read "0, 0, 1, 1" once rounded."""
    chart = pygal.Bar(value_formatter=formatter, **_options(labels, colours))
    top = max((value for _, values in series for value in values if value is not None), default=0)
    if empty_range is not None and not top:
        chart.range = empty_range
    elif counts and 0 < top < _WHOLE_GUIDES:
        chart.y_labels = list(range(int(top) + 1))
    return _rendered(chart, labels, series)


def line_chart(
    labels: Sequence[str],
    series: Sequence[Series],
    formatter: Callable[[float], str],
    *,
    dashed: Sequence[str] = (),
    colours: Sequence[str] = _COLOURS,
) -> bytes:
    """A line per series over ``labels`` (a None leaves a gap), those titled in ``dashed`` dashed and without dots
    (a target, say), the axis written by ``formatter``; the legend in three columns."""
    rows = -(-len(series) // 3)
    options = _options(labels, colours, legend_columns=3, height=LINE_HEIGHT + 24 * (rows - 1))
    # pygal leaves room for one row of legend under the axis: the margin below makes room for the others.
    chart = pygal.Line(
        value_formatter=formatter,
        allow_interruptions=True,
        truncate_legend=-1,
        margin_bottom=12 + 24 * (rows - 1),
        **options,
    )
    return _rendered(chart, labels, series, dashed)
