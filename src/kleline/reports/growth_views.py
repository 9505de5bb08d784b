"""The growth report as JSON (amounts in minor units, rates exact) and as CSV (one line per month and currency).

A rate is given exactly (``"ratio": "1/8"``) and as the percentage it is shown as (``"percent": "12.5"``), with
whether it reaches the seed's 10 % a month; ``null`` after a month with nothing to grow from. The CSV has no text
anybody wrote: every cell is a month, a currency code, a whole number, an exact decimal amount in major units
(``1234.50``), a percentage, ``true`` or ``false``, or empty; a spreadsheet reads each as a value, none as a
formula.
"""

from __future__ import annotations

import csv
import functools
import io
import json
from fractions import Fraction
from typing import Any, Final

from kleline.clock import to_rfc3339
from kleline.reports.growth_figures import CurrencyMonth, GrowthMonth, GrowthReport, percent
from kleline.reports.tabular import decimal_text

__all__ = ["CSV_COLUMNS", "growth_csv", "growth_json", "growth_json_bytes", "rate_json"]

CSV_COLUMNS: Final = (
    "month",
    "complete",
    "currency",
    "new_merchants",
    "active_merchants",
    "active_merchants_growth_percent",
    "new_customers",
    "customers",
    "customers_growth_percent",
    "payments",
    "payments_growth_percent",
    "refunds",
    "volume",
    "refunded",
    "commission",
    "volume_growth_percent",
    "commission_growth_percent",
    "target_growth_percent",
)


def rate_json(rate: Fraction | None, target: Fraction) -> dict[str, Any] | None:
    """A growth rate: exact, as shown, and whether it reaches ``target``."""
    if rate is None:
        return None
    return {"ratio": f"{rate.numerator}/{rate.denominator}", "percent": percent(rate), "meets_target": rate >= target}


def _sales_json(line: CurrencyMonth, target: Fraction) -> dict[str, Any]:
    sales = line.sales
    return {
        "volume": sales.gross,
        "refunded": sales.refunds,
        "net_volume": sales.net,
        "commission": sales.commission,
        "commission_charged": sales.commission_charged,
        "commission_returned": sales.commission_returned,
        "volume_growth": rate_json(line.volume_growth, target),
        "commission_growth": rate_json(line.commission_growth, target),
    }


def _month_json(month: GrowthMonth, target: Fraction) -> dict[str, Any]:
    return {
        "month": str(month.month),
        "complete": month.complete,
        "merchants": {
            "new": month.new_merchants,
            "active": month.active_merchants,
            "growth": rate_json(month.merchants_growth, target),
        },
        "customers": {
            "new": month.new_customers,
            "total": month.customers,
            "growth": rate_json(month.customers_growth, target),
        },
        "payments": {
            "count": month.payments,
            "refunds": month.refunds,
            "growth": rate_json(month.payments_growth, target),
        },
        "sales": {line.currency: _sales_json(line, target) for line in month.currencies},
    }


def _head(report: GrowthReport) -> dict[str, Any]:
    return {
        "object": "growth_report",
        "from": str(report.first),
        "to": str(report.last),
        "timezone": "Europe/Paris",
        "as_of": to_rfc3339(report.as_of),
        "currencies": list(report.currencies),
        "target_growth": rate_json(report.target, report.target),
    }


def growth_json(report: GrowthReport) -> dict[str, Any]:
    """The report as JSON values, oldest month first."""
    return {**_head(report), "months": [_month_json(month, report.target) for month in report.months]}


@functools.lru_cache(maxsize=1024)
def _month_bytes(month: GrowthMonth, target: Fraction) -> bytes:
    """A month as JSON text: a closed month's never changes, so each is written once per process."""
    return json.dumps(_month_json(month, target), separators=(",", ":")).encode()


def growth_json_bytes(report: GrowthReport) -> bytes:
    """The report as UTF-8 JSON bytes (``growth_json``'s)."""
    head = json.dumps(_head(report), separators=(",", ":")).encode()
    months = b",".join(_month_bytes(month, report.target) for month in report.months)
    return head[:-1] + b',"months":[' + months + b"]}"


def _percent(rate: Fraction | None) -> str:
    return "" if rate is None else percent(rate)


def growth_csv(report: GrowthReport) -> bytes:
    """The report as CSV bytes (RFC 4180, UTF-8): a header, then a line per month and currency, oldest first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    target = percent(report.target)
    for month in report.months:
        for line in month.currencies:
            currency = line.currency
            writer.writerow(
                (
                    str(month.month),
                    "true" if month.complete else "false",
                    currency,
                    month.new_merchants,
                    month.active_merchants,
                    _percent(month.merchants_growth),
                    month.new_customers,
                    month.customers,
                    _percent(month.customers_growth),
                    month.payments,
                    _percent(month.payments_growth),
                    month.refunds,
                    decimal_text(line.sales.gross, currency),
                    decimal_text(line.sales.refunds, currency),
                    decimal_text(line.sales.commission, currency),
                    _percent(line.volume_growth),
                    _percent(line.commission_growth),
                    target,
                )
            )
    return buffer.getvalue().encode()
