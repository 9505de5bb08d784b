"""The consents in Chromium: at checkout the "share my email" box is unticked until the shopper ticks it; in the
wallet's privacy page each consent is granted or withdrawn with one click (or one key press), at once. Then every
state of the page (and the checkout with its box) at phone width and wide, in French and English: nothing overflows
sideways, and axe finds no violation. Set ``KLELINE_SCREENSHOTS`` to a directory to keep a screenshot of each."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from kleline.bootstrap import Kleline
from kleline.privacy import sharing

from ..e2e.checkout_world import PASSWORD, card, customer, fund, payment, shop
from .conftest import LiveKleline
from .layout import State, layout_problems

pytestmark = pytest.mark.browser

WIDTHS = (360, 1280)


def _shared(kleline: Kleline, merchant_id: str, customer_id: str) -> str | None:
    with kleline.db.transaction(write=False) as tx:
        return sharing.shared_emails(tx, merchant_id, [customer_id], kleline.customers.keys).get(customer_id)


def _sign_in(page: Page) -> None:
    page.get_by_label("Email address").fill("ada@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_text("Signed in as Ada Lovelace")).to_be_visible()


def test_a_shopper_shares_the_email_at_checkout_then_withdraws_and_grants_in_one_click_each(
    live: LiveKleline, page: Page
) -> None:
    kleline = live.kleline
    merchant_id = shop(kleline)
    ada = customer(kleline)
    fund(kleline, ada.id, card(kleline, ada.id), 3000)

    first = payment(kleline, merchant_id, 1000, return_url=None)
    page.goto(first.checkout_url)
    _sign_in(page)
    box = page.get_by_label("Share my email address with Librairie Kléber")
    expect(box).not_to_be_checked()  # unticked unless the shopper ticks it
    page.get_by_label(re.compile(r"^Your purse: ")).check()
    page.get_by_role("button", name="Pay €10.00").click()
    expect(page.locator("#confirmation")).to_be_visible()
    assert _shared(kleline, merchant_id, ada.id) is None

    second = payment(kleline, merchant_id, 1000, return_url=None)
    page.goto(second.checkout_url)
    page.get_by_label(re.compile(r"^Your purse: ")).check()
    box = page.get_by_label("Share my email address with Librairie Kléber")
    box.focus()
    page.keyboard.press("Space")  # by keyboard
    expect(box).to_be_checked()
    page.get_by_role("button", name="Pay €10.00").click()
    expect(page.locator("#confirmation")).to_be_visible()
    assert _shared(kleline, merchant_id, ada.id) == "ada@example.org"

    page.goto(f"{live.url}/wallet")
    page.get_by_role("navigation", name="Your wallet").get_by_role("link", name="Privacy").click()
    expect(page.get_by_role("heading", name="Privacy", level=1)).to_be_visible()
    sharing_item = page.locator(f"#consent-share_email-merchant-{merchant_id}")
    expect(sharing_item).to_contain_text("You agreed on")
    sharing_item.get_by_role("button", name=re.compile(r"^Withdraw")).click()  # one click
    expect(page.get_by_role("status")).to_contain_text("Your consent is withdrawn")
    expect(sharing_item).to_contain_text("Not agreed.")
    assert _shared(kleline, merchant_id, ada.id) is None  # at once

    books = page.locator("#consent-offers-category-books")
    books.get_by_role("button", name=re.compile(r"^Agree")).focus()
    page.keyboard.press("Enter")  # one key press
    expect(page.get_by_role("status")).to_contain_text("Your consent is recorded")
    expect(books).to_contain_text("You agreed on")
    history = page.locator("#consent-history li")
    expect(history).to_have_count(3)
    expect(history.first).to_contain_text("Offers from the category Books")
    assert [(e.purpose, e.channel) for e in kleline.consents.history(ada.id)] == [
        ("share_email", "checkout"),
        ("share_email", "wallet"),
        ("offers", "wallet"),
    ]


def _states(kleline: Kleline, base: str) -> list[State]:
    ada = customer(kleline, name="Adélaïde-Marguerite de Montmorency-Laval")
    fund(kleline, ada.id, card(kleline, ada.id), 3000)
    merchant_id = shop(kleline, "Librairie-Papeterie des Grands Boulevards Réunis")
    paid = payment(kleline, merchant_id, 1200, return_url=None)
    kleline.payments.confirm(paid.id, ada.id, "purse", None)
    waiting = payment(kleline, merchant_id, 1500, return_url=None)

    def signed_in(page: Page) -> None:
        page.locator("#email").fill("ada@example.org")
        page.locator("#password").fill(PASSWORD)
        page.locator("form[action='/sign-in'] button[type=submit]").click()
        page.wait_for_selector("h1")

    def answered(page: Page) -> None:
        if not kleline.consents.history(ada.id):
            kleline.consents.grant(ada.id, "share_email", f"merchant:{merchant_id}", channel="checkout")
            kleline.consents.grant(ada.id, "offers", "category:books", channel="wallet", language="fr")
            kleline.consents.withdraw(ada.id, "offers", "category:books", channel="api")
            kleline.consents.grant(ada.id, "audience_statistics", channel="wallet")
        signed_in(page)

    return [
        ("privacy-new", "/wallet/privacy", signed_in),
        ("privacy-answered", "/wallet/privacy", answered),
        ("checkout-share-email", f"/checkout/{waiting.id}", signed_in),
    ]


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_no_privacy_page_overflows_a_phone_and_axe_finds_no_violation(
    live: LiveKleline, chromium: Browser, lang: str
) -> None:
    assert layout_problems(chromium, live.url, _states(live.kleline, live.url), lang, WIDTHS) == []
