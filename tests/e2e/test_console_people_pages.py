"""The console's customers and merchants (``/console/customers``, ``/console/merchants``) over HTTP on each backend:
support searches and reads a customer's wallet (a card shows only its first six and last four digits) and a
merchant's page (its IBAN masked), and an unknown id is a readable 404."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from kleline.api.app import create_app
from kleline.bootstrap import Kleline, build
from kleline.config import load_settings
from kleline.staff.roles import Role

from ..conftest import FakeClock
from .checkout_world import IBAN, VISA, card, customer, payment, shop
from .console_world import PUBLIC_URL, ConsoleVisitor, staff_member


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
    return create_app(kleline)


@pytest.fixture
def support(app: FastAPI, kleline: Kleline, clock: FakeClock) -> ConsoleVisitor:
    _, totp = staff_member(kleline, "sam@example.org", Role.SUPPORT, clock)
    browser = ConsoleVisitor(TestClient(app, follow_redirects=False, base_url=PUBLIC_URL))
    browser.sign_in_console("sam@example.org", totp, clock.now)
    return browser


def test_support_finds_a_customer_and_reads_their_wallet_with_cards_masked(
    kleline: Kleline, support: ConsoleVisitor
) -> None:
    merchant = shop(kleline)
    ada = customer(kleline)
    card_id = card(kleline, ada.id)
    kleline.payments.confirm(payment(kleline, merchant, 1500).id, ada.id, "card", card_id=card_id)
    customer(kleline, "bob@example.org", "Bob Martin")
    found = html.unescape(support.get("/console/customers?q=ada").text)
    assert "Ada Lovelace" in found and f"/console/customers/{ada.id}" in found and "Bob Martin" not in found
    assert "Nothing matches." in html.unescape(support.get("/console/customers?q=zzz").text)
    page = support.get(f"/console/customers/{ada.id}")
    assert page.status_code == 200, page.text
    text = html.unescape(page.text)
    assert "424242******4242" in text and VISA not in text
    assert "Librairie Kléber" in text and "€15.00" in text and "Paid" in text
    assert "Verification level" in text
    french = html.unescape(support.get(f"/console/customers/{ada.id}?lang=fr").text)
    assert "Niveau de vérification" in french and "Payé" in french
    missing = support.get("/console/customers/cus_nobody?lang=en")
    assert missing.status_code == 404 and "No customer has this id." in html.unescape(missing.text)


def test_support_finds_a_merchant_and_reads_its_page_with_the_iban_masked(
    kleline: Kleline, support: ConsoleVisitor
) -> None:
    merchant = shop(kleline)
    found = html.unescape(support.get("/console/merchants?q=Librairie").text)
    assert f"/console/merchants/{merchant}" in found
    page = support.get(f"/console/merchants/{merchant}")
    assert page.status_code == 200, page.text
    text = html.unescape(page.text)
    assert IBAN not in text and IBAN[-4:] in text and "FR" + "*" * (len(IBAN) - 6) + IBAN[-4:] in text
    assert "Active" in text and re.search(r"Commission</dt><dd>[0-9.]+%</dd>", text)
    french = html.unescape(support.get(f"/console/merchants/{merchant}?lang=fr").text)
    assert (
        "Commission" in french and "Active" in french and re.search(r"Commission</dt><dd>[0-9,]+\u00a0%</dd>", french)
    )
    missing = support.get("/console/merchants/mer_nobody?lang=en")
    assert missing.status_code == 404 and "No merchant has this id." in html.unescape(missing.text)


def test_a_signed_out_visitor_is_sent_to_the_sign_in(app: FastAPI) -> None:
    browser = ConsoleVisitor(TestClient(app, follow_redirects=False, base_url=PUBLIC_URL))
    for path in ("/console/customers", "/console/merchants", "/console/books"):
        assert browser.get(path).status_code == 303
