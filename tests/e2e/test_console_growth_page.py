"""The console's growth page (``/console/growth``) over HTTP on each backend: support reads the charts (SVG images
served with their own CSP) and the same figures as tables, beside the seed's 10 % a month; the CSV is for the roles
that export (finance), refused to support."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI

from kleline.api.app import create_app
from kleline.bootstrap import Kleline, build
from kleline.config import load_settings
from kleline.staff.roles import Role

from ..conftest import FakeClock
from .checkout_world import card, customer, payment, shop
from .console_world import PUBLIC_URL, signed_in


@pytest.fixture
def kleline(database_url: str, clock: FakeClock) -> Iterator[Kleline]:
    settings = load_settings(database_url=database_url, public_url=PUBLIC_URL, sign_in_rate=1000, sign_up_rate=1000)
    system = build(settings, clock=clock)
    try:
        yield system
    finally:
        system.close()


@pytest.fixture
def app(kleline: Kleline) -> FastAPI:
    merchant = shop(kleline)
    ada = customer(kleline)
    kleline.payments.confirm(payment(kleline, merchant, 1500).id, ada.id, "card", card_id=card(kleline, ada.id))
    return create_app(kleline)


def test_support_reads_the_charts_and_their_tables_but_not_the_csv(
    kleline: Kleline, app: FastAPI, clock: FakeClock
) -> None:
    browser = signed_in(kleline, app, clock, "sam@example.org", Role.SUPPORT)
    page = browser.get("/console/growth")
    assert page.status_code == 200, page.text
    text = html.unescape(page.text)
    assert "beside the seed's target of 10% a month" in text
    images = re.findall(r'<img src="(/console/growth/charts/[^"]+)"', text)
    assert {re.search(r"charts/([^.]+)\.svg", src).group(1) for src in images} >= {  # type: ignore[union-attr]
        "merchants",
        "customers",
        "payments",
        "sales-EUR",
        "growth",
    }
    assert text.count('<table class="series">') == len(images)
    assert "€15.00" in text  # this month's volume, in the sales table
    for src in images:
        svg = browser.get(src)
        assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
        assert "content-security-policy" in svg.headers and svg.text.lstrip().startswith("<")
        assert svg.headers["cache-control"].startswith("private")
    assert browser.get("/console/growth/charts/nothing.svg").status_code == 404
    assert "growth.csv" not in text
    assert browser.get("/console/growth.csv").status_code == 403
    french = html.unescape(browser.get("/console/growth?lang=fr").text)
    assert "à côté de l’objectif de départ de 10\u00a0% par mois" in french


def test_finance_downloads_the_growth_csv(kleline: Kleline, app: FastAPI, clock: FakeClock) -> None:
    browser = signed_in(kleline, app, clock, "fay@example.org", Role.FINANCE)
    assert 'href="/console/growth.csv"' in browser.get("/console/growth").text
    csv = browser.get("/console/growth.csv")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert "attachment" in csv.headers["content-disposition"]
    assert "15.00" in csv.text
    for asked in ("from=2026-13", "to=2999-01", "from=2025-12&to=2025-11", "from=2010-01&to=2026-01"):
        refused = browser.get(f"/console/growth.csv?{asked}&lang=fr")
        assert refused.status_code == 400 and "text/html" in refused.headers["content-type"], asked
        assert "Le rapport ne peut pas être établi" in html.unescape(refused.text), asked
