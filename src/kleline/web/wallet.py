"""The shopper's wallet as pages (``/wallet`` and below): only its owner may see them, once signed in.

Every page here calls the same services as the API's ``/v1/wallet`` routes; what a page shows is what the API would
answer, worded for a person. The overview (``/wallet``) shows the purse against its limits, its newest movements
(the history's first lines, from the same service, in one query), the cards, the bank accounts with their mandates
and any debt, and takes the forms that act on them: remove a card, remove a bank account (which revokes its
mandate), repay the debt from the purse. Removing asks first, without JavaScript: the overview's button leads to a
page (``/wallet/cards/{id}/remove``, ``/wallet/bank-accounts/{id}/remove``) that says what will go and what removing
it does, whose form posts to the same address. Adding a card or a bank account is
``kleline.web.wallet_forms``; topping up, ``kleline.web.top_up``.
"""

from __future__ import annotations

import functools
from datetime import date
from typing import Any, Final

from babel.dates import format_date
from fastapi import APIRouter, Request
from starlette.responses import Response

from kleline.collections import BankAccount, UnknownBankAccount
from kleline.db.engine import one_row_reads
from kleline.errors import KlelineError, NotFound
from kleline.wallet.model import Card, Customer
from kleline.web.flashes import BANK_ACCOUNT_REMOVED, CARD_REMOVED, DEBT_REPAID, announcement, leave
from kleline.web.history import line
from kleline.web.i18n import N_, language_of
from kleline.web.once import new_form_key, once
from kleline.web.refusals import PageError
from kleline.web.rendering import redirect, render
from kleline.web.visits import Form, Visit, page_context, respond, signed_in_post, signed_in_visit, web_of
from kleline.web.wallet_refusals import NextStep, next_steps, not_found, own_page, wallet_refusal

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

_TITLE: Final = N_("Your wallet")
RECENT: Final = 5
"""How many of the newest movements the overview shows."""
_STATUS: Final = {"purse_empty": 409, "nothing_owed": 409, "collections_pending": 409}


@functools.lru_cache(maxsize=256)
def _month(locale: str, year: int, month: int) -> str:
    """``December 2026`` as ``locale`` writes it: Babel parses the pattern at every call, and a month is the same
    all month long."""
    return str(format_date(date(year, month, 1), "MMMM y", locale=locale))


def _overview(
    request: Request,
    visit: Visit,
    customer: Customer,
    *,
    errors: list[PageError] | None = None,
    steps: list[NextStep] | None = None,
    status: int = 200,
) -> Response:
    kleline = web_of(request).kleline
    language = language_of(request)
    # The purse's figures, the debt and the navigation's unread offers are one row of one statement; the lists
    # travel with it in one round trip. Each statement costs the database its own execution, whatever the trip.
    figures = one_row_reads(
        kleline.top_ups.standing_read(customer),
        kleline.collections.debts.owed_read(customer.id),
        kleline.inbox.unread_read(customer.id),
    )
    with kleline.db.transaction(write=False) as tx:
        (standing, debt, unread), cards, bank_accounts, activity = tx.read_all(
            figures,
            kleline.cards.list_read(customer.id),
            kleline.collections.bank_accounts.list_read(customer.id),
            kleline.payments.activity_read(customer.id, limit=RECENT),
        )
    now = kleline.clock()
    context: dict[str, Any] = page_context(
        visit,
        language.gettext(_TITLE),
        section="wallet",
        errors=errors or [],
        next_steps=steps or [],
        standing=standing,
        month=_month(language.locale, now.year, now.month),
        cards=cards,
        bank_accounts=bank_accounts,
        debt=debt,
        recent=[line(language, item) for item in activity.items],
        unread_offers=lambda: unread,
        form_key=new_form_key(),
        flash=announcement(request, visit),
    )
    context["long_date"] = lambda moment: format_date(moment, "long", locale=language.locale)
    return render(request, "wallet.html", context, status=status)


@router.get("/wallet")
def wallet_page(request: Request) -> Response:
    """The purse against its limits, its newest movements, the cards, the bank accounts and their mandates, and any
    debt."""
    visit = signed_in_visit(request)
    assert visit.customer is not None
    return respond(request, visit, _overview(request, visit, visit.customer))


def _removal(
    request: Request,
    visit: Visit,
    title: str,
    template: str,
    *,
    errors: list[PageError] | None = None,
    status: int = 200,
    **shown: Any,
) -> Response:
    """The page that asks before removing a card or a bank account (``shown``), with the refusal of a removal
    tried from it, if any."""
    language = language_of(request)
    context = page_context(
        visit, language.gettext(title), section="wallet", errors=errors or [], focus_errors=True, **shown
    )
    context["long_date"] = lambda moment: format_date(moment, "long", locale=language.locale)
    return render(request, template, context, status=status)


def _card_removal(request: Request, visit: Visit, card: Card) -> Response:
    return _removal(request, visit, N_("Remove this card?"), "wallet_remove_card.html", card=card)


def _bank_account_removal(
    request: Request,
    visit: Visit,
    account: BankAccount,
    *,
    errors: list[PageError] | None = None,
    status: int = 200,
) -> Response:
    title = N_("Remove this bank account?")
    return _removal(
        request, visit, title, "wallet_remove_bank_account.html", errors=errors, status=status, account=account
    )


@router.get("/wallet/cards/{card_id}/remove")
def remove_card_page(request: Request, card_id: str) -> Response:
    """Ask before removing a card: which card, and what removing it does; another customer's card is not found."""
    cards = web_of(request).kleline.cards
    return own_page(request, lambda customer_id: cards.get(customer_id, card_id), NotFound, _card_removal)


@router.post("/wallet/cards/{card_id}/remove")
def remove_card(request: Request, card_id: str, form: Form) -> Response:
    """Remove one of the customer's cards; another customer's card is not found, as an unknown one."""
    visit, customer = signed_in_post(request, form, back=f"/wallet/cards/{card_id}/remove")
    try:
        web_of(request).kleline.cards.remove(customer.id, card_id)
    except NotFound:
        return not_found(request, visit)
    return leave(request, redirect("/wallet"), CARD_REMOVED)


@router.get("/wallet/bank-accounts/{bank_account_id}/remove")
def remove_bank_account_page(request: Request, bank_account_id: str) -> Response:
    """Ask before removing a bank account: which account, and that its mandate is revoked with it."""
    accounts = web_of(request).kleline.collections.bank_accounts
    return own_page(
        request,
        lambda customer_id: accounts.get(customer_id, bank_account_id),
        UnknownBankAccount,
        _bank_account_removal,
    )


@router.post("/wallet/bank-accounts/{bank_account_id}/remove")
def remove_bank_account(request: Request, bank_account_id: str, form: Form) -> Response:
    """Remove one of the customer's bank accounts, which revokes its direct debit mandate; a refusal (collections
    still waiting to be sent) is explained on the page that asked."""
    visit, customer = signed_in_post(request, form, back=f"/wallet/bank-accounts/{bank_account_id}/remove")
    language = language_of(request)
    accounts = web_of(request).kleline.collections.bank_accounts
    try:
        accounts.remove(customer.id, bank_account_id)
    except UnknownBankAccount:
        return not_found(request, visit)
    except KlelineError as error:
        refusal = wallet_refusal(error, language)
        status = _STATUS.get(error.code, 400)
        try:
            account = accounts.get(customer.id, bank_account_id)
        except UnknownBankAccount:  # removed by another tab in between
            return not_found(request, visit)
        errors = [PageError(refusal.message, refusal.code)]
        return _bank_account_removal(request, visit, account, errors=errors, status=status)
    return leave(request, redirect("/wallet"), BANK_ACCOUNT_REMOVED)


@router.post("/wallet/debt/repay")
def repay_debt(request: Request, form: Form) -> Response:
    """Repay the debt from the purse: what it has available, up to what is owed (once, however often it is sent)."""
    visit, customer = signed_in_post(request, form, back="/wallet")
    language = language_of(request)
    debts = web_of(request).kleline.collections.debts
    try:
        once(request, customer.id, form, lambda: debts.repay(customer.id).id)
    except KlelineError as error:
        refusal = wallet_refusal(error, language)
        steps = next_steps(error.code, language)
        status = _STATUS.get(error.code, 400)
        errors = [PageError(refusal.message, refusal.code)]
        return _overview(request, visit, customer, errors=errors, steps=steps, status=status)
    return leave(request, redirect("/wallet"), DEBT_REPAID)
