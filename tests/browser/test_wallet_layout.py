"""Every state of the wallet's pages (overview, add a card, add a bank account, top-up, its code step, refusals, not
found, the questions before removing a card or a bank account) at phone widths and wide, in French and English:
nothing overflows sideways, and axe finds no violation.

Set ``KLELINE_SCREENSHOTS`` to a directory to keep a full-page screenshot of each state there, to look at.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Browser, Page

from kleline.bootstrap import Kleline

from ..e2e.checkout_world import ISSUER_INSUFFICIENT_FUNDS, MASTERCARD, PASSWORD, card, customer, enrol, eur, fund
from ..e2e.wallet_world import OTHER_IBAN, bank_account, in_debt
from .conftest import LiveKleline
from .layout import layout_problems

pytestmark = pytest.mark.browser

WIDTHS = (360, 1280)
LONG_NAME = "Adélaïde-Marguerite de Montmorency-Laval"


def _sign_in(page: Page, email: str = "ada@example.org") -> None:
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.locator("form[action='/sign-in'] button[type=submit]").click()
    page.wait_for_selector("h1")


def _states(kleline: Kleline) -> list[tuple[str, str, Callable[[Page], None]]]:
    """(name, first address, what to do there) for each state of the wallet's pages."""
    ada = customer(kleline, name=LONG_NAME)
    card_id = card(kleline, ada.id)
    card(kleline, ada.id, MASTERCARD)
    declining = card(kleline, ada.id, ISSUER_INSUFFICIENT_FUNDS)
    in_debt(kleline, ada.id, spent=1500)
    other = bank_account(kleline, ada.id, OTHER_IBAN)
    fund(kleline, ada.id, card_id, 1000)
    enrol(kleline, ada)
    customer(kleline, "grace@example.org", "Grace Hopper")
    challenged = kleline.top_ups.top_up(ada.id, eur(4000), card_id)
    assert challenged.challenge_id is not None

    def signed_in(page: Page) -> None:
        _sign_in(page)

    def top_up_with(amount: str, source: str) -> Callable[[Page], None]:
        def act(page: Page) -> None:
            _sign_in(page)
            page.locator("#amount").fill(amount)
            page.locator(f"input[value='{source}']").check()
            page.locator("form[action='/wallet/top-up'] button[type=submit]").click()
            page.wait_for_selector(".error-summary")

        return act

    def card_errors(page: Page) -> None:
        _sign_in(page)
        page.locator("#number").fill("4242 4242 4242 4241")
        page.locator("#exp_month").fill("13")
        page.locator("#exp_year").fill("1999")
        page.locator("form[action='/wallet/cards/new'] button[type=submit]").click()
        page.wait_for_selector(".error-summary")

    def bank_errors(page: Page) -> None:
        _sign_in(page)
        page.locator("#iban").fill("FR76 3000 6000 0112 3456 7890 188")
        page.locator("#holder_name").fill("")
        page.locator("form[action='/wallet/bank-accounts/new'] button[type=submit]").click()
        page.wait_for_selector(".error-summary")

    def empty_wallet(page: Page) -> None:
        _sign_in(page, "grace@example.org")

    return [
        ("overview", "/wallet", signed_in),
        ("overview-empty", "/wallet", empty_wallet),
        ("top-up", "/wallet/top-up", signed_in),
        ("top-up-limit", "/wallet/top-up", top_up_with("500", card_id)),
        ("top-up-declined", "/wallet/top-up", top_up_with("10", declining)),
        ("top-up-code", f"/wallet/top-up/{challenged.id}?challenge={challenged.challenge_id}", signed_in),
        ("add-card-errors", "/wallet/cards/new", card_errors),
        ("add-bank-account", "/wallet/bank-accounts/new", signed_in),
        ("add-bank-account-errors", "/wallet/bank-accounts/new", bank_errors),
        ("remove-card", f"/wallet/cards/{card_id}/remove", signed_in),
        ("remove-bank-account", f"/wallet/bank-accounts/{other.id}/remove", signed_in),
        ("not-found", "/wallet/top-up/top_unknown?challenge=sca_x", signed_in),
    ]


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_no_wallet_page_overflows_a_phone_and_axe_finds_no_violation(
    live: LiveKleline, chromium: Browser, lang: str
) -> None:
    assert layout_problems(chromium, live.url, _states(live.kleline), lang, WIDTHS) == []
