"""The customer's own wallet: purse balances, cards and limits."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

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
    """The purse's ceilings at the customer's verification level, and the room they leave, in minor units."""

    currency: str
    max_balance: int
    monthly_top_up: int
    topped_up_this_month: int = Field(description="top-ups begun or done since the first of the month (UTC)")
    top_up_room: int = Field(
        description="the largest top-up the limits accept now: below the ceiling (counting top-ups under way) and "
        "within the month's limit"
    )


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
    standing = kleline.top_ups.standing(customer)
    limits = standing.limits
    return WalletOut(
        customer=customer_out(customer),
        purse=PurseOut(
            currency=standing.balance.currency,
            balance=standing.balance.minor,
            held=standing.held.minor,
            available=standing.available.minor,
        ),
        cards=[card_out(card) for card in kleline.cards.list(customer_id)],
        limits=LimitsOut(
            currency=limits.max_balance.currency,
            max_balance=limits.max_balance.minor,
            monthly_top_up=limits.monthly_top_up.minor,
            topped_up_this_month=standing.topped_up_this_month.minor,
            top_up_room=standing.top_up_room.minor,
        ),
    )
