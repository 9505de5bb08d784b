"""A shopper's wallet in Chromium: open a wallet on the web, add a card, top up 50 EUR with the authenticator's code,
top up by direct debit from a bank account added on the way; and a shopper in debt repays it from the purse.

The authenticator app is enrolled through Kleline's own service (the security page is another page's journey), and
its codes are computed for the server's hand-moved clock, as the app would.
"""

from __future__ import annotations

import re

import pyotp
import pytest
from playwright.sync_api import Page, expect

from kleline.ledger.audit import trial_balance

from ..conftest import FakeClock
from ..e2e.checkout_world import PASSWORD, card, customer, eur, fund
from ..e2e.wallet_world import in_debt
from .conftest import LiveKleline

pytestmark = pytest.mark.browser


def sign_in(page: Page, email: str = "ada@example.org") -> None:
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()


def test_a_shopper_opens_a_wallet_adds_a_card_and_tops_up_with_the_code_then_by_direct_debit(
    live: LiveKleline, page: Page, clock: FakeClock
) -> None:
    kleline = live.kleline
    page.goto(f"{live.url}/sign-up?next=/wallet")
    page.get_by_label("Your name").fill("Ada Lovelace")
    page.get_by_label("Email address").fill("ada@example.org")
    page.get_by_label("Choose a password").fill(PASSWORD)
    page.get_by_role("button", name="Open my wallet").click()
    expect(page.get_by_role("status")).to_contain_text("Your wallet is open. Welcome, Ada Lovelace!")
    expect(page.locator("#balance")).to_have_text("€0.00")
    expect(page.locator("#top-up-room")).to_have_text("You can top up at most €150.00 now.")

    customer_id = kleline.customers.check_password("ada@example.org", PASSWORD)
    enrolment = kleline.strong_auth.enrol(customer_id, "ada@example.org")
    totp = pyotp.parse_uri(enrolment.provisioning_uri)
    assert isinstance(totp, pyotp.TOTP)

    page.get_by_role("link", name="Add a card").click()
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_label("Expiry month (MM)").fill("12")
    page.get_by_label("Expiry year (YYYY)").fill("2030")
    page.get_by_label("Security code").fill("123")
    page.get_by_label("Name on the card").fill("Ada Lovelace")
    page.get_by_role("button", name="Add this card").click()
    expect(page.get_by_role("status")).to_contain_text("Your Visa card ending 4242 was added to your wallet.")
    expect(page.get_by_text("VISA •••• 4242")).to_be_visible()

    page.get_by_role("navigation", name="Your wallet").get_by_role("link", name="Top up").click()
    page.get_by_label("Amount in euros").fill("50")
    expect(page.get_by_label(re.compile(r"^Visa card ending 4242"))).to_be_checked()  # the only source
    page.get_by_role("button", name="Top up", exact=True).click()

    expect(page.get_by_role("heading", name="Confirm your top-up")).to_be_visible()
    code = page.get_by_label("Code from your authenticator app")
    code.fill("000000" if totp.at(clock.now) != "000000" else "111111")
    page.get_by_role("button", name="Confirm and add €50.00").click()
    expect(page.get_by_role("alert")).to_contain_text("sca_code_invalid")
    expect(code).to_have_attribute("aria-invalid", "true")
    clock.advance(seconds=30)
    code.fill(totp.at(clock.now))
    page.get_by_role("button", name="Confirm and add €50.00").click()
    expect(page.get_by_role("status")).to_contain_text("€50.00 was added to your purse from your card.")
    expect(page.locator("#balance")).to_have_text("€50.00")
    expect(page.locator("#room-this-month")).to_have_text("€100.00")

    page.get_by_role("link", name="Top up your purse").click()
    page.get_by_role("link", name="a bank account").click()
    page.get_by_label("IBAN").fill("DE89 3704 0044 0532 0130 00")
    page.get_by_role("button", name="Add the account and sign the mandate").click()
    expect(page.get_by_role("alert")).to_contain_text("Tick the box to sign the direct debit mandate")
    expect(page.get_by_label("IBAN")).to_have_value("DE89 3704 0044 0532 0130 00")
    page.get_by_label("I sign this mandate for this account").check()
    page.get_by_role("button", name="Add the account and sign the mandate").click()
    expect(page.get_by_role("status")).to_contain_text("its direct debit mandate KLM")
    expect(page.get_by_label(re.compile(r"^Direct debit from DE89"))).to_be_checked()
    page.get_by_label("Amount in euros").fill("20")
    page.get_by_role("button", name="Top up", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Your bank account will be debited in the next few days.")
    expect(page.locator("#balance")).to_have_text("€70.00")
    expect(page.get_by_text("Direct debit mandate signed on 15 January 2026")).to_be_visible()
    expect(page.locator(".item-title", has_text="DE89 •••• 3000")).to_be_visible()
    assert kleline.ledger.balance(f"customer:{customer_id}:purse").posted == 7000
    assert trial_balance(kleline.db).balanced


def test_a_shopper_in_debt_repays_it_from_the_purse_and_may_top_up_by_direct_debit_again(
    live: LiveKleline, page: Page
) -> None:
    kleline = live.kleline
    ada = customer(kleline)
    account = in_debt(kleline, ada.id, spent=1500)

    page.goto(f"{live.url}/wallet/top-up")
    sign_in(page)
    page.get_by_label("Amount in euros").fill("10")
    page.get_by_label(re.compile(r"^Direct debit from FR76")).check()
    page.get_by_role("button", name="Top up", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("receivable_outstanding")
    page.get_by_role("link", name="Repay your debt").click()

    debt = page.locator("#debt")
    expect(debt).to_contain_text("you owe Kleline €15.00")
    page.get_by_role("button", name="Repay from your purse").click()
    expect(page.get_by_role("alert")).to_contain_text("Your purse has nothing available to repay your debt with")

    fund(kleline, ada.id, card(kleline, ada.id), 2500)
    page.get_by_role("link", name="Overview").click()
    page.get_by_role("button", name="Repay from your purse").click()
    expect(page.get_by_role("status")).to_contain_text("Your debt is repaid: top-ups by direct debit work again.")
    expect(page.locator("#debt")).to_have_count(0)
    expect(page.locator("#balance")).to_have_text("€10.00")
    assert kleline.collections.debts.owed(ada.id) == eur(0)

    done = kleline.collections.top_ups.top_up(ada.id, eur(1000), account.id)
    assert done.top_up.status == "succeeded"
    assert trial_balance(kleline.db).balanced
