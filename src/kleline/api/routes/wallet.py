"""The customer's own wallet: purse balances, cards and limits."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel

from kleline.api.auth import CustomerId, kleline_of
from kleline.api.routes.cards import CardOut, card_out
from kleline.api.routes.customers import CustomerOut, customer_out

router = APIRouter(prefix="/v1", tags=["wallet"])


class PurseOut(BaseModel):
    """The purse's balances in minor units."""

    currency: str
    balance: int
    held: int
    available: int


class LimitsOut(BaseModel):
    """The purse's ceilings at the customer's verification level, in minor units."""

    currency: str
    max_balance: int
    monthly_top_up: int


class WalletOut(BaseModel):
    """Everything the customer holds with Kleline."""

    customer: CustomerOut
    purse: PurseOut
    cards: list[CardOut]
    limits: LimitsOut


@router.get("/wallet", response_model=WalletOut)
def get_wallet(request: Request, customer_id: CustomerId) -> WalletOut:
    """The signed-in customer's wallet."""
    kleline = kleline_of(request)
    customer = kleline.customers.get(customer_id)
    purse = kleline.customers.purse(customer_id)
    balance = kleline.ledger.balance(purse.code)
    limits = kleline.limits.for_level(customer.kyc_level)
    return WalletOut(
        customer=customer_out(customer),
        purse=PurseOut(currency=purse.currency, balance=balance.posted, held=balance.held, available=balance.available),
        cards=[card_out(card) for card in kleline.cards.list(customer_id)],
        limits=LimitsOut(
            currency=limits.max_balance.currency,
            max_balance=limits.max_balance.minor,
            monthly_top_up=limits.monthly_top_up.minor,
        ),
    )
