"""The wallet's inbox (``/wallet/inbox``): the offers merchants sent the customer, opened one by one, answered once.

The same services as ``/v1/wallet/offers``. Opening an offer (``/wallet/inbox/{id}``) marks it read, which takes it
out of the count the wallet's navigation shows; its form answers it (``interested``, ``share_email``: the merchant
may then see the customer's email, or ``not_interested``), once: the page then says which answer was given.
"""

from __future__ import annotations

from typing import Any, Final

from babel.dates import format_date
from fastapi import APIRouter, Request
from starlette.responses import Response

from kleline.privacy.audience_model import OfferAlreadyAnswered, OfferExpired, OfferNotFound
from kleline.privacy.offer_model import ANSWERS, InboxOffer
from kleline.web.i18n import N_, language_of
from kleline.web.refusals import PageError
from kleline.web.rendering import redirect, render
from kleline.web.visits import Form, Visit, page_context, respond, signed_in_post, signed_in_visit, web_of
from kleline.web.wallet_refusals import not_found, own_page

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

_TITLE: Final = N_("Offers from merchants")
PAGE: Final = 50
_REFUSALS: Final = {
    "answer_missing": N_("Choose an answer"),
    OfferAlreadyAnswered.code: N_("You already answered this offer otherwise: an answer is given once"),
    OfferExpired.code: N_("This offer has ended: it can no longer be answered"),
}


def _dates(request: Request, context: dict[str, Any]) -> dict[str, Any]:
    language = language_of(request)
    context["long_date"] = lambda moment: format_date(moment, "long", locale=language.locale)
    return context


@router.get("/wallet/inbox")
def inbox_page(request: Request) -> Response:
    """The customer's offers, newest first: unread ones marked, each linking to its page."""
    visit = signed_in_visit(request)
    assert visit.customer is not None
    kleline = web_of(request).kleline
    offers = kleline.inbox.offers(visit.customer.id, limit=PAGE)
    context = page_context(
        visit, language_of(request).gettext(_TITLE), section="inbox", offers=offers, now=kleline.clock()
    )
    return respond(request, visit, render(request, "inbox.html", _dates(request, context)))


def _offer_page(
    request: Request,
    visit: Visit,
    offer: InboxOffer,
    *,
    errors: list[PageError] | None = None,
    chosen: str = "",
    status: int = 200,
) -> Response:
    kleline = web_of(request).kleline
    context = page_context(
        visit,
        offer.title,
        section="inbox",
        offer=offer,
        expired=offer.expired(kleline.clock()),
        chosen=chosen or offer.answer or "",
        errors=errors or [],
        focus_errors=bool(errors),
    )
    return render(request, "inbox_offer.html", _dates(request, context), status=status)


@router.get("/wallet/inbox/{offer_id}")
def offer_page(request: Request, offer_id: str) -> Response:
    """One offer, marked read now; its answer form, or the answer given."""
    inbox = web_of(request).kleline.inbox
    return own_page(request, lambda customer_id: inbox.read(customer_id, offer_id), OfferNotFound, _offer_page)


@router.post("/wallet/inbox/{offer_id}")
def answer_offer(request: Request, offer_id: str, form: Form) -> Response:
    """Answer the offer once; a missing or refused answer is explained on its page, the choice kept."""
    visit, customer = signed_in_post(request, form, back=f"/wallet/inbox/{offer_id}")
    language = language_of(request)
    inbox = web_of(request).kleline.inbox
    reply = form.get("answer", "")
    try:
        offer = inbox.get(customer.id, offer_id)
    except OfferNotFound:
        return not_found(request, visit)
    if reply not in ANSWERS:
        error = PageError(language.gettext(_REFUSALS["answer_missing"]), "answer_missing", "answer-interested")
        return _offer_page(request, visit, offer, errors=[error], status=400)
    try:
        inbox.answer(customer.id, offer_id, reply, language=language.code)
    except (OfferAlreadyAnswered, OfferExpired) as refused:
        error = PageError(language.gettext(_REFUSALS[refused.code]), refused.code)
        return _offer_page(request, visit, inbox.get(customer.id, offer_id), errors=[error], chosen=reply, status=409)
    return redirect(f"/wallet/inbox/{offer_id}")
