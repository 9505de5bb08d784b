"""The shop's monthly statements (``/dashboard/statements``): every month since it joined, to download as JSON,
CSV, FEC, and the month's commission invoice as PDF.

Owners and accountants only: the page and every download need ``statements`` in the permission table, and the CSV
and FEC files ``exports`` as well. A download is the document ``GET /v1/merchant-statements/{month}`` answers,
byte for byte (``Reports.statement_document``), with the same refusals worded for a person: an invoice for a month
not over yet, or for a month without commission, is a page that says so (409). Each download is written in the shop's
audit trail (``statement_downloaded``: the month, and the format in its details).
"""

from __future__ import annotations

from typing import Final

from fastapi import APIRouter, Request
from starlette.responses import Response

from kleline.merchant_users import Action
from kleline.reports import (
    FORMATS,
    InvalidMonth,
    Month,
    NothingToInvoice,
    StatementPeriodOpen,
    UnknownFormat,
)
from kleline.web import history
from kleline.web.dashboard.visits import (
    DashboardVisit,
    dashboard_context,
    refused,
    require,
    respond,
    signed_in_merchant_user,
)
from kleline.web.i18n import N_, language_of
from kleline.web.rendering import render, secure_headers
from kleline.web.visits import Answered, web_of

__all__ = ["STATEMENTS", "router"]

router = APIRouter(include_in_schema=False)

STATEMENTS: Final = "/dashboard/statements"
_TITLE: Final = N_("Statements")
_NEEDS: Final[dict[str, tuple[Action, ...]]] = {
    "json": ("statements",),
    "csv": ("statements", "exports"),
    "fec": ("statements", "exports"),
    "pdf": ("statements",),
}


@router.get(STATEMENTS)
def statements_page(request: Request, year: str | None = None) -> Response:
    """The shop's months, newest first, a year a page, each with its downloads."""
    visit = signed_in_merchant_user(request)
    require(request, visit, "statements")
    assert visit.merchant is not None
    language = language_of(request)
    months = web_of(request).kleline.reports.statement_months(visit.merchant.id)
    years = sorted({month.year for month, _ in months}, reverse=True)
    shown_year = int(year) if year and year.isdigit() and int(year) in years else years[0]
    lines = [
        {"key": str(month), "name": history.month_name(language, month.year, month.month), "closed": closed}
        for month, closed in months
        if month.year == shown_year
    ]
    context = dashboard_context(
        visit, language.gettext(_TITLE), section="statements", lines=lines, years=years, shown_year=shown_year
    )
    return respond(request, visit, render(request, "dashboard/statements.html", context))


def _refusal(request: Request, visit: DashboardVisit, title: str, message: str, status: int) -> Answered:
    context = dashboard_context(visit, title, section="statements", message=message)
    return Answered(respond(request, visit, render(request, "dashboard/refused.html", context, status=status)))


@router.get(STATEMENTS + "/{month}/{format}")
def download(request: Request, month: str, format: str) -> Response:
    """The month's statement in ``format`` (json, csv, fec) or its commission invoice (pdf), as the API gives it."""
    visit = signed_in_merchant_user(request)
    require(request, visit, "statements")
    assert visit.merchant is not None
    language = language_of(request)
    _ = language.gettext
    if format not in FORMATS:
        raise refused(request, visit, _(N_("There is no such statement.")), status=404)
    for action in _NEEDS[format]:
        require(request, visit, action)
    kleline = web_of(request).kleline
    try:
        document = kleline.reports.statement_document(visit.merchant.id, month, format)
    except (InvalidMonth, UnknownFormat):
        raise refused(request, visit, _(N_("There is no such statement.")), status=404) from None
    except StatementPeriodOpen:
        period = Month.parse(month)
        name = history.month_name(language, period.year, period.month)
        message = _(
            N_(
                "The commission invoice for %(month)s is issued once the month is over: come back on the first day"
                " of the next month. Its statement, to date, can already be downloaded."
            )
        ) % {"month": name}
        raise _refusal(request, visit, _(N_("Not available yet")), message, 409) from None
    except NothingToInvoice:
        period = Month.parse(month)
        name = history.month_name(language, period.year, period.month)
        message = _(
            N_("There is no commission invoice for %(month)s: your shop had no payment and no refund that month.")
        ) % {"month": name}
        raise _refusal(request, visit, _(N_("No invoice for this month")), message, 409) from None
    kleline.merchant_users.record(visit.actor, "statement_downloaded", month, {"format": format})
    headers = {"Content-Disposition": f'attachment; filename="{document.filename}"'}
    response = Response(document.content, media_type=document.media_type, headers=headers)
    return respond(request, visit, secure_headers(response))
