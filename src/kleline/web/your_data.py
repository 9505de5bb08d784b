"""The wallet's page about the customer's data (``/wallet/data``): download it, or close and erase the wallet.

The download is the API's export (``kleline.customer_rights.export``) as a file. Closing the wallet asks for the
password and an explicit tick, says what happens (the relationship ends now, the data is kept locked for the legal
retention period, then destroyed), and on success signs the browser out and leaves for the sign-in page with a note.
"""

from __future__ import annotations

import json
from typing import Final

from fastapi import APIRouter, Request
from starlette.responses import Response

from kleline.customer_rights.erasure import ErasureRefused
from kleline.money import Money
from kleline.wallet.customers import WrongPassword
from kleline.wallet.model import Customer
from kleline.web.flashes import WALLET_ERASED, leave
from kleline.web.i18n import N_, language_of
from kleline.web.refusals import PageError
from kleline.web.rendering import redirect, render
from kleline.web.visits import Form, Visit, page_context, respond, signed_in_post, signed_in_visit, web_of

__all__ = ["YOUR_DATA", "router"]

router = APIRouter(include_in_schema=False)

YOUR_DATA: Final = "/wallet/data"
_TITLE: Final = N_("Your data")


def _page(request: Request, visit: Visit, customer: Customer, errors: list[PageError], status: int = 200) -> Response:
    kleline = web_of(request).kleline
    language = language_of(request)
    balance = kleline.ledger.balance(kleline.customers.purse(customer.id).code)
    context = page_context(
        visit,
        language.gettext(_TITLE),
        errors=errors,
        section="data",
        purse=language.money(Money(balance.posted, balance.currency)) if balance.posted else None,
        retention_years=kleline.erasure.retention_years,
    )
    return respond(request, visit, render(request, "wallet_data.html", context, status=status))


@router.get(YOUR_DATA)
def your_data_page(request: Request) -> Response:
    """What Kleline holds: a download of all of it, and the way to close and erase the wallet."""
    visit = signed_in_visit(request)
    assert visit.customer is not None
    return _page(request, visit, visit.customer, [])


@router.get(f"{YOUR_DATA}/export.json")
def download(request: Request) -> Response:
    """Everything Kleline holds about the customer, as a JSON file (the API's ``GET /v1/wallet/export``)."""
    visit = signed_in_visit(request)
    assert visit.customer is not None
    document = web_of(request).kleline.customer_export.export(visit.customer.id)
    response = Response(
        json.dumps(document, ensure_ascii=False, indent=2),
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="kleline-{visit.customer.id}.json"',
            "Cache-Control": "no-store",
        },
    )
    return respond(request, visit, response)


@router.post(f"{YOUR_DATA}/erase")
def erase(request: Request, form: Form) -> Response:
    """Close and erase the wallet once the password is given again and the consequences ticked."""
    visit, customer = signed_in_post(request, form, back=YOUR_DATA)
    _ = language_of(request).gettext
    password, understood = form.get("password", ""), form.get("understood") == "yes"
    errors: list[PageError] = []
    if not password:
        errors.append(PageError(_("Enter your password"), "validation_error", "password"))
    if not understood:
        errors.append(
            PageError(_("Tick the box to confirm that you want to close your wallet"), "validation_error", "understood")
        )
    if not errors:
        web = web_of(request)
        try:
            web.kleline.erasure.request(customer.id, password)
        except WrongPassword:
            errors.append(
                PageError(
                    _("The password is wrong, or too many attempts failed: try again later"),
                    "wrong_password",
                    "password",
                )
            )
        except ErasureRefused as refused:
            if "purse" in refused.detail:
                message = _("Your purse still holds money: spend it before closing your wallet")
            else:
                message = _("A payment or a top-up is still under way: wait until it is settled, then try again")
            errors.append(PageError(message, refused.code, None))
        else:
            response = redirect("/sign-in")
            web.cookies.clear(response)
            return leave(request, response, WALLET_ERASED)
    return _page(request, visit, customer, errors, status=400 if errors else 200)
