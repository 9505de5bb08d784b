"""The purse: top-ups from a card, the movements, and the strong-authentication enrolment they may need."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field, StrictInt

from kleline.api.auth import CustomerId, kleline_of
from kleline.api.movements import MovementList, movement_page
from kleline.clock import to_rfc3339
from kleline.money import Money
from kleline.wallet.customers import purse_code
from kleline.wallet.model import TopUp

router = APIRouter(prefix="/v1/wallet", tags=["wallet"])


class TopUpIn(BaseModel):
    """A top-up: an amount in cents from a registered card; with ``challenge_id`` and ``sca_code`` after a
    ``requires_action`` answer."""

    amount: StrictInt = Field(gt=0, le=10**12, examples=[2500])
    currency: str = Field(pattern=r"^[A-Z]{3}$", examples=["EUR"])
    card_id: str = Field(min_length=1, max_length=40)
    challenge_id: str | None = Field(default=None, max_length=40)
    sca_code: str | None = Field(default=None, pattern=r"^[0-9]{6}$")


class NextAction(BaseModel):
    """What the customer must do before asking again: pass the challenge with a code from their authenticator."""

    type: Literal["sca"] = "sca"
    challenge_id: str


class TopUpOut(BaseModel):
    """A top-up and how it ended."""

    id: str
    status: str
    amount: int
    currency: str
    card_id: str
    failure_code: str | None
    next_action: NextAction | None
    created_at: str


class EnrolmentOut(BaseModel):
    """Scan this URI with an authenticator app: it is shown only once."""

    provisioning_uri: str


def top_up_out(top_up: TopUp) -> TopUpOut:
    """The API view of a top-up."""
    return TopUpOut(
        id=top_up.id,
        status=top_up.status,
        amount=top_up.amount.minor,
        currency=top_up.amount.currency,
        card_id=top_up.card_id,
        failure_code=top_up.failure_code,
        next_action=NextAction(challenge_id=top_up.challenge_id) if top_up.challenge_id else None,
        created_at=to_rfc3339(top_up.created_at),
    )


@router.post("/top-ups", status_code=201, response_model=TopUpOut)
def create_top_up(body: TopUpIn, request: Request, customer_id: CustomerId) -> TopUpOut:
    """Top up the purse from a registered card: ``succeeded``, ``failed`` with a ``failure_code``, or
    ``requires_action`` with a challenge to pass."""
    top_up = kleline_of(request).top_ups.top_up(
        customer_id,
        Money(body.amount, body.currency),
        body.card_id,
        challenge_id=body.challenge_id,
        sca_code=body.sca_code,
    )
    return top_up_out(top_up)


@router.post("/sca/enrolment", status_code=201, response_model=EnrolmentOut)
def enrol_authenticator(request: Request, customer_id: CustomerId) -> EnrolmentOut:
    """Enrol a TOTP authenticator (strong customer authentication); the URI is returned once."""
    kleline = kleline_of(request)
    customer = kleline.customers.get(customer_id)
    return EnrolmentOut(provisioning_uri=kleline.strong_auth.enrol(customer_id, customer.email).provisioning_uri)


@router.get("/transactions", response_model=MovementList)
def list_transactions(
    request: Request,
    customer_id: CustomerId,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    starting_after: Annotated[int | None, Query(ge=1, description="sequence of the last movement seen")] = None,
) -> MovementList:
    """The purse's movements, newest first, each with the balance after it."""
    kleline = kleline_of(request)
    kleline.customers.purse(customer_id)
    lines = kleline.ledger.history(purse_code(customer_id), limit=limit + 1, before=starting_after)
    return movement_page(lines, limit)
