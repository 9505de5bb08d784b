"""The dashboard's overview over HTTP: a signed-in merchant user (any role) sees its shop's sales today and this
month, its balance and payouts, and the charts of 30 days and 12 months with their figures as tables, in English
and French; the charts are SVG images under a policy of their own; one shop never sees another's figures."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from urllib.parse import urlsplit

import httpx2 as httpx
import pyotp
import pytest
from fastapi.testclient import TestClient

from kleline.api.app import create_app
from kleline.bootstrap import Kleline, build
from kleline.config import load_settings
from kleline.merchant_users import MerchantUser

from ..conftest import FakeClock
from ..operator_keys import OPERATOR
from .checkout_world import IBAN, PASSWORD, card, customer, eur, fund, payment, shop
from .page_visitor import Visitor


@pytest.fixture
def kleline(database_url: str, clock: FakeClock) -> Iterator[Kleline]:
    """Kleline where no payment asks for strong authentication (the subject is the overview)."""
    settings = load_settings(
        database_url=database_url, sca_single_limit=10**6, sca_cumulative_limit=10**9, sca_max_payments=10**6
    )
    system = build(settings, clock=clock)
    try:
        yield system
    finally:
        system.close()


@pytest.fixture
def browser(kleline: Kleline) -> Iterator[Visitor]:
    with TestClient(create_app(kleline), follow_redirects=False) as client:
        yield Visitor(client)


def member(kleline: Kleline, merchant_id: str, email: str, role: str = "owner") -> MerchantUser:
    """A person of the merchant, invited by an operator, who accepted with ``PASSWORD``."""
    invited = kleline.merchant_users.invite(merchant_id, email, role, 5000 if role == "support" else None, by=OPERATOR)
    token = urlsplit(invited.url).path.rsplit("/", 1)[1]
    return kleline.merchant_users.accept(token, email.split("@")[0].title(), PASSWORD)


def authenticator(kleline: Kleline, user: MerchantUser, clock: FakeClock) -> pyotp.TOTP:
    """The user's authenticator app, set up and confirmed; the clock moves to the next time step."""
    totp = pyotp.TOTP(kleline.merchant_sign_in.set_up_authenticator(user.id, user.email).secret)
    kleline.merchant_sign_in.confirm_authenticator(user.id, totp.at(clock.now))
    clock.advance(seconds=30)
    return totp


def sign_in(browser: Visitor, email: str, totp: pyotp.TOTP | None = None, at: datetime | None = None) -> None:
    """Sign in to the dashboard with ``PASSWORD``, then a code of ``totp`` at ``at`` when the user has one."""
    browser.get("/dashboard/sign-in")
    answer = browser.post("/dashboard/sign-in", email=email, password=PASSWORD, next="/dashboard")
    assert answer.status_code == 303, answer.text
    if totp is not None:
        assert at is not None
        browser.get(answer.headers["location"])
        answer = browser.post("/dashboard/sign-in/code", code=totp.at(at), next="/dashboard")
        assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/dashboard"


def approved_yesterday(kleline: Kleline, clock: FakeClock, name: str = "Librairie Kléber") -> str:
    """A shop approved yesterday (14 January 2026, the tests' today being the 15th); its id."""
    clock.advance(days=-1)
    merchant_id = shop(kleline, name, f"Galerie {name}")
    clock.advance(days=1)
    return merchant_id


def sells(kleline: Kleline, clock: FakeClock, merchant_id: str) -> None:
    """Yesterday 40.00 by card; today 12.50 and 25.00 from the purse, 5.00 of the first refunded, and 70.00
    authorised, not captured (the shop's rate: 3.5 %)."""
    ada = customer(kleline)
    visa = card(kleline, ada.id)
    fund(kleline, ada.id, visa, 15_000)
    clock.advance(days=-1)
    done = kleline.payments.confirm(payment(kleline, merchant_id, 4000).id, ada.id, "card", card_id=visa)
    assert done.status == "succeeded"
    clock.advance(days=1)
    first = kleline.payments.confirm(payment(kleline, merchant_id, 1250).id, ada.id, "purse")
    kleline.payments.confirm(payment(kleline, merchant_id, 2500).id, ada.id, "purse")
    kleline.refunds.refund(merchant_id, first.id, eur(500))
    waiting = payment(kleline, merchant_id, 7000, capture_method="manual")
    assert kleline.payments.confirm(waiting.id, ada.id, "purse").status == "authorized"


def cells(page: httpx.Response, label: str) -> list[str]:
    """The figure named ``label`` today and this month."""
    found = re.findall(rf'<dt(?: class="total")?>{re.escape(label)}</dt><dd(?: class="total")?>([^<]*)</dd>', page.text)
    assert len(found) == 2, page.text
    return found


def test_an_owner_sees_the_shops_sales_balance_payouts_and_charts(
    kleline: Kleline, clock: FakeClock, browser: Visitor
) -> None:
    merchant_id = approved_yesterday(kleline, clock)
    sells(kleline, clock, merchant_id)
    owner = member(kleline, merchant_id, "owner@example.fr")
    totp = authenticator(kleline, owner, clock)
    sign_in(browser, owner.email, totp, clock.now)

    page = browser.get("/dashboard?lang=en")
    assert page.status_code == 200
    # Today: 37.50 captured, 5.00 refunded, commission 0.44 + 0.88 less the 0.18 the refund gave back; this month
    # adds yesterday's 40.00 (1.40 of commission). The month is its statement's.
    assert cells(page, "Gross sales") == ["€37.50", "€77.50"]
    assert cells(page, "Refunds") == ["€5.00", "€5.00"]
    assert cells(page, "Commission") == ["€1.14", "€2.54"]
    assert cells(page, "Net") == ["€31.36", "€69.96"]
    statement = kleline.reports.statement(merchant_id, "2026-01")
    assert (statement.turnover, statement.refunds, statement.commission) == (7750, 500, 254)
    assert "January 2026" in page.text and "Days and months in UTC" in page.text
    assert "<dd>€69.96</dd>" in page.text and "<dd>€70.00</dd>" in page.text  # available, pending
    assert "About €69.96, with today's settlement run." in page.text
    assert "Librairie Kléber" in page.text and "Your shop at Kleline" in page.text  # the landing page's facts stay

    charts = re.findall(r'<img src="(/dashboard/charts/(?:daily|monthly)\.svg\?lang=en&amp;v=[0-9a-f]+)"', page.text)
    assert len(charts) == 2
    assert page.text.count('<th scope="row">') == 30 + 12
    assert '<th scope="row">Thu 15 Jan</th><td>€37.50</td>' in page.text
    for address in charts:
        chart = browser.get(address.replace("&amp;", "&"))
        assert chart.status_code == 200 and chart.headers["content-type"] == "image/svg+xml"
        assert chart.headers["content-security-policy"].startswith("default-src 'none'; style-src 'unsafe-inline'")
        assert "immutable" in chart.headers["cache-control"]
        assert b"<script" not in chart.content and b"Gross sales" in chart.content and b"<svg" in chart.content
    stale = browser.get(charts[0].replace("&amp;", "&").split("&v=")[0] + "&v=0")
    assert stale.status_code == 200 and stale.headers["cache-control"] == "no-store"


def test_every_role_sees_the_overview(kleline: Kleline, clock: FakeClock, browser: Visitor) -> None:
    merchant_id = approved_yesterday(kleline, clock)
    sells(kleline, clock, merchant_id)
    for role in ("accountant", "support"):
        person = member(kleline, merchant_id, f"{role}@example.fr", role)
        with TestClient(browser.client.app, follow_redirects=False) as client:
            visitor = Visitor(client)
            sign_in(visitor, person.email)
            page = visitor.get("/dashboard?lang=en")
            assert page.status_code == 200 and cells(page, "Gross sales") == ["€37.50", "€77.50"], role


def test_the_overview_in_french(kleline: Kleline, clock: FakeClock, browser: Visitor) -> None:
    merchant_id = approved_yesterday(kleline, clock)
    sells(kleline, clock, merchant_id)
    owner = member(kleline, merchant_id, "owner@example.fr")
    totp = authenticator(kleline, owner, clock)
    sign_in(browser, owner.email, totp, clock.now)
    page = browser.get("/dashboard?lang=fr")
    assert page.status_code == 200 and '<html lang="fr"' in page.text
    assert cells(page, "Ventes brutes") == ["37,50\xa0€", "77,50\xa0€"]
    assert "janvier 2026" in page.text
    chart = re.search(r'<img src="(/dashboard/charts/daily\.svg\?lang=fr&amp;v=[0-9a-f]+)"', page.text)
    assert chart
    svg = browser.get(chart.group(1).replace("&amp;", "&"))
    assert "Ventes brutes" in svg.text and "janv." in svg.text


def test_one_shop_never_sees_anothers_figures(kleline: Kleline, clock: FakeClock, browser: Visitor) -> None:
    ours, theirs = approved_yesterday(kleline, clock), approved_yesterday(kleline, clock, "Atelier Nord")
    sells(kleline, clock, theirs)
    owner = member(kleline, ours, "owner@example.fr")
    totp = authenticator(kleline, owner, clock)
    sign_in(browser, owner.email, totp, clock.now)
    page = browser.get("/dashboard?lang=en")
    assert cells(page, "Gross sales") == ["€0.00", "€0.00"] and "€37.50" not in page.text
    assert "None due: a payout is made once your available balance reaches €10.00." in page.text
    chart = re.search(r'<img src="(/dashboard/charts/monthly\.svg\?[^"]+)"', page.text)
    assert chart and "€77.50" not in browser.get(chart.group(1).replace("&amp;", "&")).text


def test_a_shop_that_has_not_sold_yet_is_shown_how_to_take_its_first_payment(
    kleline: Kleline, clock: FakeClock, browser: Visitor
) -> None:
    """Owners only (they make the keys); gone once the first sale is made."""
    merchant_id = approved_yesterday(kleline, clock)
    owner = member(kleline, merchant_id, "owner@example.fr")
    totp = authenticator(kleline, owner, clock)
    sign_in(browser, owner.email, totp, clock.now)
    page = browser.get("/dashboard?lang=en")
    assert "Take your first payment" in page.text
    assert '<a href="/dashboard/developers">Create an API key</a>' in page.text
    assert '<a href="/docs">API reference</a>' in page.text
    assert cells(page, "Gross sales") == ["€0.00", "€0.00"]  # the figures stay, below
    assert "Encaissez votre premier paiement" in browser.get("/dashboard?lang=fr").text

    accountant = member(kleline, merchant_id, "accountant@example.fr", "accountant")
    with TestClient(browser.client.app, follow_redirects=False) as client:
        visitor = Visitor(client)
        sign_in(visitor, accountant.email)
        assert "Take your first payment" not in visitor.get("/dashboard?lang=en").text

    sells(kleline, clock, merchant_id)
    assert "Take your first payment" not in browser.get("/dashboard?lang=en").text


def test_a_shop_awaiting_approval_has_no_figures_yet(kleline: Kleline, clock: FakeClock, browser: Visitor) -> None:
    registered, _ = kleline.merchants.register(name="Atelier Sud", email="sud@example.fr", iban=IBAN)
    person = member(kleline, registered.id, "accountant@example.fr", "accountant")
    sign_in(browser, person.email)
    page = browser.get("/dashboard?lang=en")
    assert page.status_code == 200 and "Awaiting approval" in page.text
    assert "Gross sales" not in page.text and "/dashboard/charts/" not in page.text


def test_the_charts_are_for_signed_in_users_only(browser: Visitor) -> None:
    answer = browser.get("/dashboard/charts/daily.svg")
    assert answer.status_code == 303 and answer.headers["location"].startswith("/dashboard/sign-in")
