"""What customers owe after direct debits came back unpaid, and clearing it: operators list the debts, take a
repayment from a customer's purse or propose to write a debt off (operators whose role manages receivables; a second
operator approves it: four eyes, ``kleline.api.routes.proposals``; recorded in the staff audit trail); a customer
repays its own debt from its purse.

Every clearing is a ``POST`` and so idempotent on ``Idempotency-Key`` (``api.idempotency``: a retry replays the first
answer). A refusal (nothing owed, an empty purse, more than owed) is a problem document and writes nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field, StrictInt

from kleline.api.auth import CustomerId, ReadingOperator, ReceivablesManager, kleline_of
from kleline.api.fields import CurrencyCode
from kleline.api.routes.proposals import PROPOSED, ProposalOut, proposal_out
from kleline.clock import to_rfc3339
from kleline.collections import ReceivableSettlement
from kleline.collections.debts import check_debt_currency
from kleline.money import Money

__all__ = ["router"]

router = APIRouter(tags=["collections"])


class ReceivableOut(BaseModel):
    """What a customer owes after collections came back unpaid and the purse could not cover them."""

    customer_id: str
    object: Literal["receivable"] = "receivable"
    amount: int
    currency: str
    returned_collections: int
    last_returned_at: str | None


class ReceivableList(BaseModel):
    """Customers who owe money, by customer id."""

    data: list[ReceivableOut]
    has_more: bool


class ClearingIn(BaseModel):
    """How much of the debt to clear, in cents; without ``amount``, as much as possible (for a repayment, what the
    purse has available up to the debt; for a write-off, the whole debt). Never more than owed."""

    amount: StrictInt | None = Field(default=None, gt=0, le=10**12, examples=[1500])
    currency: CurrencyCode = "EUR"


class ClearingOut(BaseModel):
    """One movement that cleared (part of) a debt: ``repayment`` from the purse or ``write_off`` to Kleline's loss
    account; ``id`` is its ledger entry and ``outstanding`` what the customer still owes after it."""

    id: str
    object: Literal["receivable_settlement"] = "receivable_settlement"
    customer_id: str
    kind: Literal["repayment", "write_off"]
    amount: int
    currency: str
    outstanding: int
    created_at: str


def _time(moment: datetime | None) -> str | None:
    return None if moment is None else to_rfc3339(moment)


def _amount(body: ClearingIn | None) -> Money | None:
    if body is None:
        return None
    if body.amount is None:  # "as much as possible", but of the currency named: another one is refused all the same
        check_debt_currency(body.currency)
        return None
    return Money(body.amount, body.currency)


def clearing_out(done: ReceivableSettlement) -> ClearingOut:
    """The API view of a repayment or write-off."""
    return ClearingOut(
        id=done.id,
        customer_id=done.customer_id,
        kind=done.kind,
        amount=done.amount.minor,
        currency=done.amount.currency,
        outstanding=done.outstanding.minor,
        created_at=to_rfc3339(done.created_at),
    )


@router.get("/v1/receivables", response_model=ReceivableList)
def list_receivables(
    request: Request,
    _operator: ReadingOperator,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    starting_after: Annotated[str | None, Query(max_length=40, description="the last customer id seen")] = None,
) -> ReceivableList:
    """Customers' outstanding debts from returned collections (what their purse could not give back)."""
    owing, more = kleline_of(request).collections.receivables(limit=limit, after=starting_after)
    return ReceivableList(
        data=[
            ReceivableOut(
                customer_id=r.customer_id,
                amount=r.outstanding.minor,
                currency=r.outstanding.currency,
                returned_collections=r.returned_collections,
                last_returned_at=_time(r.last_returned_at),
            )
            for r in owing
        ],
        has_more=more,
    )


@router.post("/v1/receivables/{customer_id}/repayments", status_code=201, response_model=ClearingOut)
def repay(
    customer_id: str, request: Request, operator: ReceivablesManager, body: ClearingIn | None = None
) -> ClearingOut:
    """Repay the customer's debt from its purse (purse Dr / receivable Cr): ``409 nothing_owed`` when it owes
    nothing, ``409 purse_empty`` when the purse has nothing available, ``402 insufficient_funds`` when it has less
    than the ``amount`` asked, ``400 amount_exceeds_debt`` above the debt; a refusal writes nothing."""
    return clearing_out(kleline_of(request).collections.debts.repay(customer_id, _amount(body), actor=operator))


@router.post(
    "/v1/receivables/{customer_id}/write-offs", status_code=202, response_model=ProposalOut, responses=PROPOSED
)
def write_off(
    customer_id: str, request: Request, operator: ReceivablesManager, body: ClearingIn | None = None
) -> ProposalOut:
    """Propose to write the customer's debt off to Kleline's loss account (four eyes): nothing moves until a second
    operator approves the proposal (``POST /v1/proposals/{id}/approve``), which posts ``kleline:bad-debt`` Dr /
    receivable Cr then. The proposal fixes the amount and the debt it is taken from (the whole debt, as owed now, by
    default): if the debt changes before the approval, the approval fails (``debt_changed``). ``409 nothing_owed``
    when the customer owes nothing, ``400 amount_exceeds_debt`` above the debt."""
    return proposal_out(kleline_of(request).proposals.propose_write_off(operator, customer_id, _amount(body)))


@router.post("/v1/wallet/repayments", status_code=201, response_model=ClearingOut, tags=["wallet"])
def repay_own_debt(request: Request, customer_id: CustomerId, body: ClearingIn | None = None) -> ClearingOut:
    """Repay, from your purse, what you owe since a direct debit came back unpaid (what the purse has available, up
    to the debt, or ``amount``); once nothing is owed, top-ups by direct debit work again. ``409 nothing_owed``,
    ``409 purse_empty``, ``402 insufficient_funds`` and ``400 amount_exceeds_debt`` as for the operator's call."""
    return clearing_out(kleline_of(request).collections.debts.repay(customer_id, _amount(body)))
