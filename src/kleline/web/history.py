"""The wallet's history (``/wallet/activity``): every movement of the purse and every card payment, newest first,
paged, by month, and the same as a CSV file.

The page shows what ``Payments.activity`` composes (the service the API's purse movements come from, merged with
the card payments); it only words and formats it. Months are those of Paris, where Kleline's customers live (the
API speaks UTC; a shopper reads their own time), from the month the wallet was opened to this one.

The CSV file is for a spreadsheet or an accountant: one row per line of the history, a header, stable column names
and kinds in English, times in ISO 8601 with their offset, amounts as decimal strings from the integer minor units
(``-12.50``), never through a float.
"""

from __future__ import annotations

import csv
import functools
import io
import re
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Final
from zoneinfo import ZoneInfo

from babel.core import Locale
from babel.dates import format_skeleton, format_time
from fastapi import APIRouter, Request
from starlette.responses import Response

from kleline.money import Money
from kleline.payments.activity import Activity, ActivityCursor, ActivityPage
from kleline.wallet.model import Customer
from kleline.web.i18n import N_, Language, language_of
from kleline.web.refusals import PageError
from kleline.web.rendering import render, secure_headers
from kleline.web.visits import Visit, page_context, respond, signed_in_visit, web_of

__all__ = ["PARIS", "PER_PAGE", "Line", "amount", "calendar_day", "day", "line", "month_name", "moment", "router"]

router = APIRouter(include_in_schema=False)

PARIS: Final = ZoneInfo("Europe/Paris")
PER_PAGE: Final = 25
CSV_CHUNK: Final = 100
_MONTH: Final = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_TITLE: Final = N_("Activity")

# How each kind of line is named when it has no merchant to name.
_KIND_TITLES: Final = {
    "top_up_card": N_("Top-up by card"),
    "top_up_direct_debit": N_("Top-up by direct debit"),
    "direct_debit_returned": N_("Direct debit returned: top-up reversed"),
    "debt_repaid": N_("Debt repaid from your purse"),
    "other": N_("Purse movement"),
}
_METHODS: Final = {
    ("payment", "purse"): N_("Paid from your purse"),
    ("payment", "card"): N_("Paid by card"),
    ("refund", "purse"): N_("Refund to your purse"),
    ("refund", "card"): N_("Refund to your card"),
}


# Babel reads a locale's data and parses its patterns on every call: a page of history formats dozens of dates and
# amounts, most of them met before (the same days, the same prices), so each piece is formatted once per process.
@functools.cache
def _locale(code: str) -> Locale:
    return Locale.parse(code)


@functools.lru_cache(maxsize=4096)
def _day(code: str, on: date) -> str:
    return str(format_skeleton("yMMMd", on, locale=_locale(code)))


@functools.lru_cache(maxsize=4096)
def _clock(code: str, hour: int, minute: int) -> str:
    return str(format_time(time(hour, minute), "short", locale=_locale(code)))


@functools.cache
def _date_and_time(code: str) -> str:
    """How the locale joins a date (``{1}``) and a time (``{0}``): read from Babel once, not at every line."""
    return str(_locale(code).datetime_formats["medium"])


def moment(language: Language, at: datetime) -> str:
    """A date and time in Paris, as ``language`` writes them (``6 Dec 2026, 14:05``; ``6 déc. 2026, 14:05``)."""
    local = at.astimezone(PARIS)
    code = language.locale
    return (
        _date_and_time(code)
        .replace("{1}", _day(code, local.date()))
        .replace("{0}", _clock(code, local.hour, local.minute))
    )


def day(language: Language, at: datetime) -> str:
    """A date in Paris, as ``language`` writes it."""
    return _day(language.locale, at.astimezone(PARIS).date())


def calendar_day(language: Language, on: date) -> str:
    """A day without a time of day (a bank's booking day), as ``language`` writes it."""
    return _day(language.locale, on)


def amount(language: Language, money: Money) -> str:
    """An amount as ``language`` writes it (``language.money``, remembered)."""
    return language.money(money)


@functools.lru_cache(maxsize=1024)
def _month_name(code: str, year: int, month: int) -> str:
    return str(format_skeleton("yMMMM", date(year, month, 15), locale=_locale(code)))


def month_name(language: Language, year: int, month: int) -> str:
    """``December 2026``, ``décembre 2026``."""
    return _month_name(language.locale, year, month)


@dataclass(frozen=True, slots=True)
class Month:
    """A calendar month in Paris: its ``YYYY-MM`` key, its name, and its bounds."""

    key: str
    name: str
    since: datetime
    until: datetime


def _month(language: Language, year: int, month: int) -> Month:
    following = (year + 1, 1) if month == 12 else (year, month + 1)
    return Month(
        f"{year:04d}-{month:02d}",
        month_name(language, year, month),
        datetime(year, month, 1, tzinfo=PARIS),
        datetime(*following, 1, tzinfo=PARIS),
    )


def _months(language: Language, opened: datetime, now: datetime) -> list[Month]:
    """The months from ``now``'s back to ``opened``'s, newest first."""
    first, last = opened.astimezone(PARIS), now.astimezone(PARIS)
    months: list[Month] = []
    year, month = last.year, last.month
    while (year, month) >= (first.year, first.month) and len(months) < 600:
        months.append(_month(language, year, month))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return months


@dataclass(frozen=True, slots=True)
class Line:
    """One line of the page, worded: what it is, for what, when, how much."""

    item: Activity
    title: str
    how: str
    when: str
    iso: str
    amount: str
    credit: bool
    note: str
    balance: str  # the purse's balance after it, or ""


def line(language: Language, item: Activity) -> Line:
    """``item`` worded for a person, as the history and the wallet's overview show it."""
    text = language.gettext
    title = item.merchant_name or text(_KIND_TITLES.get(item.kind, _KIND_TITLES["other"]))
    how = text(_METHODS[(item.kind, item.method)]) if (item.kind, item.method) in _METHODS else ""
    note, balance = "", ""
    if item.balance_after is not None:
        balance = text(N_("Purse: %(amount)s")) % {"amount": amount(language, item.balance_after)}
    if item.kind == "refund" and item.paid_at is not None:
        note = text(N_("Refund of your payment of %(date)s")) % {"date": day(language, item.paid_at)}
    elif item.kind == "payment" and item.refunded is not None and item.refunded.minor > 0:
        note = text(N_("Refunded so far: %(amount)s")) % {"amount": amount(language, item.refunded)}
    return Line(
        item,
        title,
        how,
        moment(language, item.at),
        item.at.isoformat(),
        amount(language, item.amount),
        item.amount.minor > 0,
        note,
        balance,
    )


def _filter(request: Request, language: Language, months: list[Month]) -> tuple[Month | None, list[PageError]]:
    wanted = request.query_params.get("month", "")
    if not wanted:
        return None, []
    found = next((month for month in months if month.key == wanted), None)
    if found is None:
        found_format = _MONTH.match(wanted)
        if found_format is not None:  # a month before the wallet was opened, or to come: empty, but a month
            return _month(language, int(found_format.group(1)), int(found_format.group(2))), []
        message = language.gettext(N_("Choose a month from the list"))
        return None, [PageError(message, "validation_error", "month")]
    return found, []


@dataclass(frozen=True, slots=True)
class _Asked:
    """What a visit to the history asks for: whose, in which language, which month (of which ones)."""

    customer: Customer
    language: Language
    months: list[Month]
    month: Month | None

    def page(self, request: Request, limit: int, after: ActivityCursor | None) -> ActivityPage:
        """``limit`` items of the month (or of all), after ``after``."""
        return web_of(request).kleline.payments.activity(
            self.customer.id,
            limit=limit,
            after=after,
            since=None if self.month is None else self.month.since,
            until=None if self.month is None else self.month.until,
        )


def _asked(request: Request, visit: Visit) -> tuple[_Asked, list[PageError]]:
    assert visit.customer is not None
    language = language_of(request)
    months = _months(language, visit.customer.created_at, web_of(request).kleline.clock())
    month, errors = _filter(request, language, months)
    return _Asked(visit.customer, language, months, month), errors


@router.get("/wallet/activity")
def activity_page(request: Request) -> Response:
    """A page of the customer's activity, newest first, in one month or all of them."""
    visit = signed_in_visit(request, unread_offers=True)
    asked, errors = _asked(request, visit)
    language, month = asked.language, asked.month
    token = request.query_params.get("after", "")
    cursor = ActivityCursor.parse(token) if token else None
    if token and cursor is None:
        message = language.gettext(N_("This page of your activity does not exist: start again from the newest"))
        errors.append(PageError(message, "validation_error", None))
    lines: list[Line] = []
    older = ""
    if not errors:
        page = asked.page(request, PER_PAGE, cursor)
        lines = [line(language, item) for item in page.items]
        older = "" if page.next is None else page.next.encode()
    context = page_context(
        visit,
        language.gettext(_TITLE),
        section="activity",
        months=asked.months,
        month=month,
        lines=lines,
        older=older,
        paged=bool(token) and not errors,
        errors=errors,
    )
    return respond(request, visit, render(request, "activity.html", context, status=400 if errors else 200))


def _decimal(amount: Money) -> str:
    return f"{amount.to_decimal():f}"


_CSV_HEADER: Final = (
    "date",
    "kind",
    "method",
    "merchant",
    "description",
    "amount",
    "currency",
    "balance_after",
    "payment_id",
    "refund_id",
    "pending",
)


def _csv_row(item: Activity) -> list[str]:
    return [
        item.at.astimezone(PARIS).isoformat(timespec="seconds"),
        item.kind,
        item.method,
        item.merchant_name or "",
        item.description or "",
        _decimal(item.amount),
        item.amount.currency,
        "" if item.balance_after is None else _decimal(item.balance_after),
        item.payment_id or "",
        item.refund_id or "",
        "yes" if item.pending else "no",
    ]


def _spreadsheet_safe(value: str) -> str:
    # A cell starting with = + - @ is a formula to a spreadsheet: a merchant's name must stay text. Amounts are
    # written by us (digits and a sign) and stay numbers.
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


@router.get("/wallet/activity.csv")
def activity_csv(request: Request) -> Response:
    """The customer's activity (one month, or all of it) as a CSV file with a header."""
    visit = signed_in_visit(request)
    asked, errors = _asked(request, visit)
    if errors:
        return activity_page(request)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(_CSV_HEADER)
    cursor: ActivityCursor | None = None
    while True:
        page = asked.page(request, CSV_CHUNK, cursor)
        for item in page.items:
            row = _csv_row(item)
            row[3], row[4] = _spreadsheet_safe(row[3]), _spreadsheet_safe(row[4])
            writer.writerow(row)
        if page.next is None:
            break
        cursor = page.next
    name = f"kleline-activity-{asked.month.key if asked.month else 'all'}.csv"
    response = Response(out.getvalue(), media_type="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return respond(request, visit, secure_headers(response))
