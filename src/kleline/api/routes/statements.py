"""Merchants' monthly statements, and the operator's export of the whole books.

A merchant reads its own statements; an operator reads any merchant's, naming it with ``merchant_id``. A merchant
naming another merchant is answered ``404``, exactly as a merchant that does not exist. An operator reads a statement
as JSON with the ``read`` power; a file (CSV, FEC, the PDF invoice) or the books' export is a download, which needs
``export`` and is recorded in the staff audit trail.
"""

from __future__ import annotations

import io
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel

from kleline.api.auth import Exporter, OperatorOrMerchant, kleline_of
from kleline.errors import NotFound, ValidationError
from kleline.staff.audit import record_download
from kleline.staff.roles import Power

router = APIRouter(tags=["statements"])

_MONTH = r"^[0-9]{4}-(0[1-9]|1[0-2])$"


class MovementOut(BaseModel):
    """One movement of the merchant's balance, signed as the balance moved (minor units); ``net = gross +
    commission + introduction_fee`` (the introduction fee of a customer an offer introduced, else 0)."""

    posted_at: str
    type: Literal["payment", "refund", "payout", "payout_returned", "adjustment"]
    id: str
    entry_id: str
    payment_id: str | None
    reference: str | None
    description: str
    gross: int
    commission: int
    introduction_fee: int
    net: int
    balance_after: int


class StatementOut(BaseModel):
    """A merchant's month: ``closing_balance = opening_balance + turnover - refunds - commission -
    introduction_fees - payouts + payouts_returned + adjustments``; ``closed`` once the month is over (before, the
    statement runs to date); ``invoice_number`` once the month's commission invoice has been issued
    (``format=pdf``), else null."""

    object: Literal["merchant_statement"]
    merchant_id: str
    merchant_name: str
    month: str
    period_start: str
    period_end: str
    closed: bool
    invoice_number: str | None
    currency: str
    opening_balance: int
    turnover: int
    refunds: int
    commission: int
    commission_charged: int
    commission_returned: int
    introduction_fees: int
    introduction_fees_charged: int
    introduction_fees_returned: int
    payouts: int
    payouts_returned: int
    adjustments: int
    closing_balance: int
    payment_count: int
    refund_count: int
    payout_count: int
    movements: list[MovementOut]


_DOCUMENTS: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The statement: JSON, CSV, FEC (tab-separated, ISO 8859-15) or the commission invoice (PDF)",
        "content": {
            "application/json": {},
            "text/csv": {},
            "text/plain": {},
            "application/pdf": {},
        },
    },
    409: {
        "description": "The commission invoice (PDF) of a month that is not over (``statement_period_open``) or "
        "without commission (``nothing_to_invoice``)"
    },
}


@router.get("/v1/merchant-statements/{month}", response_model=StatementOut, responses=_DOCUMENTS)
def get_merchant_statement(
    month: Annotated[str, Path(pattern=_MONTH, description="the month, YYYY-MM (UTC)")],
    request: Request,
    caller: OperatorOrMerchant,
    merchant_id: Annotated[str | None, Query(max_length=40, description="the merchant (operators only)")] = None,
    format: Annotated[
        Literal["json", "csv", "fec", "pdf"],
        Query(description="json, csv, fec (Fichier des Écritures Comptables) or pdf (the commission invoice)"),
    ] = "json",
) -> Response:
    """A merchant's statement for one month: turnover, refunds, commission, payouts and closing balance, with every
    movement; as JSON, CSV, FEC or, once the month is over, the commission invoice as PDF.

    The first PDF request issues the invoice and gives it the next number of the year's sequence
    (``KL-2026-000001``); later requests return the same document. A month that is not over is refused with
    ``409 statement_period_open``, a month without commission with ``409 nothing_to_invoice``."""
    if caller.merchant_id is None:
        if format != "json":
            caller.require(Power.EXPORT)
        if merchant_id is None:
            raise ValidationError("merchant_id: operators name the merchant", param="merchant_id")
        whose = merchant_id
    else:
        if merchant_id is not None and merchant_id != caller.merchant_id:
            raise NotFound(f"no merchant {merchant_id}", param="merchant_id")
        whose = caller.merchant_id
    kleline = kleline_of(request)
    document = kleline.reports.statement_document(whose, month, format)
    if caller.actor is not None and format != "json":
        details = {"format": format, "month": month, "bytes": len(document.content)}
        record_download(kleline.db, caller.actor, "merchant", whose, at=kleline.clock(), details=details)
    disposition = "inline" if format == "json" else "attachment"
    return Response(
        document.content,
        media_type=document.media_type,
        headers={"Content-Disposition": f'{disposition}; filename="{document.filename}"'},
    )


@router.get(
    "/v1/ledger/export",
    tags=["ledger"],
    response_class=Response,
    responses={200: {"description": "The books as a beancount file", "content": {"text/plain": {}}}},
)
def export_ledger(
    request: Request,
    operator: Exporter,
    format: Annotated[Literal["beancount"], Query(description="beancount (checked by bean-check)")] = "beancount",
) -> Response:
    """Kleline's whole ledger as a beancount file: every account, every entry, every balance asserted. The download
    is recorded in the staff audit trail."""
    kleline = kleline_of(request)
    out = io.StringIO()
    summary = kleline.reports.export_beancount(out)
    details = {"format": format, "accounts": summary.accounts, "entries": summary.entries}
    record_download(kleline.db, operator, "ledger", None, at=kleline.clock(), details=details)
    return Response(
        out.getvalue().encode(),
        media_type="text/plain; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="kleline.{format}"'},
    )
