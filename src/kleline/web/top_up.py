"""Topping up the purse from a page (``/wallet/top-up``): from one of the wallet's cards or by direct debit of one of
its bank accounts, through the same services as ``POST /v1/wallet/top-ups``.

The form is sent once (``kleline.web.once``), then:
- the top-up succeeded: to the wallet, which confirms it;
- the card's bank declined it: the form again, saying why and what to do (another card, a direct debit);
- strong authentication is due: to the top-up's own page (``/wallet/top-up/{id}?challenge=...``, in
  ``kleline.web.top_up_challenge``), which passes the challenge with a passkey or the authenticator app's code (the
  challenge is bound to the amount and to the purse as payee, and is the customer's own: another customer's is not
  found);
- a refusal (the limits, a debt outstanding, no authenticator app yet): the form again, with the way out.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Final
from urllib.parse import urlencode

from babel.numbers import format_decimal
from fastapi import APIRouter, Request
from starlette.responses import Response

from kleline.bootstrap import Kleline
from kleline.errors import KlelineError
from kleline.money import Money
from kleline.wallet.customers import PURSE_CURRENCY
from kleline.wallet.model import Customer, TopUp
from kleline.web.declines import NO_ANSWER, decline_reason
from kleline.web.flashes import TOPPED_UP, announcement, leave
from kleline.web.i18n import N_, Language, language_of
from kleline.web.once import new_form_key, once
from kleline.web.paths import return_path
from kleline.web.refusals import PageError, because
from kleline.web.rendering import redirect, render
from kleline.web.visits import Form, Visit, page_context, respond, signed_in_post, signed_in_visit, web_of
from kleline.web.wallet_refusals import NextStep, next_steps, wallet_refusal

__all__ = ["FIELDS", "PATH", "form_page", "outcome", "refused", "router", "start"]

router = APIRouter(include_in_schema=False)

PATH: Final = "/wallet/top-up"
_AMOUNT: Final = re.compile(r"([0-9]{1,9})(?:[.,]([0-9]{1,2}))?")
_NO_ANSWER: Final = N_("the card's bank did not answer")
FIELDS: Final = {"amount": "amount", "card_id": "source", "bank_account_id": "source", "sca_code": "sca_code"}


def parse_amount(text: str) -> Money | None:
    """An amount in euros as a person types it (``50``, ``12.50``, ``12,5``, ``€ 50``), or None."""
    compact = re.sub(r"[\s\u00a0\u202f€]|EUR", "", text, flags=re.IGNORECASE)
    found = _AMOUNT.fullmatch(compact)
    if found is None:
        return None
    cents = (found.group(2) or "").ljust(2, "0")
    return Money(int(found.group(1)) * 100 + int(cents), PURSE_CURRENCY)


def form_page(
    request: Request,
    visit: Visit,
    customer: Customer,
    *,
    next_url: str | None = None,
    amount: str = "",
    source: str | None = None,
    errors: list[PageError] | None = None,
    steps: list[NextStep] | None = None,
    status: int = 200,
) -> Response:
    """The top-up form, with what was typed, the refusals and their way out."""
    kleline = web_of(request).kleline
    cards = kleline.cards.list(customer.id)
    accounts = kleline.collections.bank_accounts.list(customer.id)
    ids = [card.id for card in cards] + [account.id for account in accounts]
    context = page_context(
        visit,
        language_of(request).gettext(N_("Top up your purse")),
        section="top-up",
        errors=errors or [],
        next_steps=steps or [],
        standing=kleline.top_ups.standing(customer),
        exemption=kleline.strong_auth.policy.single_limit,
        cards=cards,
        bank_accounts=accounts,
        amount=amount,
        source=source if source in ids else (ids[0] if len(ids) == 1 else None),
        form_key=new_form_key(),
        next=next_url or "",
        flash=announcement(request, visit),
    )
    return render(request, "top_up.html", context, status=status)


@router.get(PATH)
def top_up_page(request: Request, source: str | None = None, next: str | None = None) -> Response:
    """The top-up form: how much, and from which card or bank account (and, with ``next``, where to go after)."""
    visit = signed_in_visit(request)
    assert visit.customer is not None
    page = form_page(request, visit, visit.customer, source=source, next_url=return_path(next))
    return respond(request, visit, page)


def start(kleline: Kleline, customer_id: str, amount: Money, source: str) -> str:
    """Start the top-up; ``"top_... sca_..."`` when a challenge must be passed, else its id."""
    if source.startswith("ba_"):
        top_up = kleline.collections.top_ups.top_up(customer_id, amount, source).top_up
    else:
        top_up = kleline.top_ups.top_up(customer_id, amount, source)
    return f"{top_up.id} {top_up.challenge_id}" if top_up.challenge_id else top_up.id


def refused(
    language: Language, error: KlelineError, source: str, standing_room: Money | None = None
) -> tuple[list[PageError], list[NextStep], int]:
    """A refused top-up as the form shows it: the error next to its field, the way out, the status."""
    refusal = wallet_refusal(error, language, FIELDS)
    message = refusal.message
    if error.code == "limit_exceeded" and standing_room is not None:
        room = language.gettext(N_("you can top up at most %(amount)s now")) % {"amount": language.money(standing_room)}
        message = because(language, message, room)
    field = refusal.field or ("amount" if error.code == "limit_exceeded" else "source")
    status = error.status if 400 <= error.status < 500 else 400
    return (
        [PageError(message, refusal.code, field)],
        next_steps(error.code, language, via_card=source.startswith("card_")),
        status,
    )


def outcome(
    request: Request, visit: Visit, customer: Customer, result: str, source: str, next_url: str | None
) -> Response:
    """Where a top-up's result leads: the wallet (or ``next_url``), its challenge, or the form with the card's
    decline."""
    kleline = web_of(request).kleline
    top_up_id, _, challenge_id = result.partition(" ")
    top_up = kleline.top_ups.get(customer.id, top_up_id)
    if top_up.status == "requires_action" and challenge_id:
        query = {"challenge": challenge_id} | ({"next": next_url} if next_url else {})
        return redirect(f"{PATH}/{top_up.id}?{urlencode(query)}")
    if top_up.status == "failed":
        return _declined(request, visit, customer, top_up, source, next_url)
    return leave(request, redirect(next_url or "/wallet"), TOPPED_UP, top_up.id)


def _declined(
    request: Request, visit: Visit, customer: Customer, top_up: TopUp, source: str, next_url: str | None
) -> Response:
    language = language_of(request)
    reason = decline_reason(top_up.failure_code, language)
    if top_up.failure_code == NO_ANSWER:
        reason = language.gettext(_NO_ANSWER)
    message = language.gettext(N_("Your card's bank declined this top-up"))
    if reason:
        message = because(language, message, reason)
    code = top_up.failure_code or "card_declined"
    error = PageError(message, code, "source")
    amount = format_decimal(Decimal(top_up.amount.minor) / 100, format="#0.00", locale=language.locale)
    steps = next_steps("card_declined", language)
    return form_page(
        request,
        visit,
        customer,
        next_url=next_url,
        amount=amount,
        source=source,
        errors=[error],
        steps=steps,
        status=402,
    )


@router.post(PATH)
def top_up(request: Request, form: Form) -> Response:
    """Top up from the chosen source; every problem with the form is shown at once."""
    visit, customer = signed_in_post(request, form, back=PATH)
    language = language_of(request)
    _ = language.gettext
    kleline = web_of(request).kleline
    typed, source = form.get("amount", "").strip(), form.get("source", "")
    next_url = return_path(form.get("next"))
    errors: list[PageError] = []
    amount = parse_amount(typed)
    if not typed:
        errors.append(PageError(_("Enter how much to add, in euros"), "validation_error", "amount"))
    elif amount is None:
        errors.append(PageError(_("Enter an amount in euros, such as 50 or 12.50"), "validation_error", "amount"))
    elif amount.minor <= 0:
        errors.append(PageError(_("Enter an amount above zero"), "validation_error", "amount"))
    owned = {card.id for card in kleline.cards.list(customer.id)}
    owned |= {account.id for account in kleline.collections.bank_accounts.list(customer.id)}
    if source not in owned:
        message = _("Choose where the money comes from: one of your cards or bank accounts")
        errors.append(PageError(message, "validation_error", "source"))
        source = ""
    if errors or amount is None:
        return form_page(
            request, visit, customer, next_url=next_url, amount=typed, source=source, errors=errors, status=400
        )
    try:
        result = once(request, customer.id, form, lambda: start(kleline, customer.id, amount, source))
    except KlelineError as error:
        room = kleline.top_ups.standing(customer).top_up_room
        errors, steps, status = refused(language, error, source, room)
        return form_page(
            request,
            visit,
            customer,
            next_url=next_url,
            amount=typed,
            source=source,
            errors=errors,
            steps=steps,
            status=status,
        )
    return outcome(request, visit, customer, result, source, next_url)
