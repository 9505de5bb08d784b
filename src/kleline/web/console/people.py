"""Customers and merchants as the staff look them up (``/console/customers``, ``/console/merchants``), for every role
that reads: a search box (the beginning of an id, an email address or a name), its results, and one customer's wallet
(purse, cards masked to their first six and last four digits, verification level, latest payments) or one merchant's
profile (IBAN masked), status, commission, balance, latest payments and people.

The pages read the same services as the API's staff look-ups (``customers.search``, ``merchants.search``,
``lookup.customer``, ``lookup.merchant``). Two forms act through the API's services, each shown only to a role with
its power and checked again on its post (the 403 page otherwise, nothing written): a customer's verification level,
with a reason kept in the staff audit trail (``customers.set_level``, ``verify_customers``), and proposals of a new
commission rate or introduction fee rate (issue 15) for a merchant, which a second person approves on the proposals
page (``proposals.propose_commission_rate``, ``proposals.propose_intro_fee_rate``, ``decide_merchants``). A
merchant's page links to its pending proposals.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Final

from babel.numbers import format_percent
from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from kleline.errors import KlelineError, NotFound
from kleline.ledger import Balance
from kleline.merchants.model import (
    MAX_FEE_BPS,
    MAX_INTRO_FEE_BPS,
    MIN_FEE_BPS,
    MIN_INTRO_FEE_BPS,
    mask_iban,
)
from kleline.money import Money
from kleline.payments.model import Payment
from kleline.proposals.model import Proposal, ProposalKind
from kleline.staff.actor import RoleForbids, StaffActor
from kleline.staff.roles import Power
from kleline.wallet.customers import SEARCH_LIMIT, level_problems
from kleline.web.console.bank_change_views import bank_change_review
from kleline.web.console.proposals import proposals_of
from kleline.web.console.visits import ConsoleVisit, console_context, console_form, console_page, refused, respond
from kleline.web.console.wording import console_error, leave_note, note_of
from kleline.web.dashboard.payments import STATUS_NAMES as PAYMENT_STATUS_NAMES
from kleline.web.dashboard.wording import ROLE_NAMES as MERCHANT_ROLE_NAMES
from kleline.web.dashboard.wording import STATUS_NAMES as MERCHANT_STATUS_NAMES
from kleline.web.i18n import N_, Language, language_of
from kleline.web.refusals import PageError
from kleline.web.rendering import redirect, render
from kleline.web.security import when
from kleline.web.visits import Form, web_of

__all__ = ["CUSTOMERS", "MERCHANTS", "router", "show_merchant"]

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
Verifier = Annotated[ConsoleVisit, Depends(console_form(Power.VERIFY_CUSTOMERS, back=CUSTOMERS))]
Decider = Annotated[ConsoleVisit, Depends(console_form(Power.DECIDE_MERCHANTS, back=MERCHANTS))]
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


def _customer_page(
    request: Request,
    visit: ConsoleVisit,
    customer_id: str,
    *,
    errors: list[PageError] | None = None,
    typed: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
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
        errors=errors or [],
        flash=note_of(request, signed_in=True) if status == 200 else None,
        person=customer,
        level=language.gettext(_LEVELS.get(customer.kyc_level, customer.kyc_level)),
        levels=[(value, language.gettext(name)) for value, name in _LEVELS.items()],
        may_verify=visit.may(Power.VERIFY_CUSTOMERS),
        typed=typed or {"level": "unverified" if customer.kyc_level == "verified" else "verified", "reason": ""},
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
    return respond(request, visit, render(request, "console/customer.html", context, status=status))


@router.get(CUSTOMERS + "/{customer_id}")
def customer_page(request: Request, visit: Reader, customer_id: str) -> Response:
    """A customer's wallet: purse, cards (masked), verification level, second factor, latest payments; the form
    that sets the level, for a role that verifies customers."""
    return _customer_page(request, visit, customer_id)


@router.post(CUSTOMERS + "/{customer_id}/verification-level")
def set_verification_level(request: Request, customer_id: str, form: Form, visit: Verifier) -> Response:
    """Set the customer's verification level, saying why (kept in the staff audit trail)."""
    language = language_of(request)
    level, reason = form.get("level", "").strip(), form.get("reason", "").strip()
    typed = {"level": level, "reason": reason}
    fields = {"level": "level", "reason": "reason"}
    wording = {
        "level": N_("Choose the level: verified or not verified"),
        "reason": N_("Say why, in at most 500 characters on one line: the audit trail keeps it"),
    }
    problems = [
        PageError(language.gettext(wording[error.param]), error.code, fields[error.param])
        if error.param in wording
        else console_error(error, fields, language)
        for error in level_problems(level, reason)
    ]
    unchanged = False
    if not problems:
        customers = web_of(request).kleline.customers
        try:
            unchanged = customers.get(customer_id[:64]).kyc_level == level  # set_level then records nothing
            customers.set_level(customer_id[:64], level, actor=visit.actor, reason=reason)
        except RoleForbids as error:
            raise refused(request, visit, console_error(error, language=language).message) from None
        except NotFound:
            raise refused(request, visit, language.gettext(N_("No customer has this id.")), status=404) from None
        except KlelineError as error:
            problems.append(console_error(error, fields, language))
    if problems:
        return _customer_page(request, visit, customer_id, errors=problems, typed=typed, status=400)
    note = "console_level_unchanged" if unchanged else "console_level_set"
    return leave_note(request, redirect(f"{CUSTOMERS}/{customer_id}"), note)


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


def show_merchant(
    request: Request,
    visit: ConsoleVisit,
    merchant_id: str,
    *,
    errors: list[PageError] | None = None,
    typed: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    """The merchant's page; with ``errors``, the answer to one of its forms, what was ``typed`` in it kept."""
    language = language_of(request)
    try:
        summary = web_of(request).kleline.lookup.merchant(merchant_id[:64])
    except NotFound:
        raise refused(request, visit, language.gettext(N_("No merchant has this id.")), status=404) from None
    merchant = summary.merchant
    currency = summary.balance.currency if summary.balance is not None else "EUR"
    pending = proposals_of(request, ProposalKind.COMMISSION_RATE, merchant.id)
    pending += proposals_of(request, ProposalKind.INTRO_FEE_RATE, merchant.id)
    pending += proposals_of(request, ProposalKind.BANK_ACCOUNT, merchant.id)
    context: dict[str, Any] = console_context(
        visit,
        merchant.name,
        section="merchants",
        errors=errors or [],
        flash=note_of(request, signed_in=True) if status == 200 else None,
        shop=merchant,
        iban=mask_iban(merchant.iban),
        status=language.gettext(MERCHANT_STATUS_NAMES.get(merchant.status, merchant.status)),
        commission=_percent(merchant.fee_bps, language),
        introduction_fee=_percent(merchant.intro_fee_bps, language),
        proposals=pending,
        may_propose_rate=visit.may(Power.DECIDE_MERCHANTS) and merchant.status in ("active", "suspended"),
        rate_hint=language.gettext(N_("From %(low)s to %(high)s, such as %(example)s"))
        % {
            "low": _percent(MIN_FEE_BPS, language),
            "high": _percent(MAX_FEE_BPS, language),
            "example": _number(380, language),
        },
        intro_rate_hint=language.gettext(
            N_("From %(low)s to %(high)s, such as %(example)s, on the payments of customers its offers introduced")
        )
        % {
            "low": _percent(MIN_INTRO_FEE_BPS, language),
            "high": _percent(MAX_INTRO_FEE_BPS, language),
            "example": _number(500, language),
        },
        typed={"rate": "", "intro_rate": "", "bank_reason": "", **(typed or {})},
        bank_change=bank_change_review(request, merchant.id, language),
        may_decide_bank_change=visit.may(Power.DECIDE_MERCHANTS),
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
    return respond(request, visit, render(request, "console/merchant.html", context, status=status))


def _percent(bps: int, language: Language) -> str:
    return format_percent(Decimal(bps) / 10_000, locale=language.locale, decimal_quantization=False)


def _number(bps: int, language: Language) -> str:
    """A rate in percent as a clerk types it (3.8, or 3,8 in French)."""
    return _percent(bps, language).replace("%", "").replace("\u00a0", "").replace("\u202f", "").strip()


def _rate_bps(text: str) -> int | None:
    """The basis points of a rate typed in percent (``3.8``, ``3,8``, ``3.8 %``), or None when it is not one."""
    cleaned = text.replace("%", "").replace(",", ".").replace("\u00a0", "").replace("\u202f", "").strip()
    try:
        bps = Decimal(cleaned) * 100
    except InvalidOperation:
        return None
    if not bps.is_finite() or bps != bps.to_integral_value():
        return None
    return int(bps)


@router.get(MERCHANTS + "/{merchant_id}")
def merchant_page(request: Request, visit: Reader, merchant_id: str) -> Response:
    """A merchant's profile (IBAN masked), status, commission, balance, latest payments and people; its pending
    proposals; the form that proposes a new commission rate, for a role that decides merchants."""
    return show_merchant(request, visit, merchant_id)


@dataclass(frozen=True, slots=True)
class _RateForm:
    """One of the merchant page's rate forms: its field, the rate's bounds, its wording, and the proposal it makes."""

    field: str
    param: str
    low: int
    high: int
    example: int
    missing: str
    pending: str
    note: str
    propose: Callable[[Request, StaffActor, str, int], Proposal]


_COMMISSION_RATE: Final = _RateForm(
    "rate",
    "fee_bps",
    MIN_FEE_BPS,
    MAX_FEE_BPS,
    380,
    N_("Enter the new commission rate, in percent"),
    N_("A change of this merchant’s rate already waits for a second person: see its proposal."),
    "console_rate_proposed",
    lambda request, actor, merchant_id, bps: web_of(request).kleline.proposals.propose_commission_rate(
        actor, merchant_id, bps
    ),
)
_INTRO_FEE_RATE: Final = _RateForm(
    "intro_rate",
    "intro_fee_bps",
    MIN_INTRO_FEE_BPS,
    MAX_INTRO_FEE_BPS,
    500,
    N_("Enter the new introduction fee rate, in percent"),
    N_("A change of this merchant’s introduction fee already waits for a second person: see its proposal."),
    "console_intro_rate_proposed",
    lambda request, actor, merchant_id, bps: web_of(request).kleline.proposals.propose_intro_fee_rate(
        actor, merchant_id, bps
    ),
)


@router.post(MERCHANTS + "/{merchant_id}/commission-rate")
def propose_commission_rate(request: Request, merchant_id: str, form: Form, visit: Decider) -> Response:
    """Propose a new commission rate: nothing changes until a second person approves it on the proposals page."""
    return _propose_rate(request, merchant_id, form, visit, _COMMISSION_RATE)


@router.post(MERCHANTS + "/{merchant_id}/intro-fee-rate")
def propose_intro_fee_rate(request: Request, merchant_id: str, form: Form, visit: Decider) -> Response:
    """Propose a new introduction fee rate (issue 15), as the commission rate is: a second person approves it."""
    return _propose_rate(request, merchant_id, form, visit, _INTRO_FEE_RATE)


def _propose_rate(request: Request, merchant_id: str, form: Form, visit: ConsoleVisit, rate: _RateForm) -> Response:
    """Check the rate typed in ``rate``'s field and propose it; the merchant's page with the problems otherwise."""
    language = language_of(request)
    _ = language.gettext
    typed = {rate.field: form.get(rate.field, "").strip()[:20]}
    bps = _rate_bps(typed[rate.field])
    problems: list[PageError] = []
    if not typed[rate.field]:
        problems.append(PageError(_(rate.missing), "required", rate.field))
    elif bps is None or not rate.low <= bps <= rate.high:
        message = _("Enter a rate from %(low)s to %(high)s, with at most two decimals, such as %(example)s") % {
            "low": _percent(rate.low, language),
            "high": _percent(rate.high, language),
            "example": _number(rate.example, language),
        }
        problems.append(PageError(message, "validation_error", rate.field))
    else:
        try:
            rate.propose(request, visit.actor, merchant_id[:64], bps)
        except RoleForbids as error:
            raise refused(request, visit, console_error(error, language=language).message) from None
        except NotFound:
            raise refused(request, visit, _("No merchant has this id."), status=404) from None
        except KlelineError as error:
            if error.code == "proposal_pending":
                problems.append(PageError(_(rate.pending), error.code, rate.field))
            else:
                problems.append(console_error(error, {rate.param: rate.field}, language))
    if problems:
        status = 409 if problems[0].code in {"proposal_pending", "invalid_status_transition"} else 400
        return show_merchant(request, visit, merchant_id, errors=problems, typed=typed, status=status)
    return leave_note(request, redirect(f"{MERCHANTS}/{merchant_id}"), rate.note)
