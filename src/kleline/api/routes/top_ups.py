"""The purse: top-ups from a card or by SEPA direct debit, the movements, and the strong-authentication enrolment
they may need."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field, StrictInt

from kleline.api.auth import CustomerId, kleline_of
from kleline.api.fields import CurrencyCode
from kleline.api.movements import MovementList, purse_movement_page
from kleline.api.routes.passkeys import PasskeyAnswer
from kleline.clock import to_rfc3339
from kleline.errors import ValidationError
from kleline.money import Money
from kleline.wallet.model import TopUp

router = APIRouter(prefix="/v1/wallet", tags=["wallet"])


class TopUpIn(BaseModel):
    """A top-up: an amount in cents from a registered card (``card_id``) or by direct debit of a registered bank
    account (``bank_account_id``), exactly one of the two. After a ``requires_action`` answer, send the same top-up
    again with its ``challenge_id`` and either ``sca_code`` (the authenticator app's code) or ``passkey`` (a passkey's
    answer to the ceremony of ``POST /v1/wallet/passkeys/assertions`` for that challenge)."""

    amount: StrictInt = Field(gt=0, le=10**12, examples=[2500])
    currency: CurrencyCode
    card_id: str | None = Field(default=None, min_length=1, max_length=40)
    bank_account_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=40,
        description="top up by SEPA direct debit: the purse is credited at once, the account debited in the next "
        "collection run",
    )
    challenge_id: str | None = Field(default=None, max_length=40)
    sca_code: str | None = Field(default=None, pattern=r"^[0-9]{6}$")
    passkey: PasskeyAnswer | None = Field(
        default=None,
        description="instead of sca_code: a passkey's answer to a ceremony of this challenge_id, whose signed bytes "
        "bind the amount and the purse",
    )


class NextAction(BaseModel):
    """What the customer must do before asking again: pass the challenge with a code from their authenticator, or
    with a passkey (``POST /v1/wallet/passkeys/assertions`` gives the ceremony)."""

    type: Literal["sca"] = "sca"
    challenge_id: str


class TopUpOut(BaseModel):
    """A top-up and how it ended; a direct-debit top-up names its bank account and the collection still to make."""

    id: str
    status: str
    amount: int
    currency: str
    card_id: str | None
    bank_account_id: str | None = None
    collection_id: str | None = None
    failure_code: str | None
    next_action: NextAction | None
    created_at: str


class EnrolmentOut(BaseModel):
    """Scan this URI with an authenticator app: it is shown only once."""

    provisioning_uri: str


def top_up_out(top_up: TopUp, collection_id: str | None = None) -> TopUpOut:
    """The API view of a top-up."""
    return TopUpOut(
        id=top_up.id,
        status=top_up.status,
        amount=top_up.amount.minor,
        currency=top_up.amount.currency,
        card_id=top_up.card_id,
        bank_account_id=top_up.bank_account_id,
        collection_id=collection_id,
        failure_code=top_up.failure_code,
        next_action=NextAction(challenge_id=top_up.challenge_id) if top_up.challenge_id else None,
        created_at=to_rfc3339(top_up.created_at),
    )


@router.post(
    "/top-ups",
    status_code=201,
    response_model=TopUpOut,
    responses={
        400: {
            "description": "`validation_error` (`param` names the field), or `passkey_response_invalid`: the "
            "passkey's answer does not verify (made for another amount, another site, or not by this wallet's passkey)"
        },
        403: {
            "description": "`forbidden`: not a customer's token; `sca_code_invalid`: the code is wrong; `sca_blocked`: "
            "too many failed attempts; `passkey_sign_count_regressed`: the passkey's counter did not move forward, "
            "as a copied one's would; `sca_enrolment_required`: no authenticator app or passkey to pass a challenge"
        },
        404: {
            "description": "`not_found`: no such card or bank account in this wallet; `sca_challenge_not_found`: no "
            "such challenge; `passkey_ceremony_not_found`: no such passkey ceremony, or it was used already"
        },
        409: {
            "description": "`idempotency_key_reused` or `idempotency_request_in_progress`; `sca_challenge_used` or "
            "`sca_challenge_mismatch`: the challenge was passed already, or is for another amount"
        },
        410: {
            "description": "`sca_challenge_expired`: the strong-authentication challenge is over, start again; "
            "`passkey_ceremony_expired`: the passkey ceremony began five minutes ago or more"
        },
        422: {"description": "`limit_exceeded`: the top-up would pass the wallet's limits for its KYC level"},
    },
)
def create_top_up(body: TopUpIn, request: Request, customer_id: CustomerId) -> TopUpOut:
    """Top up the purse from a registered card or by direct debit of a registered bank account: ``succeeded``,
    ``failed`` with a ``failure_code``, or ``requires_action`` with a challenge to pass (then the same top-up again
    with ``challenge_id`` and ``sca_code`` or ``passkey``)."""
    amount = Money(body.amount, body.currency)
    passkey = body.passkey.proof() if body.passkey is not None else None
    if body.bank_account_id is not None:
        if body.card_id is not None:
            raise ValidationError("give card_id or bank_account_id, not both", param="bank_account_id")
        debited = kleline_of(request).collections.top_ups.top_up(
            customer_id,
            amount,
            body.bank_account_id,
            challenge_id=body.challenge_id,
            sca_code=body.sca_code,
            passkey=passkey,
        )
        return top_up_out(debited.top_up, None if debited.collection is None else debited.collection.id)
    if body.card_id is None:
        raise ValidationError("give card_id (a card) or bank_account_id (a direct debit)", param="card_id")
    top_up = kleline_of(request).top_ups.top_up(
        customer_id, amount, body.card_id, challenge_id=body.challenge_id, sca_code=body.sca_code, passkey=passkey
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
    """The purse's movements, newest first, each with the balance after it and the merchant it paid or was refunded
    by."""
    kleline = kleline_of(request)
    kleline.customers.purse(customer_id)
    movements = kleline.payments.purse_movements(customer_id, limit=limit + 1, before=starting_after)
    return purse_movement_page(movements, limit)
