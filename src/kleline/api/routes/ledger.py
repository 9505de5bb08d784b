"""Operator views of the books: the trial balance and one account's balances and history (any role that may read)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from kleline.api.auth import ReadingOperator, kleline_of
from kleline.api.movements import MovementList, movement_page
from kleline.ledger.audit import trial_balance

router = APIRouter(prefix="/v1/ledger", tags=["ledger"])


class Totals(BaseModel):
    """Debit and credit totals of one currency, in minor units."""

    debits: int
    credits: int


class TrialBalanceOut(BaseModel):
    """Whether the books balance, with the totals per currency."""

    balanced: bool
    currencies: dict[str, Totals]


class AccountOut(BaseModel):
    """An account's balances on its normal side, in minor units."""

    code: str
    currency: str
    normal_side: str
    floor: int | None
    balance: int
    held: int
    available: int


@router.get("/trial-balance", response_model=TrialBalanceOut)
def get_trial_balance(request: Request, _operator: ReadingOperator) -> TrialBalanceOut:
    """Debits and credits per currency over every account; ``balanced`` is true when they agree."""
    result = trial_balance(kleline_of(request).db)
    return TrialBalanceOut(
        balanced=result.balanced,
        currencies={c: Totals(debits=t.debits, credits=t.credits) for c, t in result.currencies.items()},
    )


@router.get("/accounts/{code}", response_model=AccountOut)
def get_account(code: str, request: Request, _operator: ReadingOperator) -> AccountOut:
    """Posted, held and available balances of one account."""
    ledger = kleline_of(request).ledger
    account = ledger.account(code)
    balance = ledger.balance(code)
    return AccountOut(
        code=code,
        currency=account.currency,
        normal_side="debit" if account.normal_side.value == "D" else "credit",
        floor=account.floor,
        balance=balance.posted,
        held=balance.held,
        available=balance.available,
    )


@router.get("/accounts/{code}/movements", response_model=MovementList)
def list_movements(
    code: str,
    request: Request,
    _operator: ReadingOperator,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    starting_after: Annotated[
        int | None, Query(ge=1, description="the sequence of the last movement of the previous page")
    ] = None,
) -> MovementList:
    """The account's movements, newest first, each with its running balance."""
    lines = kleline_of(request).ledger.history(code, limit=limit + 1, before=starting_after)
    return movement_page(lines, limit)
