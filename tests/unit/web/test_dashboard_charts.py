"""The overview's charts' axes: amounts, never a float's artefacts, and a plain axis for a shop with no sale yet."""

from __future__ import annotations

import re

from kleline.web.dashboard.charts import _drawn
from kleline.web.i18n import ENGLISH


def _axis(bars: tuple[tuple[str, int, int], ...], currency: str = "EUR") -> list[str]:
    return re.findall(r">((?:€|JP¥)[^<]*)</text>", _drawn(ENGLISH, currency, bars).decode())


def test_a_shop_without_sales_gets_an_axis_from_nothing_to_ten_euros() -> None:
    axis = _axis(tuple((f"{day} Nov", 0, 0) for day in range(1, 31)))
    assert axis == ["€0", "€2", "€4", "€6", "€8", "€10"]


def test_an_axis_follows_the_sales_in_whole_amounts() -> None:
    axis = _axis(tuple((f"{day} Nov", day * 1000, day * 900) for day in range(1, 31)))
    assert axis[0] == "€0" and "€0.01" not in axis and len(set(axis)) == len(axis)


def test_a_yen_axis_is_not_divided_by_a_hundred() -> None:
    axis = _axis((("Jan", 0, 0), ("Feb", 0, 0)), "JPY")
    assert axis == ["JP¥0", "JP¥2", "JP¥4", "JP¥6", "JP¥8", "JP¥10"]
