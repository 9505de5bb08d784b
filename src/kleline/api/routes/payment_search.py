"""A merchant's search of its payments over HTTP: the filters ``GET /v1/payments`` takes, and the export of the
filtered list as CSV (``GET /v1/payments/export.csv``, merchant keys only).

The filters are read here as text and checked by ``kleline.payments.search`` (the dashboard's pages use the same),
each broken rule a ``400 validation_error`` naming its parameter. This router is included before the payments
router, so that ``export.csv`` is never read as a payment id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse

from kleline.api.auth import MerchantId, kleline_of
from kleline.payments.model import METHODS, STATUSES
from kleline.payments.search import TEXT_LIMIT, PaymentSearch, parse_search
from kleline.reports.payments_csv import PAYMENT_COLUMNS, payments_csv

__all__ = ["SEARCH_ERRORS", "SearchAsked", "SearchQuery", "router"]

router = APIRouter(tags=["payments"])

SEARCH_ERRORS: Final = (
    "`validation_error`, `param` naming the parameter: an unknown `status` or `method`; a `created_from` or "
    "`created_to` that is neither a day nor an instant with its offset, or a range that ends before it begins "
    "(`created_to`); an `amount` that is not one; a `q` over 200 characters"
)


@dataclass(frozen=True, slots=True)
class SearchAsked:
    """The search a request asked for, and the first filter parameter it named (None: no filter)."""

    search: PaymentSearch
    named: str | None


def search_asked(
    status: Annotated[
        list[str] | None,
        Query(
            description="only payments in these states; repeat the parameter or separate them with commas: "
            + ", ".join(STATUSES)
        ),
    ] = None,
    method: Annotated[list[str] | None, Query(description=f"only payments paid by: {', '.join(METHODS)}")] = None,
    created_from: Annotated[
        str | None,
        Query(
            max_length=40,
            description="created on or after this day (`2026-01-15`: from its start, UTC) or instant (RFC 3339 "
            "with its offset, `2026-01-15T09:30:00Z`)",
        ),
    ] = None,
    created_to: Annotated[
        str | None,
        Query(
            max_length=40,
            description="created on or before this day (`2026-01-15`: to its end, UTC) or instant (included)",
        ),
    ] = None,
    amount: Annotated[
        str | None,
        Query(max_length=20, description="exactly this amount, in major units: `12.50`, `12,50` or `12`"),
    ] = None,
    q: Annotated[
        str | None,
        Query(
            max_length=TEXT_LIMIT,
            description="search: a payment id (exactly), the beginning of your reference (in either case), or an "
            "amount (`12.50`, `12,50`, `12`); any of them may match",
        ),
    ] = None,
) -> SearchAsked:
    """The filters of a payments list or export, checked."""
    search = parse_search(
        status=status or (),
        method=method or (),
        created_from=created_from,
        created_to=created_to,
        amount=amount,
        q=q,
    )
    asked = (
        ("status", status),
        ("method", method),
        ("created_from", created_from),
        ("created_to", created_to),
        ("amount", amount),
        ("q", q),
    )
    return SearchAsked(search, next((name for name, value in asked if value), None))


SearchQuery = Annotated[SearchAsked, Depends(search_asked)]

_CSV: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The filtered payments as CSV (UTF-8), newest first, with a header line: "
        + ", ".join(f"`{column}`" for column in PAYMENT_COLUMNS)
        + ". Amounts in major units with a point (`12.50`); text that would read as a spreadsheet formula starts "
        "with an apostrophe",
        "content": {"text/csv": {"schema": {"type": "string"}}},
    },
    400: {"description": SEARCH_ERRORS},
}


@router.get("/v1/payments/export.csv", response_class=Response, responses=_CSV)
def export_payments(request: Request, merchant_id: MerchantId, asked: SearchQuery) -> Response:
    """Every payment of the merchant's that the filters match (the same filters as ``GET /v1/payments``), as a CSV
    file, streamed: the payments are read a chunk at a time, however many there are."""
    payments = kleline_of(request).payments.search_all(merchant_id, asked.search)
    return StreamingResponse(
        payments_csv(payments),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="payments.csv"'},
    )
