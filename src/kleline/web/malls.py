"""The malls as pages: the directory (``/malls``), a mall and its shops (``/malls/{id}``), and a merchant's public
page (``/merchants/{id}``), where Kleline vouches for the shop: its registered name, its SIRET, since when it knows it.

Anyone may read them, signed in or not; no session is opened for them (they have no form). Only active merchants are
shown (``Mall.listed``, ``Merchants.listed``): a pending or suspended shop is not advertised, and its page is the
same not-found page as an id that names nothing, so that the pages reveal nothing of a shop that is not open.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from babel.dates import format_date
from fastapi import APIRouter, Request
from starlette.responses import Response
from stdnum.fr import siret as stdnum_siret

from kleline.merchants import Mall, UnknownMall, UnknownMerchant
from kleline.web.i18n import N_, Language, language_of
from kleline.web.rendering import render
from kleline.web.visits import Visit, known_visit, page_context, web_of

__all__ = ["DIRECTORY_LIMIT", "long_date", "not_found_page", "open_malls", "router", "siret_text"]

router = APIRouter(include_in_schema=False)

DIRECTORY_LIMIT: Final = 100
"""The malls the directory lists (the seed's galleries are a handful; a page of them is plenty)."""

_DIRECTORY_TITLE: Final = N_("The malls")
_NO_SUCH_PAGE: Final = N_("No such page")
_GONE: Final = N_("This mall or shop is not in Kleline's directory: the link is wrong, or the shop is closed.")


def open_malls(request: Request) -> list[Mall]:
    """The malls as the public sees them (active shops only), in name order of their slugs."""
    return [mall.listed() for mall in web_of(request).kleline.malls.list(limit=DIRECTORY_LIMIT)]


def siret_text(siret: str | None) -> str | None:
    """A SIRET as it is printed (``732 829 320 00074``: SIREN, then the establishment's number)."""
    return None if siret is None else str(stdnum_siret.format(siret))


def long_date(moment: datetime, language: Language) -> str:
    """A day as the language writes it in full (``15 January 2026``, ``15 janvier 2026``)."""
    return str(format_date(moment.date(), "long", locale=language.locale))


def _not_found(request: Request, visit: Visit | None) -> Response:
    _ = language_of(request).gettext
    context = page_context(visit, _(_NO_SUCH_PAGE), message=_(_GONE), directory_link=True)
    return render(request, "not_found.html", context, status=404)


def not_found_page(request: Request) -> Response:
    """The page of a malls' or merchants' address that names nothing (one the door refused before any lookup)."""
    return _not_found(request, known_visit(request))


@router.get("/malls")
def directory(request: Request) -> Response:
    """Every mall, with its open shops' names."""
    visit = known_visit(request)
    title = language_of(request).gettext(_DIRECTORY_TITLE)
    return render(request, "malls.html", page_context(visit, title, malls=open_malls(request), sign_out_next="/malls"))


@router.get("/malls/{mall_id}")
def mall_page(request: Request, mall_id: str) -> Response:
    """One mall: its open shops, each with what it sells, a link to its shop and to what Kleline knows of it."""
    visit = known_visit(request)
    try:
        mall = web_of(request).kleline.malls.get(mall_id).listed()
    except UnknownMall:
        return _not_found(request, visit)
    return render(request, "mall.html", page_context(visit, mall.name, mall=mall, sign_out_next=f"/malls/{mall.id}"))


@router.get("/merchants/{merchant_id}")
def merchant_page(request: Request, merchant_id: str) -> Response:
    """What Kleline knows of an open shop: registered name, SIRET, since when, and its malls."""
    visit = known_visit(request)
    kleline = web_of(request).kleline
    try:
        merchant = kleline.merchants.listed(merchant_id)
    except UnknownMerchant:
        return _not_found(request, visit)
    language = language_of(request)
    malls = sorted(kleline.malls.malls_of(merchant.id), key=lambda mall: mall.slug)  # as the directory orders them
    context = page_context(
        visit,
        merchant.name,
        merchant=merchant,
        siret=siret_text(merchant.siret),
        since=None if merchant.approved_at is None else long_date(merchant.approved_at, language),
        malls=malls,
        sign_out_next=f"/merchants/{merchant.id}",
    )
    return render(request, "merchant.html", context)
