"""Joining Kleline (``/join``): the form a shop applies with, public, no sign-in.

The page reads the form and words refusals; ``kleline.merchant_users.MerchantJoining`` decides everything: which
fields are required, every check (the API's: schwifty for the bank details, python-stdnum for the SIRET and the VAT
number), the password's rules (the customers'), and recording the shop with its first owner in one transaction.
Every problem comes back at once, next to its field and in the summary, with the API's code; the values typed come
back, the password never does. The form counts against the sign-up rate limit per client, as a wallet's does.

The form's token is the dashboard session's (a visit opens an anonymous one). Once the shop has joined, its owner's
new session replaces it, at the second-factor stage: the page sends the owner on to set up an authenticator (owners
must have one), and from there to the dashboard, whose home says where the application stands. No secret key is
shown: the owner makes one from the developers page.

A malls' checkbox is named ``mall:<id>`` (a form's field is read once by name).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.responses import Response

from kleline.errors import KlelineError
from kleline.merchants import CATEGORIES, Application, InvalidVatNumber
from kleline.merchants.model import APPLICATION_FIELDS
from kleline.ratelimit import SIGN_UP, RateLimited
from kleline.wallet.customers import MAX_PASSWORD, MIN_PASSWORD
from kleline.web.dashboard.visits import (
    DASHBOARD,
    DashboardVisit,
    client_address,
    dashboard_context,
    dashboard_post,
    dashboard_visit,
    respond,
    set_session_cookie,
)
from kleline.web.dashboard.wording import CATEGORY_NAMES, leave_note
from kleline.web.i18n import N_, Language, language_of
from kleline.web.refusals import PageError, page_error
from kleline.web.rendering import redirect, render
from kleline.web.visits import Form, web_of

__all__ = ["JOIN", "router"]

router = APIRouter(include_in_schema=False)

JOIN: Final = "/join"
_AUTHENTICATOR: Final = "/dashboard/sign-in/authenticator"
_TITLE: Final = N_("Sell with Kleline")
_MALL_FIELD: Final = "mall:"
# The application's fields a person types: its malls are boxes to tick, and its commission is the operator's.
_TEXT_FIELDS: Final = tuple(name for name in APPLICATION_FIELDS if name not in ("mall_ids", "fee_bps"))
_LONGEST: Final = 2048  # no field of the form is longer (a website's address); more is cut, then refused by its check

# Every refusal in the page's words, English included (the services' sentences name fields for developers).
_MESSAGES: Final[dict[tuple[str, str | None], str]] = {
    ("validation_error", "name"): N_("Enter the company's legal name (1 to 200 characters)"),
    ("validation_error", "siret"): N_("Enter the SIRET of the establishment that sells: 14 digits"),
    ("invalid_siret", None): N_("Check the SIRET: it is not a valid SIRET (14 digits, the last one a check digit)"),
    ("validation_error", "vat_number"): N_(
        "Enter the company's intra-community VAT number, with its country code, such as FR44732829320"
    ),
    ("invalid_vat_number", None): N_(
        "Check the VAT number: it is not a valid EU VAT number (it starts with its country code, such as FR)"
    ),
    ("invalid_iban", None): N_("Check the IBAN: it is not a valid IBAN of a country of the SEPA zone"),
    ("invalid_bic", None): N_(
        "Check the BIC (8 or 11 characters, of the IBAN's country), or enter it if it cannot be found from the IBAN"
    ),
    ("validation_error", "contact_name"): N_("Enter your name (1 to 200 characters)"),
    ("validation_error", "email"): N_("Enter a valid email address, such as name@example.org"),
    ("already_a_member", None): N_(
        "This email address already has a Kleline dashboard account: sign in with it, or use another address"
    ),
    ("validation_error", "contact_phone"): N_(
        "Enter a telephone number with its country code, such as +33 1 23 45 67 89 (or a French number: 01 23 45 67 89)"
    ),
    ("validation_error", "website"): N_(
        "Enter the shop's web address, starting with https:// or http://, such as https://shop.example"
    ),
    ("validation_error", "category"): N_("Choose what kind of shop it is"),
    ("validation_error", "description"): N_("Say in a sentence what the shop sells (at most 500 characters)"),
    ("validation_error", "mall_ids"): N_("Choose among the malls listed"),
}
_NO_IBAN: Final = N_("Enter the IBAN of the company's account")
_PASSWORD: Final = N_("Choose a password of %(least)d to %(most)d characters (a passphrase is best)")
_ANOTHER_COMPANY: Final = N_("This VAT number is not that of the SIRET's company, whose VAT number is %(vat_number)s")


def _error(error: KlelineError, language: Language, typed: Mapping[str, str]) -> PageError:
    field = error.param if error.param in (*_TEXT_FIELDS, "mall_ids", "password") else None
    if isinstance(error, InvalidVatNumber) and error.siret_vat_number is not None:
        message = language.gettext(_ANOTHER_COMPANY) % {"vat_number": error.siret_vat_number}
        return PageError(message, error.code, field)
    if error.code == "validation_error" and error.param == "password":
        message = language.gettext(_PASSWORD) % {"least": MIN_PASSWORD, "most": MAX_PASSWORD}
        return PageError(message, error.code, field)
    if error.code == "invalid_iban" and not typed.get("iban", "").strip():
        return PageError(language.gettext(_NO_IBAN), error.code, field)
    wording = _MESSAGES.get((error.code, error.param)) or _MESSAGES.get((error.code, None))
    if wording is not None:
        return PageError(language.gettext(wording), error.code, field)
    return page_error(error, None, language)  # the rate limit's wording


def _typed(form: Mapping[str, str]) -> dict[str, str]:
    return {name: form.get(name, "")[:_LONGEST] for name in _TEXT_FIELDS}


def _chosen_malls(form: Mapping[str, str]) -> tuple[str, ...]:
    return tuple(name[len(_MALL_FIELD) :] for name in form if name.startswith(_MALL_FIELD))


def _page(
    request: Request,
    visit: DashboardVisit,
    *,
    typed: Mapping[str, str] | None = None,
    chosen: tuple[str, ...] = (),
    errors: list[PageError] | None = None,
    status: int = 200,
    retry_after: int | None = None,
) -> Response:
    language = language_of(request)
    malls = web_of(request).kleline.malls.list(limit=100)
    context: dict[str, Any] = dashboard_context(
        visit,
        language.gettext(_TITLE),
        typed=typed or dict.fromkeys(_TEXT_FIELDS, ""),
        categories=[(code, language.gettext(CATEGORY_NAMES[code])) for code in CATEGORIES],
        malls=[(mall.id, mall.name, mall.id in chosen) for mall in malls],
        errors=errors or [],
        focus_errors=bool(errors),
    )
    response = respond(request, visit, render(request, "dashboard/join.html", context, status=status))
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


@router.get(JOIN)
def join_page(request: Request) -> Response:
    """The form a shop applies with (a person signed in to a dashboard is told to sign out first)."""
    return _page(request, dashboard_visit(request))


@router.post(JOIN)
def join(request: Request, form: Form) -> Response:
    """Check the application: every problem at once; or the shop joins (``pending``) with its owner, who goes on to
    set up an authenticator."""
    visit = dashboard_post(request, form, back=JOIN)
    typed, chosen = _typed(form), _chosen_malls(form)
    if visit.user is not None:  # signed in to a dashboard already: the form is not shown to it
        return _page(request, visit, typed=typed, chosen=chosen, status=409)
    kleline = web_of(request).kleline
    language = language_of(request)
    application = Application(
        name=typed["name"],
        email=typed["email"].strip(),
        iban=typed["iban"],
        bic=typed["bic"] or None,
        siret=typed["siret"] or None,
        vat_number=typed["vat_number"] or None,
        website=typed["website"] or None,
        category=typed["category"] or None,
        description=typed["description"] or None,
        mall_ids=chosen,
        contact_name=typed["contact_name"] or None,
        contact_phone=typed["contact_phone"] or None,
    )
    password = form.get("password", "")
    try:
        kleline.rate_limits.take(SIGN_UP, client_address(request))
    except RateLimited as limited:  # alone: the form is not even looked at
        errors = [_error(limited, language, typed)]
        wait = limited.retry_after
        return _page(request, visit, typed=typed, chosen=chosen, errors=errors, status=429, retry_after=wait)
    problems = kleline.merchant_joining.problems(application, password)
    if not problems:
        try:
            joined = kleline.merchant_joining.join(
                application, password, previous=visit.session, address=client_address(request)
            )
        except KlelineError as error:  # the address taken meanwhile, a mall removed meanwhile
            problems = [error]
        else:
            target = f"{_AUTHENTICATOR}?{urlencode({'next': DASHBOARD})}"
            response = set_session_cookie(request, redirect(target), joined.session)
            return leave_note(request, response, "dashboard_application_sent")
    errors = [_error(problem, language, typed) for problem in problems]
    status = 409 if any(problem.status == 409 for problem in problems) else 400
    return _page(request, visit, typed=typed, chosen=chosen, errors=errors, status=status)
