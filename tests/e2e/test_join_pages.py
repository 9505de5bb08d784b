"""Joining over HTTP, without JavaScript: the public form and its links, every error at once with the API's codes,
values kept and the password never, CSRF; a shop that joins lands with its owner setting up an authenticator, then
reads where its application stands; refusal and suspension as the dashboard tells them; the pages that need an
active shop say so."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx2 as httpx
import pyotp
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from kleline.api.app import create_app
from kleline.bootstrap import Kleline, build
from kleline.config import load_settings
from kleline.merchants import Mall

from ..conftest import FakeClock
from ..integration.helpers import count_rows
from ..operator_keys import OPERATOR
from .dashboard_world import PASSWORD, DashboardVisitor, member, secret_on
from .page_visitor import alert

IBAN = "FR1420041010050500013M02606"
SIRET = "73282932000074"
VAT_NUMBER = "FR44732829320"
FORM = {
    "name": "Papeterie Moreau SARL",
    "siret": "732 829 320 00074",
    "vat_number": "FR 44 732 829 320",
    "iban": "FR14 2004 1010 0505 0001 3M02 606",
    "bic": "",
    "contact_name": "Camille Moreau",
    "email": "camille@papeterie-moreau.example",
    "contact_phone": "01 23 45 67 89",
    "website": "https://papeterie-moreau.example",
    "category": "stationery",
    "description": "Notebooks, fountain pens & ink",
    "password": PASSWORD,
}
_TABLES = ("merchants", "merchant_users", "merchant_keys", "mall_merchants", "merchant_audit")


@pytest.fixture
def kleline(database_url: str, clock: FakeClock) -> Iterator[Kleline]:
    """Kleline whose rate limits leave room for a test's many forms (the join form's is tested on its own)."""
    system = build(load_settings(database_url=database_url, sign_in_rate=1000, sign_up_rate=1000), clock=clock)
    try:
        yield system
    finally:
        system.close()


@pytest.fixture
def app(kleline: Kleline) -> FastAPI:
    return create_app(kleline)


@pytest.fixture
def browser(app: FastAPI) -> DashboardVisitor:
    return DashboardVisitor(TestClient(app, follow_redirects=False))


@pytest.fixture
def malls(kleline: Kleline) -> tuple[Mall, Mall]:
    return kleline.malls.create("Passage Kléber", "passage-kleber", actor=OPERATOR), kleline.malls.create(
        "Les Halles", "les-halles", actor=OPERATOR
    )


def _counts(kleline: Kleline) -> list[int]:
    return [count_rows(kleline.db, table) for table in _TABLES]


def _input(page: httpx.Response, name: str) -> str:
    """The ``<input>`` (or other control) named ``name`` on the page."""
    found = re.search(rf'<(?:input|select|textarea)[^>]*\bname="{re.escape(name)}"[^>]*>', page.text)
    assert found, name
    return found.group(0)


def _join(browser: DashboardVisitor, **changes: str) -> httpx.Response:
    browser.get("/join")
    return browser.post("/join", **(FORM | changes))


def _enrol(browser: DashboardVisitor, clock: FakeClock, answer: httpx.Response) -> pyotp.TOTP:
    """Follow a joined shop's answer to the authenticator page, set one up, and land on the dashboard."""
    assert (answer.status_code, answer.headers["location"]) == (
        303,
        "/dashboard/sign-in/authenticator?next=%2Fdashboard",
    )
    page = browser.get(answer.headers["location"])
    assert "Your shop&#39;s application is sent" in page.text
    totp = secret_on(browser.post("/dashboard/sign-in/authenticator", next="/dashboard"))
    done = browser.post("/dashboard/sign-in/authenticator/confirm", code=totp.at(clock.now), next="/dashboard")
    assert (done.status_code, done.headers["location"]) == (303, "/dashboard")
    clock.advance(seconds=30)
    return totp


def test_the_join_form_is_public_and_linked_from_the_home_page_and_the_dashboards_sign_in(
    browser: DashboardVisitor, malls: tuple[Mall, Mall]
) -> None:
    page = browser.get("/join")
    assert page.status_code == 200
    assert "kleline_dashboard=" in page.headers["set-cookie"]  # the form's token is the dashboard session's
    assert 'href="/join"' in browser.get("/").text
    assert 'href="/join"' in browser.get("/dashboard/sign-in").text
    for name in ("name", "siret", "vat_number", "iban", "bic", "contact_name", "email", "contact_phone", "website"):
        assert f'name="{name}"' in page.text, name
    assert 'name="category"' in page.text and 'name="description"' in page.text and 'type="password"' in page.text
    assert " required" in _input(page, "vat_number") and " required" not in _input(page, "bic")
    assert 'autocomplete="new-password"' in _input(page, "password")
    for mall in malls:
        assert f'name="mall:{mall.id}"' in page.text and mall.name in page.text
    assert '<option value="stationery">Stationery and arts</option>' in page.text


def test_an_empty_form_shows_every_error_at_once_with_the_apis_codes_and_records_nothing(
    kleline: Kleline, browser: DashboardVisitor
) -> None:
    before = _counts(kleline)
    browser.get("/join")
    refused = browser.post("/join")
    assert refused.status_code == 400
    summary = alert(refused)
    fields = re.findall(r'<a href="#([a-z_]+)">', summary)
    assert fields == [
        "name",
        "siret",
        "vat_number",
        "iban",
        "contact_name",
        "email",
        "contact_phone",
        "website",
        "category",
        "description",
        "password",
    ]
    codes = re.findall(r"<code>([a-z_]+)</code>", summary)
    assert codes == ["validation_error"] * 3 + ["invalid_iban"] + ["validation_error"] * 7
    for field in fields:  # and next to each field, which says it is invalid
        assert f'id="{field}-error"' in refused.text, field
        assert 'aria-invalid="true"' in _input(refused, field), field
    assert "Enter the IBAN of the company&#39;s account" in summary
    assert "<title>Error: " in refused.text
    assert _counts(kleline) == before


def test_values_come_back_with_their_errors_but_the_password_never_does(
    kleline: Kleline, browser: DashboardVisitor, malls: tuple[Mall, Mall]
) -> None:
    before = _counts(kleline)
    chosen = {f"mall:{malls[1].id}": "on"}
    refused = _join(browser, vat_number="FR40303265045", contact_phone="12 34", **chosen)
    assert refused.status_code == 400
    summary = alert(refused)
    assert re.findall(r'<a href="#([a-z_]+)">', summary) == ["vat_number", "contact_phone"]
    assert "not that of the SIRET&#39;s company, whose VAT number is FR44732829320" in summary
    assert "invalid_vat_number" in summary
    assert 'value="FR40303265045"' in _input(refused, "vat_number")
    assert 'value="Papeterie Moreau SARL"' in _input(refused, "name")
    assert "Notebooks, fountain pens &amp; ink</textarea>" in refused.text
    assert '<option value="stationery" selected>' in refused.text
    assert "checked" in _input(refused, f"mall:{malls[1].id}") and "checked" not in _input(
        refused, f"mall:{malls[0].id}"
    )
    assert PASSWORD not in refused.text and "value=" not in _input(refused, "password")
    assert _counts(kleline) == before


def test_a_post_without_the_forms_token_records_nothing(kleline: Kleline, browser: DashboardVisitor) -> None:
    before = _counts(kleline)
    browser.get("/join")
    forged = browser.post("/join", csrf="forged", **FORM)
    assert forged.status_code == 403
    assert _counts(kleline) == before


def test_a_shop_joins_pending_its_owner_sets_up_an_authenticator_and_reads_where_its_application_stands(
    kleline: Kleline, browser: DashboardVisitor, clock: FakeClock, malls: tuple[Mall, Mall]
) -> None:
    keys_before = count_rows(kleline.db, "merchant_keys")
    answer = _join(browser, **{f"mall:{malls[0].id}": "on"})
    assert "sk_" not in answer.text  # no secret on the way
    [merchant] = kleline.merchants.list(status="pending")
    assert (merchant.name, merchant.siret, merchant.vat_number, merchant.contact_phone) == (
        "Papeterie Moreau SARL",
        SIRET,
        VAT_NUMBER,
        "+33123456789",
    )
    assert merchant.mall_ids == (malls[0].id,)
    assert count_rows(kleline.db, "merchant_keys") == keys_before
    assert browser.get("/dashboard").headers["location"].startswith("/dashboard/sign-in/authenticator")  # not yet
    _enrol(browser, clock, answer)

    home = browser.get("/dashboard")
    assert home.status_code == 200
    text = home.text
    assert "<h1>Papeterie Moreau SARL</h1>" in text and "Your application" in text and "Awaiting approval" in text
    assert "Application sent on" in text and "What Kleline checks" in text
    assert "Your authenticator app is set up" in text
    assert VAT_NUMBER in text and "+33 1 23 45 67 89" in text and "FR*********************2606" in text
    assert "Stationery and arts" in text and "Passage Kléber" in text
    assert "Today" not in text and "Balance" not in text  # no figures for a shop that sells nothing yet
    assert 'href="/dashboard/developers"' in text  # the owner may prepare its integration meanwhile
    payments = browser.get("/dashboard/payments")
    assert payments.status_code == 200 and "Your shop takes no payment yet" in payments.text
    assert "Kleline is checking its application" in browser.get("/dashboard/payouts").text
    assert "Where your shop stands" in browser.get("/dashboard/statements").text
    activity = browser.get("/dashboard/settings/activity")
    assert "Sent the shop&#39;s application to join Kleline" in activity.text


def _form_key(page: httpx.Response, action: str) -> str:
    found = re.search(rf'action="{re.escape(action)}".*?name="form_key" value="([^"]+)"', page.text, re.S)
    assert found, page.text
    return found.group(1)


def test_a_refused_shop_reads_why_and_gets_no_new_key(
    kleline: Kleline, browser: DashboardVisitor, clock: FakeClock
) -> None:
    totp = _enrol(browser, clock, _join(browser))
    [merchant] = kleline.merchants.list(status="pending")
    clock.advance(minutes=16)  # the session lives on; its second factor is now too old for a new key
    kleline.merchants.refuse(merchant.id, "The SIRET belongs to a company that ceased <trading>", actor=OPERATOR)
    home = browser.get("/dashboard")
    assert "Refused" in home.text and "Refused on" in home.text
    assert "The SIRET belongs to a company that ceased &lt;trading&gt;" in home.text
    assert "Balance" not in home.text
    assert "Kleline has refused its application" in browser.get("/dashboard/payments").text
    browser.get("/dashboard/confirm?next=%2Fdashboard%2Fdevelopers")
    confirmed = browser.post("/dashboard/confirm", code=totp.at(clock.now), next="/dashboard/developers")
    assert confirmed.status_code == 303
    developers = browser.get("/dashboard/developers")
    assert "Kleline has refused your shop's application" in developers.text
    action = "/dashboard/developers/keys"
    made = browser.post(action, label="", form_key=_form_key(developers, action))
    assert made.status_code == 403 and "merchant_not_active" in alert(made)
    assert "refused your shop&#39;s application: it can get no new API key" in alert(made)
    assert count_rows(kleline.db, "merchant_keys") == 0
    kleline.merchants.approve(merchant.id, actor=OPERATOR)  # an operator who reconsiders
    assert "Your shop takes payments with Kleline" in browser.get("/dashboard").text


def test_a_suspended_shop_reads_why_and_keeps_its_figures(
    kleline: Kleline, browser: DashboardVisitor, clock: FakeClock
) -> None:
    _enrol(browser, clock, _join(browser))
    [merchant] = kleline.merchants.list(status="pending")
    kleline.merchants.approve(merchant.id, actor=OPERATOR)
    kleline.merchants.suspend(merchant.id, "Unusual refund rate: we are looking into it", actor=OPERATOR)
    home = browser.get("/dashboard")
    assert "Your shop is suspended" in home.text and "Suspended since" in home.text
    assert "Unusual refund rate: we are looking into it" in home.text
    assert "Balance" in home.text  # its balance is still paid out
    assert "Your shop is suspended: it takes no new payment" in browser.get("/dashboard/payouts").text
    kleline.merchants.approve(merchant.id, actor=OPERATOR)
    kleline.merchants.suspend(merchant.id, actor=OPERATOR)
    assert "Contact Kleline to know why" in browser.get("/dashboard").text


def test_an_address_that_already_has_a_dashboard_account_cannot_join_again(
    kleline: Kleline, browser: DashboardVisitor
) -> None:
    shop, _ = kleline.merchants.register(name="Librairie Kléber", email="shop@example.fr", iban=IBAN)
    member(kleline, shop.id, FORM["email"], "accountant")
    before = _counts(kleline)
    refused = _join(browser)
    assert refused.status_code == 409
    assert "already has a Kleline dashboard account" in alert(refused) and "already_a_member" in alert(refused)
    assert _counts(kleline) == before


def test_a_person_signed_in_to_a_dashboard_is_told_to_sign_out_before_applying(
    kleline: Kleline, browser: DashboardVisitor, clock: FakeClock
) -> None:
    _enrol(browser, clock, _join(browser))
    page = browser.get("/join")
    assert "You are signed in to the dashboard of Papeterie Moreau SARL" in page.text
    assert 'name="vat_number"' not in page.text
    before = _counts(kleline)
    again = browser.post("/join", **(FORM | {"email": "other@example.org"}))
    assert again.status_code == 409 and _counts(kleline) == before


def test_the_form_and_its_errors_speak_french(browser: DashboardVisitor) -> None:
    page = browser.get("/join?lang=fr")
    assert '<html lang="fr">' in page.text and "Raison sociale" in page.text
    refused = browser.post("/join", **(FORM | {"vat_number": "FR45732829320", "password": "court"}))
    summary = alert(refused)
    assert "numéro de TVA" in summary and "invalid_vat_number" in summary
    assert "Choisissez un mot de passe de 12 à 1024 caractères" in summary


def test_the_join_form_counts_against_the_sign_up_rate_limit(database_url: str, clock: FakeClock) -> None:
    kleline = build(load_settings(database_url=database_url, sign_up_rate=1), clock=clock)
    try:
        browser = DashboardVisitor(TestClient(create_app(kleline), follow_redirects=False))
        browser.get("/join")
        assert browser.post("/join", **(FORM | {"siret": "1"})).status_code == 400
        limited = browser.post("/join", **FORM)
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0
        assert "rate_limited" in alert(limited)
        assert 'value="Papeterie Moreau SARL"' in _input(limited, "name")
        assert count_rows(kleline.db, "merchants") == 0
    finally:
        kleline.close()
