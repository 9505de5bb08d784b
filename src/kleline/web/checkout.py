"""The hosted checkout page: ``checkout_url`` of a payment, from the purchase's summary to the shop's return page.

One page (``GET /checkout/{id}``) shows what the payment needs next: sign-in, the choice of purse or card, the
strong-authentication code, or its outcome with a link back to the shop. Each form posts to its own address and is
answered with a redirect (post/redirect/get), so that reloading a page never sends a payment twice:
- ``confirm``: the customer's choice, to ``Payments.confirm``;
- ``authenticate``: the code from the authenticator, to ``Payments.confirm`` again with it;
- ``cards``: a new card for the wallet (verified at its issuer), to pay with.

A payment that reaches an outcome (authorised, paid, failed) comes back to this page, now Kleline's confirmation:
the amount, the merchant, the outcome, the receipt once the money is taken, and a "continue to the shop" link to the
shop's ``return_url`` with ``payment_id`` and ``status`` added to its query (the shop's contract: it reads the
payment from the API either way). Until then, a "cancel and return" link takes the customer back to the same address
with the payment's current status; the payment itself stays open (the API defines no cancel address, and only the
merchant cancels a payment), so the customer may still come back and pay it. A refusal that leaves the payment open
(a wrong code, a purse that holds too little, a payment someone else is completing) is shown on the page with its
code and a link to the page that fixes it (top up the purse, set up an authenticator), and nothing is changed. The
page reads services only; every rule (who may confirm, when a challenge is due) is theirs.
"""

from __future__ import annotations

from typing import Final
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from fastapi import APIRouter, Request
from starlette.responses import Response

from kleline.bootstrap import Kleline
from kleline.errors import KlelineError, NotFound
from kleline.merchants import Merchant
from kleline.money import Money
from kleline.payments.model import OPEN_STATUSES, Payment
from kleline.privacy.model import SHARING_STATUSES, merchant_scope
from kleline.wallet.model import Customer
from kleline.wallet.passkey import PasskeyProof
from kleline.wallet.sca import ChallengeExpired
from kleline.web.card_form import EMPTY_CARD_FORM, add_card_to_wallet
from kleline.web.declines import decline_reason
from kleline.web.flashes import CARD_ADDED, announcement, leave
from kleline.web.i18n import N_, Language, language_of
from kleline.web.refusals import PageError, page_error
from kleline.web.rendering import allow_scripts, redirect, render
from kleline.web.security import passkeys_usable
from kleline.web.visits import (
    Answered,
    Form,
    Visit,
    known_visit,
    page_context,
    page_visit,
    post_visit,
    respond,
    web_of,
)

__all__ = ["not_found_page", "router", "with_result"]

router = APIRouter(include_in_schema=False)

STATUS_TEXT: Final = {
    "requires_confirmation": N_("Waiting for your confirmation"),
    "requires_action": N_("Waiting for strong authentication"),
    "processing": N_("Being processed"),
    "authorized": N_("Authorised: the amount is reserved, the merchant takes it when your order ships"),
    "succeeded": N_("Paid"),
    "failed": N_("Failed"),
    "canceled": N_("Canceled by the merchant"),
    "expired": N_("Expired: the reservation was released"),
}
# Why a payment failed when its card's bank did not decline it; a decline gives its reason (kleline.web.declines).
FAILURE_TEXT: Final = {
    "issuer_unavailable": N_("the card's bank did not answer"),
    "card_removed": N_("the card was removed from your wallet before it was charged"),
    "interrupted": N_("it was interrupted before it was complete"),
}
_REFUSED: Final = N_("it was refused")
# Refusals that a page explains better than the service's sentence meant for a developer.
_PAGE_MESSAGES: Final = {
    "sca_enrolment_required": N_(
        "This payment needs strong authentication, and your wallet has no authenticator app "
        "yet: set one up in your wallet, or pay by purse if it holds enough"
    ),
    "payment_unexpected_state": N_("This payment can no longer be confirmed from this page"),
    "sca_challenge_expired": N_("The code came too late: enter the code your app shows now"),
}
# The page that fixes a refusal, by its code: where to go, and the link's words.
_FIXES: Final = {
    "insufficient_funds": ("/wallet/top-up", N_("Top up your purse")),
    "sca_enrolment_required": ("/wallet/security", N_("Set up an authenticator app")),
}


def with_result(return_url: str, payment_id: str, status: str) -> str:
    """The shop's ``return_url`` with ``payment_id`` and ``status`` set in its query (the rest of it kept)."""
    parts = urlsplit(return_url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in ("payment_id", "status")]
    query += [("payment_id", payment_id), ("status", status)]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _page_path(payment_id: str) -> str:
    return f"/checkout/{payment_id}"


def _fixes(errors: list[PageError], payment_id: str, language: Language) -> list[tuple[str, str]]:
    """Links to the pages that fix the refusals shown (each once), which bring the customer back here after."""
    back = urlencode({"next": _page_path(payment_id)})
    codes = dict.fromkeys(error.code for error in errors if error.code in _FIXES)
    return [(f"{_FIXES[code][0]}?{back}", language.gettext(_FIXES[code][1])) for code in codes]


def _not_found(request: Request, visit: Visit | None) -> Response:
    _ = language_of(request).gettext
    message = _("This payment does not exist, or the link is incomplete.")
    context = page_context(visit, _("No such payment"), message=message)
    return render(request, "not_found.html", context, status=404)


def not_found_page(request: Request) -> Response:
    """The page of a checkout link that names no payment (one the door refused before any lookup, say)."""
    return _not_found(request, known_visit(request))


def _stage(payment: Payment, visit: Visit) -> str:
    if payment.customer_id is not None and (visit.customer is None or payment.customer_id != visit.customer.id):
        return "private"  # a customer chose it: from then on it is theirs alone to see
    if payment.status == "processing":
        return "processing"
    if payment.status not in OPEN_STATUSES:
        return "closed"
    if visit.customer is None:
        return "sign_in"
    return "authenticate" if payment.status == "requires_action" else "choose"


def _private(request: Request, visit: Visit, payment: Payment, errors: list[PageError], status: int) -> Response:
    """The page of a payment that another customer chose (or someone not signed in opens): it says nothing of the
    payment (no merchant, amount, status, card or payer), and offers to sign in with the wallet it belongs to."""
    _ = language_of(request).gettext
    path = _page_path(payment.id)
    context = page_context(visit, _("This payment is not in your wallet"), errors=errors, next=path, email="")
    context.update(sign_out_next=path, passkey_sign_in=passkeys_usable(request))
    return render(request, "private_payment.html", context, status=status if errors else 403 if visit.customer else 200)


def _merchant(kleline: Kleline, merchant_id: str) -> tuple[Merchant, list[str]]:
    merchant = kleline.merchants.get(merchant_id)
    return merchant, [mall.name for mall in kleline.malls.malls_of(merchant.id)]


def _checkout(
    request: Request,
    visit: Visit,
    payment: Payment,
    *,
    errors: list[PageError] | None = None,
    card_errors: list[PageError] | None = None,
    card_form: dict[str, str] | None = None,
    selected: str | None = None,
    share_email: bool = False,
    status: int = 200,
) -> Response:
    """The checkout page of ``payment`` for this visit (``share_email``: the box stays ticked when the page comes
    back with an error; it is never ticked otherwise)."""
    kleline = web_of(request).kleline
    stage = _stage(payment, visit)
    if stage == "private":
        return _private(request, visit, payment, (errors or []) + (card_errors or []), status)
    merchant, malls = _merchant(kleline, payment.merchant_id)
    merchant_name = merchant.name
    path = _page_path(payment.id)
    language = language_of(request)
    _ = language.gettext
    if stage != "closed":
        title = _("Pay %(merchant)s")
    elif payment.customer_id is not None:
        title = _("Your payment to %(merchant)s")
    else:
        title = _("Payment to %(merchant)s")
    shown = (errors or []) + (card_errors or [])
    context = page_context(
        visit,
        title % {"merchant": merchant_name},
        errors=shown,
        fixes=_fixes(shown, payment.id, language),
        card_errors=card_errors or [],
        card_form=card_form or EMPTY_CARD_FORM,
        sign_out_next=path,
        next=path,
        email="",
        payment=payment,
        merchant_name=merchant_name,
        malls=malls,
        stage=stage,
        status_text=_(STATUS_TEXT[payment.status]) if payment.status in STATUS_TEXT else payment.status,
        failure_text=_(FAILURE_TEXT.get(payment.failure_code or "", _REFUSED)),
        decline_reason=decline_reason(payment.failure_code, language),
        return_link=with_result(payment.return_url, payment.id, payment.status) if payment.return_url else None,
        shop_link=merchant.website if merchant.is_active else None,
        receipt_link=f"/wallet/receipts/{payment.id}" if _has_receipt(payment) else None,
        merchant_link=f"/merchants/{merchant.id}" if merchant.is_active else None,
        flash=announcement(request, visit),
    )
    if stage == "choose" and visit.customer is not None:
        available = _purse_available(kleline, visit.customer.id)
        cards = kleline.cards.list(visit.customer.id)
        enough = available >= payment.amount if available.currency == payment.currency else False
        context.update(
            purse_available=available,
            purse_enough=enough,
            top_up_link="/wallet/top-up?" + urlencode({"next": path}),
            cards=cards,
            # Nothing in the wallet can pay: the card form is shown open, as the way forward.
            add_card_open=not enough and not cards,
            selected=selected or ("purse" if enough or not cards else cards[0].id),
            share_email=share_email,
            # A customer who already shares their email with this shop is told so, not offered the box again.
            already_sharing=kleline.consents.is_live(
                visit.customer.id, "share_email", merchant_scope(payment.merchant_id)
            ),
        )
    passkey = None
    usable = passkeys_usable(request)  # browsers refuse passkeys at an IP address or over plain HTTP
    if usable and stage == "authenticate" and visit.customer is not None and payment.challenge_id is not None:
        # Passkeys where enrolled: a ceremony bound to this payment's challenge (its amount and payee).
        passkey = kleline.passkeys.begin_payment(visit.customer.id, payment.challenge_id)
    totp = passkey is None or kleline.strong_auth.enrolment(passkey_owner(visit)) != "none"
    context.update(passkey_offer=passkey, totp_enrolled=totp, passkey_sign_in=usable)
    response = render(request, "checkout.html", context, status=status)
    return allow_scripts(response) if passkey is not None else response


def passkey_owner(visit: Visit) -> str:
    """The signed-in customer's id (a passkey is only ever offered to them)."""
    assert visit.customer is not None
    return visit.customer.id


def _has_receipt(payment: Payment) -> bool:
    """Whether Kleline has signed a receipt for the payment: once its money is taken (a capture issues it)."""
    return payment.customer_id is not None and payment.amount_captured > 0


def _purse_available(kleline: Kleline, customer_id: str) -> Money:
    purse = kleline.customers.purse(customer_id)
    return Money(kleline.ledger.balance(purse.code).available, purse.currency)


def _refusal(error: KlelineError, language: Language, fields: dict[str, str] | None = None) -> PageError:
    shown = page_error(error, fields, language)
    message = _PAGE_MESSAGES.get(error.code)
    return PageError(language.gettext(message), shown.code, shown.field) if message else shown


def _status_of(error: KlelineError) -> int:
    return error.status if 400 <= error.status < 500 else 400


def _after(payment: Payment) -> Response:
    """Where the customer goes once the payment moved: this page, which shows its next step or, once it has an
    outcome, Kleline's confirmation with the link back to the shop."""
    return redirect(_page_path(payment.id))


@router.get("/checkout/{payment_id}")
def checkout_page(request: Request, payment_id: str, card: str | None = None) -> Response:
    """The payment's summary and its next step; ``card`` preselects a card just added."""
    try:
        payment = web_of(request).kleline.payments.get(payment_id)
    except NotFound:
        return _not_found(request, known_visit(request))  # no session is opened for a page without a form
    visit = page_visit(request)
    return respond(request, visit, _checkout(request, visit, payment, selected=card))


def _signed_in_post(
    request: Request, payment_id: str, form: dict[str, str]
) -> tuple[Kleline, Visit, Customer, Payment]:
    """What a checkout form acts with: Kleline, the visit, its signed-in customer and the payment; ``Answered``
    when the form is refused, the payment unknown, or nobody is signed in (the page then asks to sign in)."""
    visit = post_visit(request, form, back=_page_path(payment_id))
    kleline = web_of(request).kleline
    try:
        payment = kleline.payments.get(payment_id)
    except NotFound:
        raise Answered(_not_found(request, visit)) from None
    if visit.customer is None:
        raise Answered(redirect(_page_path(payment_id)))
    return kleline, visit, visit.customer, payment


@router.post("/checkout/{payment_id}/confirm")
def confirm(request: Request, payment_id: str, form: Form) -> Response:
    """Pay with the chosen purse or card; a challenge, if due, comes back as the page's next step."""
    kleline, visit, customer, payment = _signed_in_post(request, payment_id, form)
    language = language_of(request)
    _ = language.gettext
    if payment.status not in OPEN_STATUSES and payment.customer_id == customer.id:
        return _after(payment)  # confirmed already (a second click, a reload): on to the outcome
    choice = form.get("method", "")
    sharing = form.get("share_email") == "yes"
    if choice == "purse":
        method, card_id = "purse", None
        if payment.status in OPEN_STATUSES and _purse_available(kleline, customer.id) < payment.amount:
            # Refused before the payment is touched: confirming would fail it for good, and a card may still pay.
            short = PageError(
                _("Your purse does not hold enough for this payment: choose a card, or top up your purse first"),
                "insufficient_funds",
                "method",
            )
            return _checkout(request, visit, payment, errors=[short], selected=choice, share_email=sharing, status=402)
    elif choice.startswith("card_"):
        method, card_id = "card", choice
    else:
        missing = PageError(_("Choose how to pay: your purse or one of your cards"), "validation_error", "method")
        return _checkout(request, visit, payment, errors=[missing], share_email=sharing, status=400)
    try:
        paid = kleline.payments.confirm(payment.id, customer.id, method, card_id)
    except KlelineError as error:
        current = kleline.payments.get(payment.id)
        refusal = _refusal(error, language, {"card_id": "method", "method": "method"})
        return _checkout(
            request, visit, current, errors=[refusal], selected=choice, share_email=sharing, status=_status_of(error)
        )
    if sharing and paid.status in SHARING_STATUSES:
        # The card's issuer was called between transactions (payments.confirm), so the consent takes its own, right
        # after: the customer's word, given with a purchase that went through (or awaits only their code).
        kleline.consents.grant(
            customer.id, "share_email", merchant_scope(paid.merchant_id), channel="checkout", language=language.code
        )
    return _after(paid)


@router.post("/checkout/{payment_id}/authenticate")
def authenticate(request: Request, payment_id: str, form: Form) -> Response:
    """Pass the payment's challenge with the authenticator's code, and pay."""
    kleline, visit, customer, payment = _signed_in_post(request, payment_id, form)
    language = language_of(request)
    code = "".join(form.get("sca_code", "").split())
    if not (code.isascii() and code.isdigit() and len(code) == 6):
        message = language.gettext("Enter the 6-digit code from your authenticator app")
        wrong = PageError(message, "validation_error", "sca_code")
        return _checkout(request, visit, payment, errors=[wrong], status=400)
    if payment.status != "requires_action" or payment.customer_id != customer.id or payment.method is None:
        return redirect(_page_path(payment.id))  # nothing to authenticate here (any more): the page says why
    try:
        try:
            paid = kleline.payments.confirm(payment.id, customer.id, payment.method, payment.card_id, code)
        except ChallengeExpired:
            # The challenge lapsed: a fresh one is issued at once, so that the code the app shows next passes.
            kleline.payments.confirm(payment.id, customer.id, payment.method, payment.card_id)
            raise
    except KlelineError as error:
        current = kleline.payments.get(payment.id)
        refusal = _refusal(error, language, {"sca_code": "sca_code"})
        if error.code.startswith("sca_"):
            refusal = PageError(refusal.message, refusal.code, "sca_code")
        return _checkout(request, visit, current, errors=[refusal], status=_status_of(error))
    return _after(paid)


@router.post("/checkout/{payment_id}/passkey")
def authenticate_with_passkey(request: Request, payment_id: str, form: Form) -> Response:
    """Pass the payment's challenge with a passkey (the response ``/static/passkeys.js`` filled in), and pay."""
    kleline, visit, customer, payment = _signed_in_post(request, payment_id, form)
    language = language_of(request)
    if payment.status != "requires_action" or payment.customer_id != customer.id or payment.method is None:
        return redirect(_page_path(payment.id))  # nothing to authenticate here (any more): the page says why
    proof = PasskeyProof(form.get("ceremony_id", ""), form.get("credential", ""))
    try:
        paid = kleline.payments.confirm(payment.id, customer.id, payment.method, payment.card_id, passkey=proof)
    except KlelineError as error:
        current = kleline.payments.get(payment.id)
        refusal = _refusal(error, language)
        return _checkout(
            request, visit, current, errors=[PageError(refusal.message, refusal.code)], status=_status_of(error)
        )
    return _after(paid)


@router.post("/checkout/{payment_id}/cards")
def add_card(request: Request, payment_id: str, form: Form) -> Response:
    """Register a card in the wallet (after its issuer's check), then choose it on the page."""
    kleline, visit, customer, payment = _signed_in_post(request, payment_id, form)
    entry = add_card_to_wallet(kleline, customer.id, form, language_of(request), _PAGE_MESSAGES)
    if entry.card is None:
        return _checkout(request, visit, payment, card_errors=entry.errors, card_form=entry.form, status=entry.status)
    card = entry.card
    return leave(request, redirect(f"{_page_path(payment.id)}?{urlencode({'card': card.id})}"), CARD_ADDED, card.id)
