"""Kleline's staff look customers and merchants up: a search, then one's summary (the ``read`` power, every role).

``GET /v1/merchants?query=`` is the merchants' list itself, searched (``api.routes.merchants``); the customers' and
both summaries are here. Cards are shown as a wallet shows them (first six and last four digits), IBANs masked.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from kleline.api.auth import kleline_of, require_power
from kleline.api.routes.cards import CardOut, card_out
from kleline.api.routes.customers import CustomerOut, customer_out
from kleline.api.routes.merchants import MerchantOut, merchant_out
from kleline.api.routes.payments import PaymentOut
from kleline.api.routes.staff_reports import forbidden
from kleline.api.routes.wallet import PurseOut
from kleline.clock import to_rfc3339
from kleline.ledger import Balance
from kleline.payments.model import Payment
from kleline.payments.views import payment_json
from kleline.staff.actor import StaffActor
from kleline.staff.roles import Power
from kleline.wallet.customers import SEARCH_LIMIT

router = APIRouter(tags=["staff lookup"])

Reader = Annotated[StaffActor, Depends(require_power(Power.READ))]
READ_FORBIDDEN = forbidden("the `read` power")


class CustomerList(BaseModel):
    """Customers found, those whose name begins with the query first."""

    data: list[CustomerOut]
    has_more: bool


class StaffPaymentOut(PaymentOut):
    """A payment, with its merchant's name."""

    merchant_name: str | None


class StaffCardOut(CardOut):
    """A card as a wallet shows it, and its number masked for reading aloud (``424242******4242``)."""

    masked_number: str


class CustomerSummaryOut(BaseModel):
    """A customer's wallet as staff see it: ``purse`` null if it was never opened; ``authenticator`` whether an
    authenticator app guards their payments; the latest payments, newest first."""

    customer: CustomerOut
    verification_level: str
    purse: PurseOut | None
    cards: list[StaffCardOut]
    authenticator: Literal["none", "pending", "confirmed"]
    payments: list[StaffPaymentOut]
    has_more_payments: bool


class BalanceOut(BaseModel):
    """An account's balances in minor units: posted, held by authorisations, available."""

    currency: str
    balance: int
    held: int
    available: int


class MerchantUserOut(BaseModel):
    """One of a merchant's people."""

    id: str
    email: str
    name: str
    role: str
    second_factor: bool = Field(description="an authenticator app or a passkey is set up")
    created_at: str


class MerchantSummaryOut(BaseModel):
    """A merchant as staff see it: its profile (IBAN masked), its balance at Kleline (null before its approval),
    what its authorised payments may add (``pending``), its latest payments and its people."""

    merchant: MerchantOut
    balance: BalanceOut | None
    pending: int
    payments: list[StaffPaymentOut]
    has_more_payments: bool
    users: list[MerchantUserOut]


def _payment(payment: Payment, names: dict[str, str]) -> StaffPaymentOut:
    return StaffPaymentOut.model_validate({**payment_json(payment), "merchant_name": names.get(payment.merchant_id)})


def _balance(balance: Balance) -> BalanceOut:
    return BalanceOut(currency=balance.currency, balance=balance.posted, held=balance.held, available=balance.available)


@router.get("/v1/customers", response_model=CustomerList, responses=READ_FORBIDDEN)
def search_customers(
    request: Request,
    _actor: Reader,
    query: Annotated[
        str,
        Query(
            min_length=1,
            max_length=SEARCH_LIMIT,
            description="the beginning of a customer's id (`cus_...`), email address, or name (in either case)",
        ),
    ],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> CustomerList:
    """Customers whose id, email or name begins with ``query``."""
    found, more = kleline_of(request).customers.search(query, limit=limit)
    return CustomerList(data=[customer_out(customer) for customer in found], has_more=more)


@router.get("/v1/customers/{customer_id}", response_model=CustomerSummaryOut, responses=READ_FORBIDDEN)
def get_customer(customer_id: str, request: Request, _actor: Reader) -> CustomerSummaryOut:
    """A customer's wallet: purse, cards (masked), verification level, second factor, latest payments."""
    summary = kleline_of(request).lookup.customer(customer_id)
    purse = summary.purse
    return CustomerSummaryOut(
        customer=customer_out(summary.customer),
        verification_level=summary.customer.kyc_level,
        purse=None if purse is None else PurseOut(**_balance(purse).model_dump()),
        cards=[
            StaffCardOut(**card_out(card).model_dump(), masked_number=f"{card.first6}******{card.last4}")
            for card in summary.cards
        ],
        authenticator=summary.authenticator,
        payments=[_payment(payment, summary.merchant_names) for payment in summary.payments],
        has_more_payments=summary.more_payments,
    )


@router.get("/v1/merchants/{merchant_id}/summary", response_model=MerchantSummaryOut, responses=READ_FORBIDDEN)
def get_merchant_summary(merchant_id: str, request: Request, _actor: Reader) -> MerchantSummaryOut:
    """A merchant's profile, balance, latest payments and people."""
    summary = kleline_of(request).lookup.merchant(merchant_id)
    merchant = summary.merchant
    return MerchantSummaryOut(
        merchant=merchant_out(merchant, full_iban=False),
        balance=None if summary.balance is None else _balance(summary.balance),
        pending=summary.pending,
        payments=[_payment(payment, {merchant.id: merchant.name}) for payment in summary.payments],
        has_more_payments=summary.more_payments,
        users=[
            MerchantUserOut(
                id=user.id,
                email=user.email,
                name=user.name,
                role=user.role,
                second_factor=user.has_second_factor,
                created_at=to_rfc3339(user.created_at),
            )
            for user in summary.users
        ],
    )
