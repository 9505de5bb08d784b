"""The shopper's wallet as pages (``/wallet`` and below): only its owner may see them, once signed in.

Every page here calls the same services as the API's ``/v1/wallet`` routes; what a page shows is what the API would
answer, worded for a person.
"""

from __future__ import annotations

from typing import Final

from fastapi import APIRouter, Request
from starlette.responses import Response

from kleline.money import Money
from kleline.web.flashes import announcement
from kleline.web.i18n import N_, language_of
from kleline.web.rendering import render
from kleline.web.visits import page_context, respond, signed_in_visit, web_of

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

_TITLE: Final = N_("Your wallet")


@router.get("/wallet")
def wallet_page(request: Request) -> Response:
    """The purse (balance and what is available), the cards, and where to go for the rest."""
    visit = signed_in_visit(request)
    assert visit.customer is not None
    kleline = web_of(request).kleline
    purse = kleline.customers.purse(visit.customer.id)
    balance = kleline.ledger.balance(purse.code)
    context = page_context(
        visit,
        language_of(request).gettext(_TITLE),
        section="wallet",
        balance=Money(balance.posted, purse.currency),
        available=Money(balance.available, purse.currency),
        cards=kleline.cards.list(visit.customer.id),
        flash=announcement(request, visit),
    )
    return respond(request, visit, render(request, "wallet.html", context))
