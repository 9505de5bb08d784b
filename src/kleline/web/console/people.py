"""Customers and merchants as the staff look them up (``/console/customers``, ``/console/merchants``), for every role
that reads: a search box (the beginning of an id, an email address or a name), its results, and one customer's wallet
(purse, cards masked to their first six and last four digits, verification level, latest payments) or one merchant's
profile (IBAN masked), status, commission, balance, latest payments and people.

The pages read the same services as the API's staff look-ups (``customers.search``, ``merchants.search``,
``lookup.customer``, ``lookup.merchant``); nothing here changes anything.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Final

from babel.numbers import format_percent
from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from kleline.errors import NotFound
from kleline.ledger import Balance
from kleline.merchants.model import mask_iban
from kleline.money import Money
from kleline.payments.model import Payment
from kleline.staff.roles import Power
from kleline.wallet.customers import SEARCH_LIMIT
from kleline.web.console.visits import ConsoleVisit, console_context, console_page, refused, respond
from kleline.web.dashboard.payments import STATUS_NAMES as PAYMENT_STATUS_NAMES
from kleline.web.dashboard.wording import ROLE_NAMES as MERCHANT_ROLE_NAMES
from kleline.web.dashboard.wording import STATUS_NAMES as MERCHANT_STATUS_NAMES
from kleline.web.i18n import N_, Language, language_of
from kleline.web.rendering import render
from kleline.web.security import when
from kleline.web.visits import web_of

__all__ = ["CUSTOMERS", "MERCHANTS", "router"]

router = APIRouter(include_in_schema=False)

CUSTOMERS: Final = "/console/customers"
MERCHANTS: Final = "/console/merchants"
_RESULTS: Final = 20
_AUTHENTICATOR: Final = {
    "none": N_("none"),
    "pending": N_("being set up"),
    "confirmed": N_("set up"),
}

_LEVELS: Final = {"unverified": N_("not verified"), "verified": N_("verified")}

Reader = Annotated[ConsoleVisit, Depends(console_page(Power.READ))]
Query_ = Annotated[str, Query(max_length=SEARCH_LIMIT)]


def _payments(payments: tuple[Payment, ...], names: dict[str, str], language: Language) -> list[dict[str, str]]:
    return [
        {
            "id": payment.id,
            "when": when(payment.created_at, language),
            "amount": language.money(payment.amount),
            "status": language.gettext(PAYMENT_STATUS_NAMES.get(payment.status, payment.status)),
            "merchant": names.get(payment.merchant_id, payment.merchant_id),
            "description": payment.description or "",
        }
        for payment in payments
    ]


def _balance(balance: Balance, language: Language) -> dict[str, str]:
    def money(minor: int) -> str:
        return language.money(Money(minor, balance.currency))

    return {"posted": money(balance.posted), "held": money(balance.held), "available": money(balance.available)}


def _search_page(
    request: Request, visit: ConsoleVisit, *, section: str, title: str, query: str, results: list[dict[str, str]],
    more: bool,
) -> Response:  # fmt: skip
    context = console_context(
        visit, title, section=section, query=query, results=results, more=more, searched=bool(query)
    )
    return respond(request, visit, render(request, "console/lookup.html", context))


@router.get(CUSTOMERS)
def customers_page(request: Request, visit: Reader, q: Query_ = "") -> Response:
    """Search customers by the beginning of their id, email address or name."""
    language = language_of(request)
    query = q.strip()
    found, more = web_of(request).kleline.customers.search(query, limit=_RESULTS) if query else ([], False)
    results = [{"href": f"{CUSTOMERS}/{c.id}", "title": c.name, "detail": f"{c.email} · {c.id}"} for c in found]
    title = language.gettext(N_("Customers"))
    return _search_page(request, visit, section="customers", title=title, query=query, results=results, more=more)


@router.get(CUSTOMERS + "/{customer_id}")
def customer_page(request: Request, visit: Reader, customer_id: str) -> Response:
    """A customer's wallet: purse, cards (masked), verification level, second factor, latest payments."""
    language = language_of(request)
    try:
        summary = web_of(request).kleline.lookup.customer(customer_id[:64])
    except NotFound:
        raise refused(request, visit, language.gettext(N_("No customer has this id.")), status=404) from None
    customer = summary.customer
    context: dict[str, Any] = console_context(
        visit,
        customer.name,
        section="customers",
        person=customer,
        level=language.gettext(_LEVELS.get(customer.kyc_level, customer.kyc_level)),
        since=when(customer.created_at, language),
        purse=None if summary.purse is None else _balance(summary.purse, language),
        cards=[
            {
                "brand": card.brand.capitalize(),
                "number": f"{card.first6}******{card.last4}",
                "expires": f"{card.exp_month:02d}/{card.exp_year}",
                "holder": card.holder_name,
            }
            for card in summary.cards
        ],
        authenticator=language.gettext(_AUTHENTICATOR.get(summary.authenticator, summary.authenticator)),
        payments=_payments(summary.payments, summary.merchant_names, language),
        more_payments=summary.more_payments,
    )
    return respond(request, visit, render(request, "console/customer.html", context))


@router.get(MERCHANTS)
def merchants_page(request: Request, visit: Reader, q: Query_ = "") -> Response:
    """Search merchants by the beginning of their id, email address or name."""
    language = language_of(request)
    query = q.strip()
    found, more = web_of(request).kleline.merchants.search(query, limit=_RESULTS) if query else ([], False)
    results = [
        {
            "href": f"{MERCHANTS}/{m.id}",
            "title": m.name,
            "detail": f"{m.email} · {m.id} · {language.gettext(MERCHANT_STATUS_NAMES.get(m.status, m.status))}",
        }
        for m in found
    ]
    title = language.gettext(N_("Merchants"))
    return _search_page(request, visit, section="merchants", title=title, query=query, results=results, more=more)


@router.get(MERCHANTS + "/{merchant_id}")
def merchant_page(request: Request, visit: Reader, merchant_id: str) -> Response:
    """A merchant's profile (IBAN masked), status, commission, balance, latest payments and people."""
    language = language_of(request)
    try:
        summary = web_of(request).kleline.lookup.merchant(merchant_id[:64])
    except NotFound:
        raise refused(request, visit, language.gettext(N_("No merchant has this id.")), status=404) from None
    merchant = summary.merchant
    currency = summary.balance.currency if summary.balance is not None else "EUR"
    context: dict[str, Any] = console_context(
        visit,
        merchant.name,
        section="merchants",
        shop=merchant,
        iban=mask_iban(merchant.iban),
        status=language.gettext(MERCHANT_STATUS_NAMES.get(merchant.status, merchant.status)),
        commission=format_percent(
            Decimal(merchant.fee_bps) / 10_000, locale=language.locale, decimal_quantization=False
        ),
        since=when(merchant.created_at, language),
        balance=None if summary.balance is None else _balance(summary.balance, language),
        pending=language.money(Money(summary.pending, currency)),
        payments=_payments(summary.payments, {merchant.id: merchant.name}, language),
        more_payments=summary.more_payments,
        users=[
            {
                "name": user.name,
                "email": user.email,
                "role": language.gettext(MERCHANT_ROLE_NAMES.get(user.role, user.role)),
                "second_factor": user.has_second_factor,
            }
            for user in summary.users
        ],
    )
    return respond(request, visit, render(request, "console/merchant.html", context))
