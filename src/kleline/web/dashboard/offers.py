"""The shop's audiences and offers (``/dashboard/offers``, ``/dashboard/audiences``).

Over the same services as ``/v1/audiences/estimate`` and ``/v1/offers``: every figure about people is noisy
(differential privacy), never below 50 ("fewer than 50"), and paid from the shop's monthly privacy budget, which the
pages show. Everyone of the shop reads the offers sent, with their reach and answers; only a role that may ``offers``
(owners) estimates an audience or sends an offer. The forms report every problem at once and keep what was typed; the
new offer's form is sent once however often it is clicked (``once``: an offer twice would reach people twice).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from babel.dates import format_date
from fastapi import APIRouter, Request
from starlette.responses import Response

from kleline.clock import instant_bound
from kleline.errors import KlelineError
from kleline.merchants.model import CATEGORIES
from kleline.privacy.audience_model import (
    MINIMUM,
    RECENCY_BANDS,
    SPEND_BANDS,
    Audience,
    Estimate,
    InvalidAudience,
    InvalidOffer,
)
from kleline.privacy.offer_model import MAX_BODY, MAX_TITLE, OfferDraft, offer_problems
from kleline.web.dashboard.visits import (
    DashboardVisit,
    dashboard_context,
    require,
    respond,
    signed_in_merchant_post,
    signed_in_merchant_user,
)
from kleline.web.dashboard.wording import CATEGORY_NAMES
from kleline.web.i18n import N_, Language, language_of
from kleline.web.once import new_form_key, once
from kleline.web.refusals import PageError, in_form_order
from kleline.web.rendering import redirect, render
from kleline.web.visits import Form, web_of

__all__ = ["AUDIENCES", "OFFERS", "router"]

router = APIRouter(include_in_schema=False)

OFFERS: Final = "/dashboard/offers"
NEW_OFFER: Final = "/dashboard/offers/new"
AUDIENCES: Final = "/dashboard/audiences"
_OFFERS_TITLE: Final = N_("Offers")
_NEW_TITLE: Final = N_("New offer")
_AUDIENCES_TITLE: Final = N_("Audiences")
SPEND_NAMES: Final = {
    "under_50": N_("Under €50"),
    "50_to_200": N_("€50 to €200"),
    "200_to_1000": N_("€200 to €1,000"),
    "over_1000": N_("Over €1,000"),
}
RECENCY_NAMES: Final = {
    "30_days": N_("In the last 30 days"),
    "90_days": N_("In the last 90 days"),
    "365_days": N_("In the last 12 months"),
}
_AUDIENCE_FIELDS: Final = ("mall_id", "category", "spend", "recency")
_OFFER_FIELDS: Final = ("title", "body", "link", "valid_until")
_MESSAGES: Final = {
    "title": N_("Give the offer a title, at most 120 characters"),
    "body": N_("Write what the offer says, at most 2,000 characters"),
    "link": N_("Give the address of the offer on your site, starting with https://"),
    "valid_until": N_("Give the offer's last day: from today, at most 90 days ahead"),
    "mall_id": N_("Choose a mall from the list"),
    "category": N_("Choose a kind of shop from the list"),
    "privacy_budget_exhausted": N_(
        "Your shop's privacy budget for this month is spent: no more estimates or offers until the first of next month"
    ),
    "merchant_not_active": N_("Your shop reaches customers once Kleline has approved it"),
}
assert SPEND_NAMES.keys() == SPEND_BANDS.keys() and RECENCY_NAMES.keys() == RECENCY_BANDS.keys()
assert (MAX_TITLE, MAX_BODY) == (120, 2000)  # as the messages say


def _error(error: KlelineError, language: Language) -> PageError:
    key = error.param if isinstance(error, InvalidOffer | InvalidAudience) and error.param in _MESSAGES else error.code
    message = _MESSAGES.get(key or "")
    field = error.param if error.param in (*_AUDIENCE_FIELDS, *_OFFER_FIELDS) else None
    return PageError(language.gettext(message) if message else error.detail, error.code, field)


def _audience(fields: dict[str, str]) -> tuple[Audience | None, list[PageError]]:
    """The audience a form describes, or the problem of its fields (an unknown band is a tampered form)."""
    values = {name: (fields.get(name, "").strip() or None) for name in _AUDIENCE_FIELDS}
    try:
        return Audience(**values), []
    except InvalidAudience as error:
        return None, [PageError(error.detail, error.code, error.param)]


def _choices(request: Request, language: Language) -> dict[str, Any]:
    _ = language.gettext
    malls = web_of(request).kleline.malls.list(limit=100)
    return {
        "mall_choices": [(mall.id, mall.name) for mall in malls],
        "category_choices": [(code, _(CATEGORY_NAMES[code])) for code in CATEGORIES],
        "spend_choices": [(code, _(name)) for code, name in SPEND_NAMES.items()],
        "recency_choices": [(code, _(name)) for code, name in RECENCY_NAMES.items()],
    }


def _budget(request: Request, visit: DashboardVisit) -> Any:
    assert visit.merchant is not None
    return web_of(request).kleline.audiences.budget(visit.merchant.id)


# Offers sent ---------------------------------------------------------------------------------------------------------


@router.get(OFFERS)
def offers_page(request: Request) -> Response:
    """The shop's offers, newest first, each with its noisy reach and how many answered."""
    visit = signed_in_merchant_user(request)
    require(request, visit, "read")
    assert visit.merchant is not None
    language = language_of(request)
    offers = web_of(request).kleline.offers.list(visit.merchant.id, limit=100)
    context = dashboard_context(
        visit,
        language.gettext(_OFFERS_TITLE),
        section="offers",
        offers=offers,
        may_send=visit.can("offers"),
        minimum=MINIMUM,
        budget=_budget(request, visit),
        long_date=lambda moment: format_date(moment, "long", locale=language.locale),
    )
    return respond(request, visit, render(request, "dashboard/offers.html", context))


def _form_page(
    request: Request,
    visit: DashboardVisit,
    page: tuple[str, str, str],
    typed: dict[str, str],
    errors: list[PageError] | None,
    status: int,
    **context: Any,
) -> Response:
    """A page of the shop's audience form (``page``: its template, title and section): the new offer's and the
    audiences' both describe an audience, so both show the same choices, errors and what was typed."""
    template, title, section = page
    language = language_of(request)
    full = dashboard_context(
        visit,
        language.gettext(title),
        section=section,
        errors=errors or [],
        focus_errors=bool(errors),
        typed=typed,
        **_choices(request, language),
        **context,
    )
    return respond(request, visit, render(request, template, full, status=status))


def _new_page(
    request: Request,
    visit: DashboardVisit,
    typed: dict[str, str],
    *,
    errors: list[PageError] | None = None,
    status: int = 200,
) -> Response:
    return _form_page(
        request,
        visit,
        ("dashboard/offer_new.html", _NEW_TITLE, "offers"),
        typed,
        errors,
        status,
        form_key=typed.get("form_key") or new_form_key(),
        max_title=MAX_TITLE,
        budget=_budget(request, visit),
    )


@router.get(NEW_OFFER)
def new_offer_page(request: Request) -> Response:
    """The form of a new offer: what it says, its link, its last day, and its audience."""
    visit = signed_in_merchant_user(request)
    require(request, visit, "offers")
    return _new_page(request, visit, {})


def _last_day(text: str) -> datetime | None:
    try:
        return instant_bound(text, "valid_until", end=True) if len(text) == 10 else None
    except KlelineError:
        return None


@router.post(NEW_OFFER)
def send_offer(request: Request, form: Form) -> Response:
    """Send the offer: every problem at once, with what was typed; once sent, back to the list."""
    visit = signed_in_merchant_post(request, form, back=NEW_OFFER)
    require(request, visit, "offers")
    assert visit.merchant is not None
    language = language_of(request)
    kleline = web_of(request).kleline
    typed = {name: form.get(name, "") for name in (*_OFFER_FIELDS, *_AUDIENCE_FIELDS, "form_key")}
    audience, errors = _audience(form)
    now = kleline.clock()
    until = _last_day(typed["valid_until"].strip())
    draft = OfferDraft(
        typed["title"].strip(),
        typed["body"].strip(),
        typed["link"].strip(),
        now,
        until or now,
        audience or Audience(),
    )
    errors += [_error(problem, language) for problem in offer_problems(draft, now)]
    if until is None:
        errors = [e for e in errors if e.field != "valid_until"]
        errors.append(PageError(language.gettext(_MESSAGES["valid_until"]), "invalid_offer", "valid_until"))
    if errors:
        return _new_page(request, visit, typed, errors=_ordered(errors), status=400)
    merchant_id, user = visit.merchant.id, visit.user
    assert user is not None

    def send() -> str:
        sent = kleline.offers.send(merchant_id, draft)
        kleline.merchant_users.record(
            visit.actor, "offer_sent", sent.id, {"title": sent.title, **sent.audience.as_dict()}
        )
        return sent.id

    try:
        once(request, user.id, form, send)
    except KlelineError as error:
        return _new_page(request, visit, typed, errors=[_error(error, language)], status=error.status)
    return redirect(OFFERS)


def _ordered(errors: list[PageError]) -> list[PageError]:
    """The problems in the form's order."""
    return in_form_order(errors, (*_OFFER_FIELDS, *_AUDIENCE_FIELDS))


# Audiences -----------------------------------------------------------------------------------------------------------


def _audiences_page(
    request: Request,
    visit: DashboardVisit,
    typed: dict[str, str],
    *,
    estimate: Estimate | None = None,
    errors: list[PageError] | None = None,
    status: int = 200,
) -> Response:
    return _form_page(
        request,
        visit,
        ("dashboard/audiences.html", _AUDIENCES_TITLE, "audiences"),
        typed,
        errors,
        status,
        estimate=estimate,
        minimum=MINIMUM,
        budget=estimate.budget if estimate is not None else _budget(request, visit),
    )


@router.get(AUDIENCES)
def audiences_page(request: Request) -> Response:
    """Describe an audience and estimate its size; what is left of the month's privacy budget."""
    visit = signed_in_merchant_user(request)
    require(request, visit, "offers")
    return _audiences_page(request, visit, {})


@router.post(AUDIENCES)
def estimate(request: Request, form: Form) -> Response:
    """Estimate the audience the form describes (spends one release of the budget)."""
    visit = signed_in_merchant_post(request, form, back=AUDIENCES)
    require(request, visit, "offers")
    assert visit.merchant is not None
    language = language_of(request)
    typed = {name: form.get(name, "") for name in _AUDIENCE_FIELDS}
    audience, errors = _audience(form)
    if audience is None:
        return _audiences_page(request, visit, typed, errors=errors, status=400)
    kleline = web_of(request).kleline
    try:
        found = kleline.audiences.estimate(visit.merchant.id, audience)
    except KlelineError as error:
        return _audiences_page(request, visit, typed, errors=[_error(error, language)], status=error.status)
    kleline.merchant_users.record(visit.actor, "audience_estimated", found.id, audience.as_dict())
    return _audiences_page(request, visit, typed, estimate=found)
