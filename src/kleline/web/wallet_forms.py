"""Adding to the wallet: a card (``/wallet/cards/new``, the checkout's form and checks) and a bank account with its
SEPA direct debit mandate (``/wallet/bank-accounts/new``: the IBAN checked, the mandate signed by ticking it).

Each form reports every problem at once, keeps what was typed (never a card number or a security code), and on
success sends the customer on with a confirmation: to the top-up page when they came from it, else the wallet.
"""

from __future__ import annotations

from typing import Final
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.responses import Response

from kleline.errors import KlelineError
from kleline.wallet.model import Customer
from kleline.web.card_form import EMPTY_CARD_FORM, add_card_to_wallet
from kleline.web.flashes import BANK_ACCOUNT_ADDED, CARD_ADDED, leave
from kleline.web.i18n import N_, language_of
from kleline.web.refusals import PageError, in_form_order
from kleline.web.rendering import redirect, render
from kleline.web.visits import Form, Visit, page_context, respond, signed_in_post, signed_in_visit, web_of
from kleline.web.wallet_refusals import wallet_refusal

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

_TOP_UP: Final = "/wallet/top-up"
_ORDER: Final = ("iban", "holder_name", "mandate")  # the fields as the page shows them, and the summary lists them
_BANK_FIELDS: Final = {"iban": "iban", "bic": "iban", "holder_name": "holder_name", "mandate_accepted": "mandate"}


def _onward(next_page: str | None, object_id: str) -> str:
    """Where an added card or account leads: back to the top-up, with it chosen, or to the wallet."""
    return f"{_TOP_UP}?{urlencode({'source': object_id})}" if next_page == _TOP_UP else "/wallet"


def _next_of(value: str | None) -> str:
    return _TOP_UP if value == _TOP_UP else "/wallet"


def _card_page(
    request: Request,
    visit: Visit,
    next_page: str,
    *,
    errors: list[PageError] | None = None,
    shown: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    context = page_context(
        visit,
        language_of(request).gettext(N_("Add a card")),
        section="wallet",
        errors=errors or [],
        card_errors=errors or [],
        card_form=shown or EMPTY_CARD_FORM,
        card_action="/wallet/cards/new",
        card_button_class="",
        next_page=next_page,
    )
    return render(request, "wallet_card.html", context, status=status)


@router.get("/wallet/cards/new")
def new_card_page(request: Request, next: str | None = None) -> Response:  # noqa: A002 (the query's name)
    """The form to add a card to the wallet."""
    visit = signed_in_visit(request)
    return respond(request, visit, _card_page(request, visit, _next_of(next)))


@router.post("/wallet/cards/new")
def add_card(request: Request, form: Form) -> Response:
    """Register the card after its issuer's check (nothing is charged), then go on."""
    visit, customer = signed_in_post(request, form, back="/wallet/cards/new")
    next_page = _next_of(form.get("next"))
    entry = add_card_to_wallet(web_of(request).kleline, customer.id, form, language_of(request))
    if entry.card is None:
        return _card_page(request, visit, next_page, errors=entry.errors, shown=entry.form, status=entry.status)
    return leave(request, redirect(_onward(next_page, entry.card.id)), CARD_ADDED, entry.card.id)


def _bank_page(
    request: Request,
    visit: Visit,
    customer: Customer,
    next_page: str,
    *,
    errors: list[PageError] | None = None,
    shown: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    context = page_context(
        visit,
        language_of(request).gettext(N_("Add a bank account")),
        section="wallet",
        errors=errors or [],
        bank_form=shown or {"iban": "", "holder_name": customer.name, "mandate": ""},
        creditor=web_of(request).kleline.own_account,
        next_page=next_page,
    )
    return render(request, "wallet_bank_account.html", context, status=status)


@router.get("/wallet/bank-accounts/new")
def new_bank_account_page(request: Request, next: str | None = None) -> Response:  # noqa: A002
    """The form to add a bank account and sign its direct debit mandate."""
    visit = signed_in_visit(request)
    assert visit.customer is not None
    return respond(request, visit, _bank_page(request, visit, visit.customer, _next_of(next)))


@router.post("/wallet/bank-accounts/new")
def add_bank_account(request: Request, form: Form) -> Response:
    """Check the account, sign its mandate and add it; every problem is shown at once."""
    visit, customer = signed_in_post(request, form, back="/wallet/bank-accounts/new")
    language = language_of(request)
    next_page = _next_of(form.get("next"))
    accounts = web_of(request).kleline.collections.bank_accounts
    iban, name = form.get("iban", "").strip(), form.get("holder_name", "").strip()
    accepted = form.get("mandate_accepted") == "yes"
    shown = {"iban": iban, "holder_name": name, "mandate": "yes" if accepted else ""}
    problems = accounts.problems(iban, name, mandate_accepted=accepted)
    try:
        if not problems:
            account = accounts.register(customer.id, iban, name, mandate_accepted=accepted)
            return leave(request, redirect(_onward(next_page, account.id)), BANK_ACCOUNT_ADDED, account.id)
    except KlelineError as error:
        problems = [error]
    errors = [wallet_refusal(problem, language, _BANK_FIELDS) for problem in problems]
    errors = [error if error.field else PageError(error.message, error.code, "iban") for error in errors]
    errors = in_form_order(errors, _ORDER)
    return _bank_page(request, visit, customer, next_page, errors=errors, shown=shown, status=_status(problems))


def _status(problems: list[KlelineError]) -> int:
    statuses = {problem.status for problem in problems}
    if len(statuses) == 1:
        (status,) = statuses
        if 400 <= status < 500:
            return status
    return 400
