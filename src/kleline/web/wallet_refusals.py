"""How the wallet's pages word a service's refusal, and what they offer to do next (a link to the page that fixes
it: top up, repay the debt, set up an authenticator app, add another card), in every language.

The wording here is the page's own for the codes a shopper meets in the wallet; any other code is worded by
``kleline.web.refusals.page_error`` (the service's sentence in English, or the catalog's wording).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final, TypeVar

from starlette.requests import Request
from starlette.responses import Response

from kleline.errors import KlelineError
from kleline.web.i18n import N_, Language, language_of
from kleline.web.refusals import PageError, page_error
from kleline.web.rendering import render
from kleline.web.visits import Visit, page_context, respond, signed_in_visit

__all__ = ["NextStep", "next_steps", "not_found", "own_page", "wallet_refusal"]

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class NextStep:
    """What to do about a refusal: a sentence and the links (address, label) to the pages where it is done."""

    text: str
    links: tuple[tuple[str, str], ...]


_MESSAGES: Final[dict[tuple[str, str | None], str]] = {
    ("limit_exceeded", None): N_("This top-up would take your purse past its limits"),
    ("receivable_outstanding", None): N_(
        "A direct debit from your bank account came back unpaid: repay what you owe before topping up by direct debit"
    ),
    ("sca_enrolment_required", None): N_(
        "This top-up needs strong authentication, and your wallet has no authenticator app yet"
    ),
    ("sca_challenge_expired", None): N_("The code came too late: enter the code your app shows now"),
    ("purse_empty", None): N_("Your purse has nothing available to repay your debt with"),
    ("nothing_owed", None): N_("You owe nothing: there is no debt to repay"),
    ("collections_pending", None): N_(
        "Direct debits from this account are waiting to be collected: you can remove it once they are sent, "
        "in a few days"
    ),
    ("mandate_required", None): N_("Tick the box to sign the direct debit mandate"),
    ("validation_error", "holder_name"): N_("Enter the account holder's name (1 to 70 characters)"),
    ("invalid_iban", None): N_("Check the IBAN: it is not a valid IBAN of the SEPA zone"),
    ("invalid_bic", None): N_("Check the BIC: it does not match this IBAN's bank"),
    ("bank_account_exists", None): N_("This bank account is already in your wallet"),
    ("idempotency_request_in_progress", None): N_(
        "This form is being processed already: look at your wallet in a moment"
    ),
    ("idempotency_key_reused", None): N_("This form was sent already: check the amount and send it again"),
}


def wallet_refusal(error: KlelineError, language: Language, fields: Mapping[str, str] | None = None) -> PageError:
    """``error`` as a wallet page shows it, next to the input ``fields`` maps its ``param`` to."""
    shown = page_error(error, fields, language)
    wording = _MESSAGES.get((error.code, error.param)) or _MESSAGES.get((error.code, None))
    return PageError(language.gettext(wording), shown.code, shown.field) if wording else shown


def next_steps(code: str, language: Language, *, via_card: bool = True) -> list[NextStep]:
    """The way out of a refusal with ``code``, if the wallet has one."""
    _ = language.gettext
    if code == "sca_enrolment_required":
        text = _("Set up an authenticator app on your phone, then come back to confirm with its code.")
        return [NextStep(text, (("/wallet/security", _("Set up an authenticator app")),))]
    if code == "receivable_outstanding":
        text = _("Repay it from your purse on your wallet's overview.")
        return [NextStep(text, (("/wallet#debt", _("Repay your debt")),))]
    if code in ("card_declined", "insufficient_funds", "do_not_honor", "expired_card", "issuer_unavailable"):
        links = [("/wallet/cards/new?next=/wallet/top-up", _("Add a card"))]
        if via_card:
            links.append(("/wallet/bank-accounts/new?next=/wallet/top-up", _("Add a bank account")))
        return [NextStep(_("Try another card, or top up by direct debit."), tuple(links))]
    if code == "purse_empty":
        return [NextStep(_("Top up your purse by card first."), (("/wallet/top-up", _("Top up")),))]
    return []


def not_found(request: Request, visit: Visit) -> Response:
    """The neutral page of a wallet object that is not the visitor's: it does not say whether it exists at all."""
    _ = language_of(request).gettext
    context = page_context(
        visit,
        _("Not found in your wallet"),
        message=_("There is no such card, bank account or top-up in your wallet."),
        section="wallet",
    )
    return render(request, "wallet_not_found.html", context, status=404)


def own_page(
    request: Request,
    find: Callable[[str], _T],
    missing: type[KlelineError],
    page: Callable[[Request, Visit, _T], Response],
) -> Response:
    """The signed-in customer's page of one of their own objects (``find``, given the customer's id): ``page`` of it,
    or ``not_found`` when ``find`` refuses with ``missing`` (another customer's object is not found, as an unknown one,
    so that an address says nothing of whether the object exists)."""
    visit = signed_in_visit(request)
    assert visit.customer is not None
    try:
        found = find(visit.customer.id)
    except missing:
        return respond(request, visit, not_found(request, visit))
    return respond(request, visit, page(request, visit, found))
