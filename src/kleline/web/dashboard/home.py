"""The dashboard's landing page (``/dashboard``), its overview: once the shop is approved, its sales today and this
month, its balance and payouts, the charts of 30 days and 12 months (``dashboard.overview``); then where its
application stands, and the signed-in user's role. Every role sees it; owners also see, first, a change of the
shop's bank account waiting for Kleline's check (or decided in the past 14 days: ``dashboard.settings``).

A shop that is not active is told first where it stands: a pending application (sent on, what Kleline checks, what
was sent), a refused one (why) or a suspension (why, and since when). A pending or refused shop has sold nothing and
has no balance, so its page shows no figures; a suspended one keeps its figures below, since its balance is still
paid out.

An active shop that has not sold yet (``SalesOverview.no_sales_yet``) is shown, above its figures, all zero, how to
take its first payment: an API key and a webhook endpoint on the developers' page, then Kleline's checkout; to the
people who may make keys (owners), since the others could not follow it."""

from __future__ import annotations

from typing import Final

from fastapi import APIRouter, Request
from starlette.responses import Response

from kleline.merchants import Merchant, format_phone, mask_iban
from kleline.money import Money
from kleline.web.dashboard.overview import overview_html
from kleline.web.dashboard.settings import bank_change_notice, bank_change_notice_of
from kleline.web.dashboard.visits import DASHBOARD, dashboard_context, respond, signed_in_merchant_user
from kleline.web.dashboard.wording import CATEGORY_NAMES, ROLE_DUTIES, ROLE_NAMES, STATUS_NAMES, note_of
from kleline.web.history import day
from kleline.web.i18n import N_, Language, language_of
from kleline.web.rendering import render
from kleline.web.security import when
from kleline.web.visits import web_of

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

_TITLE: Final = N_("Dashboard")


@router.get(DASHBOARD)
def dashboard_page(request: Request) -> Response:
    """The shop's name and status, and who is signed in with which role."""
    visit = signed_in_merchant_user(request)
    assert visit.user is not None and visit.merchant is not None
    language = language_of(request)
    merchant = visit.merchant
    # A shop awaiting approval (or refused) has sold nothing, and has no balance: its page says where it stands.
    kleline = web_of(request).kleline
    overview = bank_change = None
    first_steps = False
    if merchant.status in ("active", "suspended"):
        if visit.can("settings"):  # an owner's notice of a bank account change is read with the overview's figures
            sales, change = kleline.overview.of_beside(
                merchant.id, kleline.bank_account_changes.announcement_read(visit.actor)
            )
            bank_change = bank_change_notice_of(request, change)
        else:
            sales = kleline.overview.of(merchant.id)
        overview = overview_html(language, sales)
        first_steps = merchant.status == "active" and sales.no_sales_yet and visit.can("keys")
    else:
        bank_change = bank_change_notice(request, visit)
    context = dashboard_context(
        visit,
        language.gettext(_TITLE),
        section="home",
        flash=note_of(request, signed_in=True),
        status_name=language.gettext(STATUS_NAMES[merchant.status]),
        approved_on=when(merchant.approved_at, language) if merchant.approved_at else "",
        role_name=language.gettext(ROLE_NAMES[visit.user.role]),
        role_duties=language.gettext(ROLE_DUTIES[visit.user.role]),
        refund_limit=(
            language.money(Money(visit.user.refund_limit or 0, "EUR")) if visit.user.role == "support" else None
        ),
        overview=overview,
        first_steps=first_steps,
        bank_change=bank_change,
        sent_on=day(language, merchant.created_at),
        changed_on=day(language, merchant.status_changed_at or merchant.created_at),
        application=_application(request, language, merchant) if merchant.status in ("pending", "refused") else [],
    )
    return respond(request, visit, render(request, "dashboard/home.html", context))


def _application(request: Request, language: Language, merchant: Merchant) -> list[tuple[str, str]]:
    """What the shop sent, as the operator checks it (its IBAN masked, as the API shows it to the merchant)."""
    _ = language.gettext
    malls = [mall.name for mall in web_of(request).kleline.malls.malls_of(merchant.id)]
    category = CATEGORY_NAMES.get(merchant.category or "")
    facts = [
        (_("Legal name"), merchant.name),
        (_("SIRET"), merchant.siret),
        (_("VAT number"), merchant.vat_number),
        (_("IBAN"), mask_iban(merchant.iban)),
        (_("BIC"), merchant.bic),
        (_("Contact"), merchant.contact_name),
        (_("Email address"), merchant.email),
        (_("Telephone"), format_phone(merchant.contact_phone) if merchant.contact_phone else None),
        (_("Website"), merchant.website),
        (_("What kind of shop"), _(category) if category else merchant.category),
        (_("What it sells"), merchant.description),
        (_("Malls"), ", ".join(malls)),
    ]
    return [(label, value) for label, value in facts if value]
