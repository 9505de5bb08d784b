"""The shop's payments (``/dashboard/payments``): the list, searched, filtered and paged; its export as CSV; each
payment's page with its timeline, receipts and refunds, and the acts on it (capture, cancel, refund).

Over the same services as the API: the list is ``Payments.search`` (keyset pages, the API's cursors) with the filters
checked by ``payments.search.parse_search``, the export ``Payments.search_all`` through the API's CSV writer; a
payment is read through ``Payments.get`` and shown only if it is the signed-in user's merchant's (another shop's id
is the not-found page, as an unknown one); capture, cancel and refunds are ``Payments.capture``, ``Payments.cancel``
and ``Refunds.refund``, which check the state and the amounts as for the API, with the API's error codes.

What the dashboard adds: the role (``read`` for every page, ``exports`` for the CSV, ``refund`` to move a sale's
money), the support role's refund limit (``merchant_users.may_refund``), a fresh second factor before a refund
(``require_recent_second_factor``), a refund form sent once however often it is posted (``kleline.web.once``, in
the user's own scope), and the audit trail (``MerchantUsers.record``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from starlette.responses import Response

from kleline.clock import to_rfc3339
from kleline.errors import KlelineError, NotFound, ValidationError
from kleline.events.model import Event
from kleline.merchant_users import may_refund
from kleline.money import Money
from kleline.payments.model import METHODS, STATUSES, Payment, Refund
from kleline.payments.search import PageCursor, PaymentListing, PaymentSearch, amount_minor, parse_search
from kleline.reports.payments_csv import payments_csv
from kleline.reports.tabular import decimal_text
from kleline.web import history
from kleline.web.dashboard.visits import (
    DashboardVisit,
    dashboard_context,
    refused,
    require,
    require_recent_second_factor,
    respond,
    signed_in_merchant_post,
    signed_in_merchant_user,
)
from kleline.web.dashboard.wording import dashboard_error, leave_note, note_of
from kleline.web.history import PARIS
from kleline.web.i18n import N_, Language, language_of
from kleline.web.once import new_form_key, once
from kleline.web.refusals import PageError
from kleline.web.rendering import redirect, render, secure_headers
from kleline.web.visits import Form, web_of

__all__ = ["PAYMENTS", "router"]

router = APIRouter(include_in_schema=False)

PAYMENTS: Final = "/dashboard/payments"
PER_PAGE: Final = 25
_TITLE: Final = N_("Payments")
_FILTERS: Final = ("q", "status", "method", "created_from", "created_to")
_DAY: Final = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")

STATUS_NAMES: Final = {
    "requires_confirmation": N_("Awaiting the customer"),
    "requires_action": N_("Awaiting the customer's code"),
    "processing": N_("Processing"),
    "authorized": N_("Authorised, to capture"),
    "succeeded": N_("Paid"),
    "canceled": N_("Canceled"),
    "failed": N_("Failed"),
    "expired": N_("Expired"),
}
METHOD_NAMES: Final = {"purse": N_("Kleline purse"), "card": N_("Card")}
REFUND_STATUS_NAMES: Final = {"succeeded": N_("Refunded"), "pending": N_("Pending"), "failed": N_("Failed")}
EVENT_NAMES: Final = {
    "payment.authorized": N_("Authorised by the customer"),
    "payment.succeeded": N_("Paid"),
    "payment.failed": N_("Payment failed"),
    "payment.canceled": N_("Canceled"),
    "payment.expired": N_("Authorisation expired"),
    "refund.succeeded": N_("Refund made"),
    "refund.pending": N_("Refund sent to the card's bank"),
    "refund.failed": N_("Refund failed"),
}

# The page's wording of the services' refusals (the API's codes, shown beside them), in every language.
_MESSAGES: Final[dict[tuple[str, str | None], str]] = {
    ("validation_error", "q"): N_("Search for at most 200 characters, without control characters"),
    ("validation_error", "status"): N_("Choose a status from the list"),
    ("validation_error", "method"): N_("Choose a payment method from the list"),
    ("validation_error", "created_from"): N_("Enter the first day as a date, for example 2026-01-15"),
    ("validation_error", "created_to"): N_(
        "Enter the last day as a date, for example 2026-01-31, on or after the first day"
    ),
    ("validation_error", "amount"): N_("Enter an amount in euros above zero, for example 12.50"),
    ("validation_error", "form_key"): N_("This form has expired: reload the page and try again"),
    ("refund_exceeds_captured", None): N_("The amount is above what is left to refund on this payment"),
    ("amount_too_large", None): N_("The amount is above what was authorised"),
    ("payment_unexpected_state", None): N_("This payment has changed since the page was shown: look at it again"),
    ("authorization_expired", None): N_("The authorisation has expired: the money was released to the customer"),
    ("capture_failed", None): N_("The card's bank refused the capture"),
    ("issuer_unavailable", None): N_("The card's bank did not answer: try again in a moment"),
    ("refund_failed", None): N_("The card's bank refused the refund: nothing was refunded"),
    ("merchant_not_active", None): N_("Your shop is not active: it cannot capture payments now"),
    ("idempotency_key_reused", None): N_("This form was already sent with other values: reload the page"),
    ("idempotency_request_in_progress", None): N_("This refund is still being made: reload the page in a moment"),
}
_FIELDS: Final = {
    "q": "q",
    "status": "status",
    "method": "method",
    "created_from": "created_from",
    "created_to": "created_to",
    "amount": "refund-amount",
}


def _error(error: KlelineError, language: Language) -> PageError:
    """A refusal as the page words it, linked to its input."""
    field = _FIELDS.get(error.param or "")
    wording = _MESSAGES.get((error.code, error.param)) or _MESSAGES.get((error.code, None))
    if wording is not None:
        return PageError(language.gettext(wording), error.code, field)
    return dashboard_error(error, _FIELDS, language)


# The list ------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Line:
    """One payment of the list, worded: each thing the page shows, ready to write (a page shows 25 lines; each
    attribute the template reads costs a look-up, so the line carries the very strings, not the payment)."""

    id: str
    title: str  # the shop's reference, else the description, else the id
    detail: str  # the description, beside the id, when the title is the reference
    state: str  # the payment's status as the API names it (``data-status``)
    status: str
    method: str
    when: str
    iso: str
    amount: str
    refunded: str


def _status_name(payment: Payment | PaymentListing) -> str:
    """The payment's state as the shop reads it: a paid payment given back says how much of it was."""
    if payment.status == "succeeded" and payment.amount_refunded:
        return N_("Refunded") if payment.refundable == 0 else N_("Partially refunded")
    return STATUS_NAMES.get(payment.status, payment.status)


def _line(payment: Payment | PaymentListing, language: Language, method_names: Mapping[str, str]) -> Line:
    """``payment`` worded in ``language`` (``method_names``: ``_method_names(language)``, read once per page)."""
    refunded = ""
    if payment.amount_refunded:
        money = history.amount(language, Money(payment.amount_refunded, payment.currency))
        refunded = language.gettext(N_("%(amount)s refunded")) % {"amount": money}
    reference, description = payment.reference, payment.description
    return Line(
        payment.id,
        reference or description or payment.id,
        description if reference and description else "",
        payment.status,
        language.gettext(_status_name(payment)),
        method_names.get(payment.method or "", ""),
        history.moment(language, payment.created_at),
        to_rfc3339(payment.created_at),
        history.amount(language, payment.amount),
        refunded,
    )


@functools.cache
def _method_names(language: Language) -> Mapping[str, str]:
    """The methods' names in ``language`` (translated once per process, not at every line)."""
    return {method: language.gettext(name) for method, name in METHOD_NAMES.items()}


@functools.cache
def _choices(language: Language) -> tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]:
    """The filters' statuses and methods, each (value, name in ``language``), in the model's order."""
    statuses = tuple((status, language.gettext(STATUS_NAMES[status])) for status in STATUSES)
    methods = tuple((method, language.gettext(METHOD_NAMES[method])) for method in METHODS)
    return statuses, methods


def _invalid(errors: list[PageError]) -> dict[str, str]:
    """The first error's message of each field, by the field's id: what the form shows beside each input."""
    found: dict[str, str] = {}
    for error in errors:
        if error.field is not None:
            found.setdefault(error.field, error.message)
    return found


def _typed(request: Request) -> dict[str, str]:
    """The filters as typed in the address (one value each; unknown parameters ignored)."""
    return {name: request.query_params.get(name, "")[:400] for name in _FILTERS}


def _search(typed: dict[str, str], language: Language) -> tuple[PaymentSearch | None, list[PageError]]:
    """The search the filters ask for, or every problem with them at once."""
    asked = {name: value for name, value in typed.items() if value.strip()}
    problems: list[KlelineError] = []
    for name in ("q", "status", "method", "created_from", "created_to"):
        if name not in asked:
            continue
        try:
            _parse({name: asked[name]})
        except ValidationError as error:
            problems.append(error)
    if not problems:
        try:
            return _parse(asked), []
        except ValidationError as error:  # a range that ends before it begins
            problems.append(error)
    return None, [_error(problem, language) for problem in problems]


def _parse(asked: dict[str, str]) -> PaymentSearch:
    return parse_search(
        status=[asked["status"]] if "status" in asked else (),
        method=[asked["method"]] if "method" in asked else (),
        created_from=_paris_day(asked.get("created_from"), end=False),
        created_to=_paris_day(asked.get("created_to"), end=True),
        q=asked.get("q"),
    )


def _paris_day(typed: str | None, *, end: bool) -> str | None:
    """A day typed in the form as the Paris day the list shows its payments in (the API's ``2026-01-15`` is a UTC
    day): its first instant, or (``end``) its last, with Paris's offset that day. Anything else goes on as typed, for
    the search to accept (an instant) or name what is wrong."""
    if typed is None or not _DAY.match(typed.strip()):
        return typed
    try:
        day = date.fromisoformat(typed.strip())
    except ValueError:
        return typed
    if end and day == date.max:
        return typed
    first = datetime.combine(day + timedelta(days=1) if end else day, time(), tzinfo=PARIS)
    return (first - timedelta(microseconds=1) if end else first).isoformat()


def _query(typed: dict[str, str], **more: str) -> str:
    """The filters (those given) and ``more``, as a query string."""
    fields = {name: value for name, value in typed.items() if value} | more
    return urlencode(fields)


def _cursor(text: str | None) -> PageCursor | None:
    """A page's cursor from the address; anything else starts from the newest (a stale or edited link)."""
    if not text:
        return None
    try:
        return PageCursor.parse(text)
    except ValidationError:
        return None


@router.get(PAYMENTS)
def payments_page(request: Request, cursor: str | None = None) -> Response:
    """The shop's payments, newest first, searched and filtered as asked, a page at a time."""
    visit = signed_in_merchant_user(request)
    require(request, visit, "read")
    assert visit.merchant is not None
    language = language_of(request)
    typed = _typed(request)
    search, errors = _search(typed, language)
    lines: list[Line] = []
    newer = older = None
    if search is not None:
        page = web_of(request).kleline.payments.listing(
            visit.merchant.id, search, limit=PER_PAGE, cursor=_cursor(cursor)
        )
        method_names = _method_names(language)
        lines = [_line(payment, language, method_names) for payment in page.payments]
        if page.previous is not None:
            newer = f"{PAYMENTS}?{_query(typed, cursor=page.previous.encode())}"
        if page.next is not None:
            older = f"{PAYMENTS}?{_query(typed, cursor=page.next.encode())}"
    filtered = any(value.strip() for value in typed.values())
    statuses, methods = _choices(language)
    context = dashboard_context(
        visit,
        language.gettext(_TITLE),
        section="payments",
        errors=errors,
        invalid=_invalid(errors),
        typed=typed,
        statuses=statuses,
        methods=methods,
        lines=lines,
        newer=newer,
        older=older,
        paged=cursor is not None,
        filtered=filtered,
        first_page=f"{PAYMENTS}?{_query(typed)}" if filtered else PAYMENTS,
        export=f"{PAYMENTS}/export.csv?{_query(typed)}" if filtered else f"{PAYMENTS}/export.csv",
        may_export=visit.can("exports"),
    )
    return respond(request, visit, render(request, "dashboard/payments.html", context, status=400 if errors else 200))


@router.get(f"{PAYMENTS}/export.csv")
def payments_export(request: Request) -> Response:
    """Every payment the filters match, as the API's CSV file, streamed (owners and accountants)."""
    visit = signed_in_merchant_user(request)
    require(request, visit, "exports")
    assert visit.merchant is not None
    typed = _typed(request)
    search, errors = _search(typed, language_of(request))
    if search is None:  # the list words what is wrong with the filters
        return redirect(f"{PAYMENTS}?{_query(typed)}")
    kleline = web_of(request).kleline
    kleline.merchant_users.record(
        visit.actor, "payments_exported", None, {name: value for name, value in typed.items() if value}
    )
    response = StreamingResponse(
        payments_csv(kleline.payments.search_all(visit.merchant.id, search)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="payments.csv"'},
    )
    return respond(request, visit, secure_headers(response))


# One payment ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RefundLine:
    """One refund of the payment, worded."""

    refund: Refund
    amount: str
    status: str
    when: str
    iso: str


@dataclass(frozen=True, slots=True)
class Step:
    """One line of the payment's timeline."""

    title: str
    when: str
    iso: str
    detail: str


def _own_payment(request: Request, visit: DashboardVisit, payment_id: str) -> Payment:
    """The payment if it is the signed-in user's merchant's; else ``Answered`` with the not-found page."""
    assert visit.merchant is not None
    try:
        payment = web_of(request).kleline.payments.get(payment_id)
    except NotFound:
        payment = None
    if payment is None or payment.merchant_id != visit.merchant.id:
        message = language_of(request).gettext(N_("Your shop has no payment with this id."))
        raise refused(request, visit, message, status=404)
    return payment


def _timeline(payment: Payment, events: list[Event], language: Language) -> list[Step]:
    """The payment's creation, then its events and its refunds' events, oldest first."""
    created = language.gettext(N_("Created, %(amount)s")) % {"amount": history.amount(language, payment.amount)}
    steps = [Step(created, history.moment(language, payment.created_at), to_rfc3339(payment.created_at), "")]
    for event in events:
        if event.type == "payment.refunded":  # the refund's own event says it, with its amount
            continue
        title = language.gettext(EVENT_NAMES[event.type]) if event.type in EVENT_NAMES else event.type
        detail = ""
        if event.type.startswith("refund.") and isinstance(event.data.get("amount"), int):
            detail = history.amount(language, Money(event.data["amount"], payment.currency))
        elif event.type == "payment.succeeded":
            detail = history.amount(language, Money(payment.amount_captured, payment.currency))
        steps.append(Step(title, history.moment(language, event.created_at), to_rfc3339(event.created_at), detail))
    return steps


def _receipt_ids(request: Request, object_ids: list[str]) -> set[str]:
    receipts = web_of(request).kleline.receipts
    found = set()
    for object_id in object_ids:
        try:
            receipts.get(object_id)
        except NotFound:
            continue
        found.add(object_id)
    return found


def _payment_page(
    request: Request,
    visit: DashboardVisit,
    payment: Payment,
    *,
    errors: list[PageError] | None = None,
    refund_amount: str | None = None,
    status: int = 200,
    flash: str | None = None,
) -> Response:
    assert visit.user is not None
    language = language_of(request)
    kleline = web_of(request).kleline
    refunds = kleline.refunds.list(payment_id=payment.id, limit=100)
    events = kleline.events.of_objects(payment.merchant_id, [payment.id, *(refund.id for refund in refunds)])
    receipts = _receipt_ids(request, [payment.id, *(refund.id for refund in refunds if refund.status == "succeeded")])
    refundable = Money(payment.refundable, payment.currency)
    limit = None
    if visit.user.role == "support":
        limit = history.amount(language, Money(visit.user.refund_limit or 0, "EUR"))
    context = dashboard_context(
        visit,
        language.gettext(N_("Payment %(amount)s")) % {"amount": history.amount(language, payment.amount)},
        section="payments",
        errors=errors or [],
        flash=flash,
        payment=payment,
        # The customer as this merchant may know them: its pseudonym, and the email while they share it.
        customer=kleline.disclosure.payment(payment),
        line=_line(payment, language, _method_names(language)),
        captured=history.amount(language, Money(payment.amount_captured, payment.currency)),
        refunded=history.amount(language, Money(payment.amount_refunded, payment.currency)),
        fee=history.amount(language, Money(payment.fee, payment.currency)),
        introduction_fee=history.amount(language, Money(payment.introduction_fee, payment.currency)),
        net=history.amount(language, Money(payment.net, payment.currency)),
        expires=history.moment(language, payment.expires_at) if payment.expires_at else "",
        refunds=[
            RefundLine(
                refund,
                history.amount(language, refund.amount),
                language.gettext(REFUND_STATUS_NAMES.get(refund.status, refund.status)),
                history.moment(language, refund.created_at),
                to_rfc3339(refund.created_at),
            )
            for refund in refunds
        ],
        timeline=_timeline(payment, events, language),
        receipts=receipts,
        may_capture=visit.can("capture") and payment.status == "authorized",
        may_refund=visit.can("refund") and payment.status == "succeeded" and payment.refundable > 0,
        refundable=history.amount(language, refundable),
        refund_amount=refund_amount if refund_amount is not None else _major(payment.refundable, payment.currency),
        refund_limit=limit,
        needs_code=kleline.merchant_sign_in.needs_second_factor_again(visit.session),
        form_key=new_form_key(),
    )
    return respond(request, visit, render(request, "dashboard/payment.html", context, status=status))


def _major(minor: int, currency: str) -> str:
    """An amount as the form's field shows it: ``12.50``."""
    return decimal_text(minor, currency)


@router.get(PAYMENTS + "/{payment_id}")
def payment_page(request: Request, payment_id: str, amount: str | None = None) -> Response:
    """One payment: its figures, timeline, receipts and refunds, and the acts the role allows on it."""
    visit = signed_in_merchant_user(request)
    require(request, visit, "read")
    payment = _own_payment(request, visit, payment_id)
    flash = note_of(request, signed_in=True)
    typed = amount[:20] if amount is not None else None
    if typed is not None and flash is None and visit.can("refund") and payment.status == "succeeded":
        # Back from the second factor asked before a refund: the amount typed is kept, the refund is one click away.
        flash = language_of(request).gettext(N_("It is you: check the amount, then refund the customer."))
    return _payment_page(request, visit, payment, refund_amount=typed, flash=flash)


@router.get(PAYMENTS + "/{payment_id}/receipts/{object_id}")
def receipt_download(request: Request, payment_id: str, object_id: str) -> Response:
    """The signed receipt of the payment or one of its refunds, as ``GET /v1/receipts/{id}`` serves it."""
    visit = signed_in_merchant_user(request)
    require(request, visit, "read")
    payment = _own_payment(request, visit, payment_id)
    kleline = web_of(request).kleline
    allowed = {payment.id} | {refund.id for refund in kleline.refunds.list(payment_id=payment.id, limit=100)}
    try:
        signed = kleline.receipts.get(object_id) if object_id in allowed else None
    except NotFound:
        signed = None
    if signed is None or signed.receipt.merchant_id != payment.merchant_id:
        message = language_of(request).gettext(N_("There is no receipt for this yet."))
        raise refused(request, visit, message, status=404)
    response = Response(signed.dumps(), media_type="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="kleline-receipt-{object_id}.json"'
    return respond(request, visit, secure_headers(response))


def _refusal_page(
    request: Request, visit: DashboardVisit, payment_id: str, error: KlelineError, typed: str | None = None
) -> Response:
    """The payment's page again, with the service's refusal (the page as it is now)."""
    payment = _own_payment(request, visit, payment_id)
    page_error = _error(error, language_of(request))
    return _payment_page(request, visit, payment, errors=[page_error], refund_amount=typed, status=error.status)


def _on_authorisation(
    request: Request, payment_id: str, form: dict[str, str], act: Callable[[str, str], dict[str, Any]], done: str
) -> Response:
    """Capture or cancel (``act``, which returns the audit's detail) an authorised payment of the shop's, then show
    it with ``done``'s note; a payment no longer authorised (another tab, a second click) is shown as it stands."""
    back = f"{PAYMENTS}/{payment_id}"
    visit = signed_in_merchant_post(request, form, back=back)
    require(request, visit, "capture")
    assert visit.merchant is not None
    payment = _own_payment(request, visit, payment_id)
    if payment.status != "authorized":
        return redirect(back)
    try:
        detail = act(visit.merchant.id, payment.id)
    except KlelineError as error:
        return _refusal_page(request, visit, payment_id, error)
    web_of(request).kleline.merchant_users.record(visit.actor, f"payment_{done}", payment.id, detail)
    return leave_note(request, redirect(back), f"dashboard_{done}")


@router.post(PAYMENTS + "/{payment_id}/capture")
def capture(request: Request, payment_id: str, form: Form) -> Response:
    """Capture an authorised payment in full."""
    payments = web_of(request).kleline.payments

    def act(merchant_id: str, paid: str) -> dict[str, Any]:
        captured = payments.capture(merchant_id, paid)
        return {"amount": captured.amount_captured, "currency": captured.currency}

    return _on_authorisation(request, payment_id, form, act, "captured")


@router.post(PAYMENTS + "/{payment_id}/cancel")
def cancel(request: Request, payment_id: str, form: Form) -> Response:
    """Cancel an authorised payment: the authorisation is released."""
    payments = web_of(request).kleline.payments

    def act(merchant_id: str, paid: str) -> dict[str, Any]:
        payments.cancel(merchant_id, paid)
        return {}

    return _on_authorisation(request, payment_id, form, act, "canceled")


def _refund_amount(payment: Payment, typed: str) -> Money:
    """The amount typed in the payment's currency (empty: everything left); a ``ValidationError`` otherwise."""
    if not typed.strip():
        return Money(payment.refundable, payment.currency)
    minor = amount_minor(typed, payment.currency)
    if minor is None:
        raise ValidationError(f"amount: {typed!r} is not an amount (for example 12.50)", param="amount")
    return Money(minor, payment.currency)


@router.post(PAYMENTS + "/{payment_id}/refund")
def refund(request: Request, payment_id: str, form: Form) -> Response:
    """Refund the payment in full or in part: the support role up to its limit, after a fresh second factor, once
    however often the form is sent."""
    back = f"{PAYMENTS}/{payment_id}"
    visit = signed_in_merchant_post(request, form, back=back)
    require(request, visit, "refund")
    assert visit.merchant is not None and visit.user is not None
    language = language_of(request)
    payment = _own_payment(request, visit, payment_id)
    typed = form.get("amount", "")[:20]
    try:
        amount = _refund_amount(payment, typed)
    except ValidationError as error:
        return _refusal_page(request, visit, payment_id, error, typed)
    if not may_refund(visit.user.role, visit.user.refund_limit, amount):
        limit = history.amount(language, Money(visit.user.refund_limit or 0, "EUR"))
        message = language.gettext(
            N_("Your refund limit is %(limit)s per payment: ask an owner to refund %(amount)s, or refund less.")
        ) % {"limit": limit, "amount": history.amount(language, amount)}
        errors = [PageError(message, "refund_above_limit", "refund-amount")]
        return _payment_page(request, visit, payment, errors=errors, refund_amount=typed, status=403)
    require_recent_second_factor(request, visit, f"{back}?{urlencode({'amount': typed})}")
    kleline = web_of(request).kleline
    merchant_id = visit.merchant.id

    def run() -> str:
        made = kleline.refunds.refund(merchant_id, payment.id, amount)
        detail: dict[str, Any] = {"refund": made.id, "amount": made.amount.minor, "currency": made.amount.currency}
        kleline.merchant_users.record(visit.actor, "refund_created", payment.id, detail | {"status": made.status})
        return made.id

    try:
        refund_id = once(request, visit.user.id, form, run)
    except KlelineError as error:
        return _refusal_page(request, visit, payment_id, error, typed)
    made = kleline.refunds.get(refund_id)
    done = {"succeeded": "refunded", "pending": "refund_pending"}.get(made.status, "refund_failed")
    return leave_note(request, redirect(back), f"dashboard_{done}")
