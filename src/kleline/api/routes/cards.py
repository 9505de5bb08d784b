"""Cards in the signed-in customer's wallet: register (after a zero-amount check at the issuer), list, remove."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field, StrictInt, StrictStr

from kleline.api.auth import CustomerId, kleline_of
from kleline.clock import to_rfc3339
from kleline.wallet.cards import CardBrand
from kleline.wallet.model import Card

__all__ = ["CardOut", "card_out", "router"]

router = APIRouter(prefix="/v1/wallet", tags=["wallet"])


class NewCard(BaseModel):
    """A card as the customer types it. The security code goes to the issuer once and is never stored."""

    # repr=False: a request model that reaches a log or a traceback must not carry the number or the code.
    number: StrictStr = Field(
        max_length=64,
        repr=False,
        description="the card number, 12-19 digits; spaces and dashes between groups are ignored",
        examples=["4242 4242 4242 4242"],
    )
    exp_month: StrictInt = Field(description="expiry month, an integer from 1 to 12 (not a string)", examples=[12])
    exp_year: StrictInt = Field(description="expiry year, four digits (not a string)", examples=[2030])
    cvc: StrictStr = Field(
        max_length=16,
        repr=False,
        description="the security code: 3 digits, 4 for American Express; a string, so that leading zeros survive",
        examples=["123"],
        json_schema_extra={"writeOnly": True},
    )
    holder_name: StrictStr = Field(
        max_length=200, description="the name printed on the card", examples=["Ada Lovelace"]
    )


class CardOut(BaseModel):
    """A card in the wallet: only the first six and last four digits of its number are ever shown."""

    id: str = Field(examples=["card_4f1c..."])
    brand: CardBrand
    first6: str = Field(description="the issuer's BIN", examples=["424242"])
    last4: str = Field(examples=["4242"])
    exp_month: int
    exp_year: int
    holder_name: str
    created_at: str


class CardList(BaseModel):
    """A page of the wallet's cards, newest first."""

    data: list[CardOut]
    has_more: bool


def card_out(card: Card) -> CardOut:
    """The API view of a card."""
    return CardOut(
        id=card.id,
        brand=CardBrand(card.brand),
        first6=card.first6,
        last4=card.last4,
        exp_month=card.exp_month,
        exp_year=card.exp_year,
        holder_name=card.holder_name,
        created_at=to_rfc3339(card.created_at),
    )


_ERRORS: dict[int | str, dict[str, object]] = {
    400: {"description": "a field is malformed (``param`` names it): invalid_card_number, expired_card, ..."},
    402: {"description": "``card_declined``: the issuer declined the verification; ``decline_code`` says why"},
    409: {"description": "``card_already_registered``: this card is already in the wallet"},
}


@router.post("/cards", status_code=201, response_model=CardOut, responses=_ERRORS)
def register_card(body: NewCard, request: Request, customer_id: CustomerId) -> CardOut:
    """Register a card after a zero-amount authorisation at its issuer (nothing is charged or held).

    Declines are ``402`` with code ``card_declined`` and a ``decline_code``: ``do_not_honor``, ``insufficient_funds``,
    ``expired_card``, ``incorrect_cvc``, ``invalid_card_number``, ``unknown_issuer``, ``transaction_not_allowed``,
    ``restricted_card``, ``card_velocity_exceeded``, ``issuer_unavailable`` or ``generic_decline``. A card whose
    issuer asks for strong authentication is registered: the challenge comes with each payment.
    """
    card = kleline_of(request).cards.register(
        customer_id, body.number, body.exp_month, body.exp_year, body.cvc, body.holder_name
    )
    return card_out(card)


@router.get("/cards", response_model=CardList)
def list_cards(
    request: Request,
    customer_id: CustomerId,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    starting_after: Annotated[str | None, Query(description="the id of the last card of the previous page")] = None,
) -> CardList:
    """The wallet's cards, newest first."""
    cards = kleline_of(request).cards.list(customer_id, limit=limit + 1, starting_after=starting_after)
    return CardList(data=[card_out(card) for card in cards[:limit]], has_more=len(cards) > limit)


@router.delete(
    "/cards/{card_id}", status_code=204, response_class=Response, responses={404: {"description": "no such card"}}
)
def remove_card(card_id: str, request: Request, customer_id: CustomerId) -> Response:
    """Remove a card from the wallet; another customer's card is not found, like an unknown one."""
    kleline_of(request).cards.remove(customer_id, card_id)
    return Response(status_code=204)
