"""A customer pays through the hosted checkout page in Chromium: with the purse, and by card with a challenge."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page, expect

from kleline.ledger.audit import trial_balance
from kleline.merchants.model import balance_account
from kleline.wallet.customers import purse_code

from ..conftest import FakeClock
from ..e2e.checkout_world import PASSWORD, card, customer, enrol, fund, payment, shop
from .conftest import SHOP_ORIGIN, LiveKleline, Shop

pytestmark = pytest.mark.browser

RETURN_URL = f"{SHOP_ORIGIN}/orders/42/done?lang=fr"


def sign_in(page: Page, email: str = "ada@example.org") -> None:
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_text("Signed in as Ada Lovelace")).to_be_visible()


def returned(page: Page, shop_site: Shop) -> dict[str, list[str]]:
    """The query the shop's return page was opened with, once the customer went on from Kleline's confirmation."""
    expect(page.locator("#confirmation")).to_be_visible()  # Kleline's own page first, with the receipt
    receipt = page.get_by_role("link", name="See your receipt")
    expect(receipt).to_have_attribute("href", re.compile(r"^/wallet/receipts/"))
    assert shop_site.returns == []
    page.get_by_role("link", name=re.compile(r"^Continue to ")).click()
    page.wait_for_url(re.compile(rf"^{re.escape(SHOP_ORIGIN)}/orders/42/done\?"))
    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    assert len(shop_site.returns) == 1
    parts = urlsplit(shop_site.returns[0])
    assert parts.path == "/orders/42/done"
    return parse_qs(parts.query)


def test_a_customer_pays_with_the_purse(live: LiveKleline, page: Page, shop_site: Shop) -> None:
    kleline = live.kleline
    merchant_id = shop(kleline)
    ada = customer(kleline)
    fund(kleline, ada.id, card(kleline, ada.id), 3000)
    paying = payment(kleline, merchant_id, 1250, description="Les Misérables, 2 vol.", return_url=RETURN_URL)
    assert paying.checkout_url == f"{live.url}/checkout/{paying.id}"

    page.goto(paying.checkout_url)
    expect(page).to_have_title("Pay Librairie Kléber · Kleline")
    expect(page.locator("#merchant")).to_have_text("Librairie Kléber")
    expect(page.locator("#malls")).to_have_text("Galerie Kléber")
    expect(page.locator("#amount")).to_have_text("€12.50")
    expect(page.locator("#description")).to_have_text("Les Misérables, 2 vol.")
    sign_in(page)

    purse = page.get_by_label(re.compile(r"^Your purse: €30\.00 available"))
    expect(purse).to_be_checked()
    page.get_by_role("button", name="Pay €12.50").click()

    query = returned(page, shop_site)
    assert query == {"lang": ["fr"], "payment_id": [paying.id], "status": ["succeeded"]}
    paid = kleline.payments.get(paying.id)
    assert (paid.status, paid.customer_id, paid.method, paid.amount_captured) == ("succeeded", ada.id, "purse", 1250)
    assert kleline.ledger.balance(purse_code(ada.id)).posted == 3000 - 1250
    assert kleline.ledger.balance(balance_account(merchant_id)).posted == 1250 - 44
    assert kleline.ledger.balance("kleline:commission").posted == 44
    assert trial_balance(kleline.db).balanced


def test_a_customer_pays_by_card_passing_the_strong_authentication_challenge(
    live: LiveKleline, page: Page, shop_site: Shop, clock: FakeClock
) -> None:
    kleline = live.kleline
    merchant_id = shop(kleline)
    ada = customer(kleline)
    totp = enrol(kleline, ada)
    card_id = card(kleline, ada.id)
    paying = payment(kleline, merchant_id, 4500, return_url=RETURN_URL)  # above the 30 EUR exemption

    page.goto(paying.checkout_url)
    sign_in(page)
    page.get_by_label(re.compile(r"^Visa card ending 4242")).check()
    page.get_by_role("button", name="Pay €45.00").click()

    expect(page.get_by_role("heading", name="Confirm it is you")).to_be_visible()
    assert kleline.payments.get(paying.id).status == "requires_action"
    code = page.get_by_label("Code from your authenticator app")
    code.fill("000000" if totp.at(clock.now) != "000000" else "111111")
    page.get_by_role("button", name="Confirm and pay €45.00").click()
    expect(page.get_by_role("alert")).to_contain_text("sca_code_invalid")
    expect(code).to_have_attribute("aria-invalid", "true")
    assert kleline.payments.get(paying.id).status == "requires_action"

    clock.advance(seconds=30)  # the next time step: a code is accepted once only
    code.fill(totp.at(clock.now))
    page.get_by_role("button", name="Confirm and pay €45.00").click()

    query = returned(page, shop_site)
    assert query == {"lang": ["fr"], "payment_id": [paying.id], "status": ["succeeded"]}
    paid = kleline.payments.get(paying.id)
    assert (paid.status, paid.method, paid.card_id, paid.amount_captured) == ("succeeded", "card", card_id, 4500)
    assert kleline.ledger.balance(balance_account(merchant_id)).posted == 4500 - 158  # 3.5 %, rounded half up
    assert kleline.ledger.balance("card:visa:receivable").posted == 4500
    assert trial_balance(kleline.db).balanced


def test_the_page_can_be_used_with_the_keyboard_and_reads_its_errors_out(
    live: LiveKleline, page: Page, shop_site: Shop
) -> None:
    kleline = live.kleline
    customer(kleline)
    paying = payment(kleline, shop(kleline), 1000, return_url=RETURN_URL)
    page.goto(paying.checkout_url)
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to main content")
    expect(skip).to_be_focused()
    expect(skip).to_be_visible()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()

    page.get_by_label("Email address").fill("ada@example.org")
    page.get_by_label("Password").fill("not the password")
    page.get_by_label("Password").press("Enter")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Wrong email or password")
    expect(alert).to_contain_text("invalid_credentials")
    expect(page).to_have_title(re.compile(r"^Error: "))
    assert shop_site.returns == []
