"""Payments and refunds: merchants create, capture, cancel and refund; customers confirm; each sees only its own.

Who may do what (API.md): a merchant key (``sk_``) acts on its own payments only, a customer token (``ct_``)
confirms a payment waiting for its customer and reads the payments it made, an operator key (``op_``) reads
everything and moves nothing. Another party's payment is answered ``404``, exactly as a payment that does not exist.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field, StrictInt

from kleline.api.auth import Credentials, MerchantId, Party, customer_token, kleline_of, merchant_secret
from kleline.api.fields import CurrencyCode
from kleline.api.routes.passkeys import PasskeyAnswer
from kleline.api.routes.payment_search import SEARCH_ERRORS, SearchQuery
from kleline.api.unit_of_work import SlowPath, claimed_apart, in_one_transaction
from kleline.db.engine import RawTx
from kleline.errors import NotFound, ValidationError
from kleline.ledger import UnknownAccount
from kleline.merchants.model import balance_account
from kleline.money import Money
from kleline.payments.model import Payment, PaymentRequest
from kleline.payments.search import MAX_PAGE, PageCursor
from kleline.payments.views import payment_json, refund_json
from kleline.privacy.model import SHARING_STATUSES, merchant_scope

router = APIRouter(tags=["payments"])


class PaymentIn(BaseModel):
    """A purchase the merchant wants paid."""

    amount: StrictInt = Field(gt=0, le=10**12, examples=[1250])
    currency: CurrencyCode
    description: str | None = Field(default=None, max_length=500)
    reference: str | None = Field(default=None, max_length=200, description="the merchant's own order reference")
    capture_method: Literal["automatic", "manual"] = "automatic"
    return_url: str | None = Field(default=None, max_length=2000, description="where checkout sends the customer")


class ConfirmIn(BaseModel):
    """How the customer pays; ``sca_code`` answers a ``requires_action`` with the authenticator's code, or
    ``passkey`` with a passkey's answer to the ceremony of ``POST /v1/wallet/passkeys/assertions``."""

    method: Literal["purse", "card"]
    card_id: str | None = Field(default=None, max_length=40)
    sca_code: str | None = Field(default=None, pattern=r"^[0-9]{6}$")
    passkey: PasskeyAnswer | None = None
    share_email: bool = Field(
        default=False,
        description="the customer agrees to share their email with this payment's merchant (a `share_email` "
        "consent, granted with the purchase if it is authorised, withdrawable from the wallet at any time)",
    )


class CaptureIn(BaseModel):
    """How much to capture: everything authorised when absent."""

    amount: StrictInt | None = Field(default=None, gt=0, le=10**12)


class RefundIn(BaseModel):
    """A refund of a captured payment: everything still refundable when ``amount`` is absent."""

    payment_id: str = Field(min_length=1, max_length=40)
    amount: StrictInt | None = Field(default=None, gt=0, le=10**12)


class NextAction(BaseModel):
    """Strong authentication to pass before confirming again with ``sca_code``."""

    type: Literal["sca"]
    challenge_id: str


class PaymentOut(BaseModel):
    """A payment; ``fee`` is the commission on what was captured net of refunds, ``introduction_fee`` the
    introduction fee at ``intro_fee_bps`` when an offer of the merchant (``introduction_offer_id``) introduced the
    customer (0 otherwise), ``net`` what the merchant keeps after both."""

    id: str
    object: Literal["payment"]
    merchant_id: str
    customer_id: str | None = Field(
        description="the customer: its own id (`cus_`) for the customer and operators; for the merchant, the "
        "customer's pseudonym for that merchant (`cpn_`), stable across its payments and unrelated to other merchants'"
    )
    customer_email: str | None = Field(
        description="the customer's email, for the merchant only while the customer shares it with that merchant "
        "(a live `share_email` consent); null otherwise"
    )
    amount: int
    currency: str
    status: str
    method: str | None
    card_id: str | None
    capture_method: str
    amount_authorized: int
    amount_captured: int
    amount_refunded: int
    fee: int
    fee_bps: int
    introduction_fee: int
    intro_fee_bps: int
    introduction_offer_id: str | None
    net: int
    description: str | None
    reference: str | None
    return_url: str | None
    checkout_url: str
    failure_code: str | None
    next_action: NextAction | None
    authorization_expires_at: str | None
    created_at: str


class PaymentList(BaseModel):
    """A page of payments, newest first. ``has_more``: more payments lie beyond this page the way it was asked for
    (older ones; newer ones for a ``previous_cursor``). A merchant's page names the pages after and before it
    (``next_cursor``, ``previous_cursor``: pass one as ``cursor``), null where there is none (always for other
    callers, who page with ``starting_after``)."""

    data: list[PaymentOut]
    has_more: bool
    next_cursor: str | None
    previous_cursor: str | None


class RefundOut(BaseModel):
    """A refund, the commission it returned and the introduction fee it returned (``intro_fee_returned``)."""

    id: str
    object: Literal["refund"]
    payment_id: str
    merchant_id: str
    amount: int
    currency: str
    fee_returned: int
    intro_fee_returned: int
    status: str
    failure_code: str | None
    created_at: str


class RefundList(BaseModel):
    """Refunds, newest first."""

    data: list[RefundOut]
    has_more: bool


class BalanceOut(BaseModel):
    """What Kleline owes the merchant now (``available``) and what authorised payments may add (``pending``)."""

    currency: str
    available: int
    pending: int


def _out(payment: Payment) -> dict[str, Any]:
    return payment_json(payment)


def _seen_by(request: Request, party: Party, payment: Payment) -> dict[str, Any]:
    """The payment as the caller may see it: a merchant through ``payments.disclosure``, the others whole."""
    if party.kind == "merchant":
        return kleline_of(request).disclosure.payment(payment)
    return _out(payment)


def _visible(request: Request, party: Party, payment_id: str) -> Payment:
    payment = kleline_of(request).payments.get(payment_id)
    if not party.is_party_to(payment.merchant_id, payment.customer_id):
        raise NotFound(f"no payment {payment_id}", param="id")
    return payment


# These two routes read their credentials inside the request's transaction rather than through a key dependency, so
# the document learns their 403 here.
_MERCHANTS_ONLY = {"description": "`forbidden`: a merchant's secret key only; `merchant_not_active`: not approved"}
_CUSTOMERS_ONLY = {"description": "`forbidden`: a customer's token only"}


@router.post("/v1/payments", status_code=201, response_model=PaymentOut, responses={403: _MERCHANTS_ONLY})
def create_payment(body: PaymentIn, request: Request, credentials: Credentials) -> Response:
    """Create a payment waiting for its customer; send the customer to its ``checkout_url``."""
    # One transaction (kleline.api.unit_of_work): the key, the merchant's status and the new payment are read and
    # written in it, with the Idempotency-Key's claim and answer.
    secret = merchant_secret(credentials)
    kleline = kleline_of(request)
    payment_request = PaymentRequest(
        Money(body.amount, body.currency),
        description=body.description,
        reference=body.reference,
        capture_method=body.capture_method,
        return_url=body.return_url,
    )

    def create(tx: RawTx) -> dict[str, Any]:
        merchant = kleline.merchants.authenticate_active(tx, secret)
        return kleline.disclosure.payment(
            kleline.payments.create(merchant.id, payment_request, tx=tx, merchant=merchant), tx=tx
        )

    return in_one_transaction(request, 201, PaymentOut, create)


@router.get(
    "/v1/payments",
    response_model=PaymentList,
    responses={
        400: {
            "description": SEARCH_ERRORS + "; a `cursor` this API did not give, or given with `starting_after`; "
            "a filter or `cursor` sent with a key other than a merchant's"
        }
    },
)
def list_payments(
    request: Request,
    party: Party,
    asked: SearchQuery,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 20,
    starting_after: Annotated[
        str | None, Query(max_length=40, description="the id of the last payment of the previous page")
    ] = None,
    cursor: Annotated[
        str | None,
        Query(
            max_length=200,
            description="a page's `next_cursor` (the page after it) or `previous_cursor` (the page before it); "
            "merchant keys",
        ),
    ] = None,
) -> dict[str, Any]:
    """The caller's payments, newest first: a merchant's own, a customer's own, or all for an operator.

    A merchant may filter them (by status, method, creation day or instant, amount) and search them (``q``: a
    payment id, the beginning of its reference, an amount), and page on both ways with the answer's
    ``next_cursor`` and ``previous_cursor``; ``starting_after`` (an id) still pages on."""
    payments = kleline_of(request).payments
    if party.kind == "merchant":
        if cursor is not None and starting_after is not None:
            raise ValidationError("cursor: give cursor or starting_after, not both", param="cursor")
        at = None
        if cursor is not None:
            at = PageCursor.parse(cursor)
        elif starting_after is not None:
            at = PageCursor.after(_visible(request, party, starting_after))
        page = payments.search(party.id, asked.search, limit=limit, cursor=at)
        return {
            "data": kleline_of(request).disclosure.payments(page.payments),
            "has_more": page.has_more,
            "next_cursor": None if page.next is None else page.next.encode(),
            "previous_cursor": None if page.previous is None else page.previous.encode(),
        }
    refused = asked.named or ("cursor" if cursor is not None else None)
    if refused is not None:
        raise ValidationError(f"{refused}: filters and cursors are for merchant keys", param=refused)
    if starting_after is not None:
        _visible(request, party, starting_after)
    found, more = payments.list(
        merchant_id=None,
        customer_id=party.id if party.kind == "customer" else None,
        limit=limit,
        after=starting_after,
    )
    return {"data": [_out(p) for p in found], "has_more": more, "next_cursor": None, "previous_cursor": None}


@router.get("/v1/payments/{payment_id}", response_model=PaymentOut)
def get_payment(payment_id: str, request: Request, party: Party) -> dict[str, Any]:
    """One payment, if it is the caller's."""
    return _seen_by(request, party, _visible(request, party, payment_id))


_SCA_EXPIRED = {"description": "`sca_challenge_expired`: the strong-authentication challenge is over; start again"}
_CAPTURE_REFUSED = {"description": "`capture_failed`: the card issuer refused the capture"}


@router.post(
    "/v1/payments/{payment_id}/confirm",
    response_model=PaymentOut,
    responses={403: _CUSTOMERS_ONLY, 410: _SCA_EXPIRED, 502: _CAPTURE_REFUSED},
)
def confirm_payment(payment_id: str, body: ConfirmIn, request: Request, credentials: Credentials) -> Any:
    """The customer pays from the purse or a card: ``succeeded``, ``authorized``, ``requires_action`` (pass the
    challenge, then confirm again with ``sca_code`` or ``passkey``) or ``failed`` with a ``failure_code``."""
    token = customer_token(credentials)
    kleline = kleline_of(request)
    if body.method == "purse" and body.sca_code is None and body.passkey is None:
        # One transaction: the token, the payment, its merchant and every write, with the key's claim and answer.
        def pay(tx: RawTx) -> dict[str, Any]:
            customer_id = kleline.customers.authenticate(token, tx=tx)
            paid = kleline.payments.confirm_from_purse_in(tx, payment_id, customer_id)
            if paid is None:
                raise SlowPath  # a challenge is due, or the purse cannot cover it: the way below says which
            if body.share_email and paid.status in SHARING_STATUSES:
                kleline.consents.grant_in(
                    tx, customer_id, "share_email", merchant_scope(paid.merchant_id), channel="api", language="en"
                )
            return _out(paid)

        try:
            return in_one_transaction(request, 200, PaymentOut, pay)
        except SlowPath:
            pass
    # A card (an issuer called between transactions: see kleline.payments.confirm), a code, or a purse payment
    # that cannot finish in one transaction: the key is claimed apart, the answer stored by the middleware.
    customer_id = kleline.customers.authenticate(token)
    replayed = claimed_apart(request)
    if replayed is not None:
        return replayed
    passkey = body.passkey.proof() if body.passkey is not None else None
    payment = kleline.payments.confirm(
        payment_id, customer_id, body.method, card_id=body.card_id, sca_code=body.sca_code, passkey=passkey
    )
    if body.share_email and payment.status in SHARING_STATUSES:
        kleline.consents.grant(customer_id, "share_email", merchant_scope(payment.merchant_id), channel="api")
    return _out(payment)


@router.post(
    "/v1/payments/{payment_id}/capture",
    response_model=PaymentOut,
    responses={
        502: _CAPTURE_REFUSED,
        503: {"description": "`issuer_unavailable`: the card issuer did not answer; retry the capture"},
    },
)
def capture_payment(
    payment_id: str, request: Request, merchant_id: MerchantId, body: CaptureIn | None = None
) -> dict[str, Any]:
    """Capture an authorised payment, in full or in part; the rest of the authorisation is released."""
    kleline = kleline_of(request)
    amount = None
    if body is not None and body.amount is not None:
        amount = Money(body.amount, kleline.payments.book.of_merchant(merchant_id, payment_id).currency)
    return kleline.disclosure.payment(kleline.payments.capture(merchant_id, payment_id, amount))


@router.post("/v1/payments/{payment_id}/cancel", response_model=PaymentOut)
def cancel_payment(payment_id: str, request: Request, merchant_id: MerchantId) -> dict[str, Any]:
    """Cancel a payment before capture; an authorisation is released."""
    kleline = kleline_of(request)
    return kleline.disclosure.payment(kleline.payments.cancel(merchant_id, payment_id))


@router.get("/v1/payments/{payment_id}/refunds", response_model=RefundList)
def list_payment_refunds(payment_id: str, request: Request, party: Party) -> dict[str, Any]:
    """A payment's refunds, newest first."""
    _visible(request, party, payment_id)
    refunds = kleline_of(request).refunds.list(payment_id=payment_id, limit=100)
    return {"data": [refund_json(r) for r in refunds], "has_more": False}


@router.post(
    "/v1/refunds",
    status_code=201,
    response_model=RefundOut,
    responses={
        404: {"description": "`not_found`: no such payment of this merchant's"},
        502: {"description": "`refund_failed`: the card issuer refused the refund; nothing is recorded"},
    },
)
def create_refund(body: RefundIn, request: Request, merchant_id: MerchantId) -> dict[str, Any]:
    """Refund a captured payment, in part or in full; the commission is returned pro rata."""
    kleline = kleline_of(request)
    amount = None
    if body.amount is not None:
        amount = Money(body.amount, kleline.payments.book.of_merchant(merchant_id, body.payment_id).currency)
    return refund_json(kleline.refunds.refund(merchant_id, body.payment_id, amount))


@router.get("/v1/refunds/{refund_id}", response_model=RefundOut)
def get_refund(refund_id: str, request: Request, party: Party) -> dict[str, Any]:
    """One refund, if its payment is the caller's."""
    refund = kleline_of(request).refunds.get(refund_id)
    try:
        _visible(request, party, refund.payment_id)
    except NotFound:
        raise NotFound(f"no refund {refund_id}", param="id") from None
    return refund_json(refund)


@router.get("/v1/balance", response_model=BalanceOut, tags=["merchants"])
def merchant_balance(request: Request, merchant_id: MerchantId) -> BalanceOut:
    """The merchant's balance at Kleline: available for payout, and pending in authorised payments."""
    kleline = kleline_of(request)
    try:
        available = kleline.ledger.balance(balance_account(merchant_id)).available
    except UnknownAccount:
        available = 0  # not approved yet: its account opens on approval
    return BalanceOut(currency="EUR", available=available, pending=kleline.payments.pending_balance(merchant_id))
