"""The top-up's strong-authentication step with a passkey, over HTTP without JavaScript: the page offers the
wallet's passkey (and the authenticator app's code beside it, if the wallet has one), and a software authenticator
answers the ceremony as the page's script would."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient

from kleline.api.app import create_app
from kleline.bootstrap import Kleline, build
from kleline.config import load_settings
from kleline.wallet import sca_store

from ..conftest import FakeClock
from ..soft_authenticator import SoftAuthenticator
from .checkout_world import card, customer, enrol, eur
from .page_visitor import Visitor, alert
from .wallet_world import bank_account

PUBLIC_URL = "http://localhost:8000"  # a host name: browsers allow passkeys there, not at an IP address


@pytest.fixture
def kleline(database_url: str, clock: FakeClock) -> Iterator[Kleline]:
    system = build(load_settings(database_url=database_url, public_url=PUBLIC_URL), clock=clock)
    try:
        yield system
    finally:
        system.close()


@pytest.fixture
def browser(kleline: Kleline) -> Iterator[Visitor]:
    with TestClient(create_app(kleline), follow_redirects=False, base_url=PUBLIC_URL) as client:
        yield Visitor(client)


def with_passkey(kleline: Kleline, customer_id: str) -> SoftAuthenticator:
    device = SoftAuthenticator(PUBLIC_URL)
    offer = kleline.passkeys.begin_registration(customer_id)
    kleline.passkeys.register(customer_id, offer.ceremony_id, device.create(offer.options_json), "Phone")
    return device


def passkey_form(page: httpx.Response) -> tuple[str, str, dict[str, str]]:
    """The passkey form of the step: where it posts, the options the script hands the authenticator, its fields."""
    form = re.search(
        r'<form method="post" action="([^"]+/passkey)"[^>]*data-options="([^"]+)"(.*?)</form>', page.text, re.S
    )
    assert form, page.text
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form.group(3)))
    fields.pop("csrf_token", None)
    return form.group(1), html.unescape(form.group(2)), fields


def ask(browser: Visitor, source: str, amount: str = "50") -> httpx.Response:
    """Ask for a top-up from the form; the strong-authentication step it leads to."""
    page = browser.get("/wallet/top-up")
    key = re.search(r'name="form_key" value="([^"]+)"', page.text)
    assert key
    asked = browser.post("/wallet/top-up", amount=amount, source=source, form_key=key.group(1))
    assert asked.status_code == 303 and "?challenge=sca_" in asked.headers["location"], asked.text
    return browser.get(asked.headers["location"])


def failures(kleline: Kleline, customer_id: str) -> int:
    with kleline.db.transaction() as tx:
        locked = sca_store.lock_customer(tx, customer_id, "EUR")
    assert locked is not None
    return locked[1].consecutive_failures


def test_a_top_up_above_the_exemption_is_confirmed_with_a_passkey_once_whatever_the_clicks(
    kleline: Kleline, browser: Visitor
) -> None:
    ada = customer(kleline)
    card_id = card(kleline, ada.id)
    device = with_passkey(kleline, ada.id)  # and no authenticator app
    browser.sign_in_to("/wallet")
    step = ask(browser, card_id)
    assert "Confirm with a passkey and add €50.00" in step.text and "Visa card ending 4242" in step.text
    assert "Confirming with a passkey needs JavaScript" in step.text  # until the script hides it
    assert 'name="sca_code"' not in step.text  # no app: no code form
    assert "script-src 'self'" in step.headers["content-security-policy"] and "/static/passkeys.js" in step.text
    action, options, fields = passkey_form(step)

    missing = browser.post(action, **fields)  # the script did not run: its credential field is empty
    assert missing.status_code == 400 and "passkey_response_missing" in alert(missing)
    forged = browser.post(action, **(fields | {"credential": device.get(options, origin="https://evil.example")}))
    assert forged.status_code == 400 and "passkey_response_invalid" in alert(forged)
    assert failures(kleline, ada.id) == 1 and kleline.top_ups.standing(ada).balance == eur(0)

    action, options, fields = passkey_form(forged)  # a new ceremony, the same form key
    done = browser.post(action, **(fields | {"credential": device.get(options)}))
    again = browser.post(action, **(fields | {"credential": device.get(options)}))  # a second click
    assert done.status_code == again.status_code == 303 and done.headers["location"] == "/wallet"
    assert kleline.top_ups.standing(ada).balance == eur(5000)
    assert "€50.00 was added to your purse from your card." in browser.get("/wallet").text
    assert failures(kleline, ada.id) == 0


def test_a_wallet_with_an_app_and_a_passkey_is_offered_both_and_the_code_still_passes(
    kleline: Kleline, browser: Visitor, clock: FakeClock
) -> None:
    ada = customer(kleline)
    totp = enrol(kleline, ada)
    card_id = card(kleline, ada.id)
    with_passkey(kleline, ada.id)
    browser.sign_in_to("/wallet?lang=fr")
    step = ask(browser, card_id)
    assert "Confirmer avec une clé d’accès et ajouter 50,00\u00a0€" in step.text
    assert "Ou utilisez votre application d’authentification" in step.text and 'name="sca_code"' in step.text
    _, _, fields = passkey_form(step)
    done = browser.post(step.url.path + "/authenticate", sca_code=totp.at(clock.now), **fields)
    assert (done.status_code, done.headers["location"]) == (303, "/wallet")
    assert kleline.top_ups.standing(ada).balance == eur(5000)


def test_a_late_passkey_answer_gets_a_fresh_challenge_that_a_new_answer_passes(
    kleline: Kleline, browser: Visitor, clock: FakeClock
) -> None:
    ada = customer(kleline)
    account = bank_account(kleline, ada.id)  # by direct debit: the same step
    device = with_passkey(kleline, ada.id)
    browser.sign_in_to("/wallet")
    step = ask(browser, account.id, "40")
    assert "Direct debit from FR76" in step.text
    action, options, fields = passkey_form(step)
    clock.advance(minutes=6)  # the challenge and its ceremony lived 5 minutes
    late = browser.post(action, **(fields | {"credential": device.get(options)}))
    assert late.status_code == 410 and "passkey_ceremony_expired" in alert(late)
    assert "This passkey request expired: try again" in alert(late)
    fresh_action, options, fields = passkey_form(late)
    assert fresh_action != action and "Confirm with a passkey and add €40.00" in late.text
    done = browser.post(fresh_action, **(fields | {"credential": device.get(options)}))
    assert (done.status_code, done.headers["location"]) == (303, "/wallet")
    assert kleline.top_ups.standing(ada).balance == eur(4000)


def test_no_passkey_is_offered_at_an_ip_address_and_the_code_form_stays(database_url: str, clock: FakeClock) -> None:
    address = "http://127.0.0.1:8000"
    system = build(load_settings(database_url=database_url, public_url=address), clock=clock)
    try:
        ada = customer(system)
        enrol(system, ada)
        card_id = card(system, ada.id)
        offer = system.passkeys.begin_registration(ada.id)
        system.passkeys.register(ada.id, offer.ceremony_id, SoftAuthenticator(address).create(offer.options_json), "P")
        with TestClient(create_app(system), follow_redirects=False, base_url=address) as client:
            browser = Visitor(client)
            browser.sign_in_to("/wallet")
            step = ask(browser, card_id)
            assert 'name="sca_code"' in step.text and "data-passkey" not in step.text
            assert "script-src" not in step.headers["content-security-policy"]
    finally:
        system.close()
