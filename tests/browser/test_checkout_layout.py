"""Every state of the checkout and wallet pages, at phone widths and wide, in French and English: nothing overflows
sideways, and axe (axe-core, shipped inside axe-playwright-python, so it runs offline) finds no violation.

Set ``KLELINE_SCREENSHOTS`` to a directory to keep a full-page screenshot of each state there, to look at.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Browser, Page

from kleline.bootstrap import Kleline

from ..e2e.checkout_world import ISSUER_INSUFFICIENT_FUNDS, PASSWORD, card, customer, enrol, fund, payment, shop
from .conftest import LiveKleline
from .layout import layout_problems

pytestmark = pytest.mark.browser

WIDTHS = (360, 390, 1280)


def _sign_in(page: Page, url: str, email: str = "ada@example.org") -> None:
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.locator("form[action='/sign-in'] button[type=submit]").click()
    page.wait_for_url(url.split("?")[0] + "*")


def _states(kleline: Kleline, base: str) -> list[tuple[str, str, Callable[[Page], None]]]:
    """(name, first address, what to do there) for each state a shopper can meet."""
    merchant_id = shop(kleline, "Librairie Kléber et Fils, livres anciens", "Galerie marchande Kléber-Strasbourg")
    ada = customer(kleline, name="Adélaïde-Marguerite de Montmorency-Laval")
    card_id = card(kleline, ada.id)
    fund(kleline, ada.id, card_id, 3000)
    totp = enrol(kleline, ada)
    customer(kleline, "grace@example.org", "Grace Hopper")
    long_description = "Les Misérables, édition intégrale illustrée en cinq volumes reliés cuir, coffret cadeau"
    choose = payment(kleline, merchant_id, 123456, description=long_description, return_url=None)
    challenge = payment(kleline, merchant_id, 4500, return_url=None)
    kleline.payments.confirm(challenge.id, ada.id, "card", card_id)
    paid = payment(kleline, merchant_id, 1250, return_url=None)
    kleline.payments.confirm(paid.id, ada.id, "purse", None)
    declined = payment(kleline, merchant_id, 2000, return_url=None)  # its card's bank says why: the longest notice
    kleline.payments.confirm(declined.id, ada.id, "card", card(kleline, ada.id, ISSUER_INSUFFICIENT_FUNDS))
    assert kleline.payments.get(challenge.id).status == "requires_action" and totp
    assert kleline.payments.get(declined.id).failure_code == "insufficient_funds"

    def nothing(_: Page) -> None:
        return None

    def signed_in(url: str) -> Callable[[Page], None]:
        return lambda page: _sign_in(page, url)

    def wrong_password(page: Page) -> None:
        page.locator("#email").fill("ada@example.org")
        page.locator("#password").fill("not the password at all")
        page.locator("form[action='/sign-in'] button[type=submit]").click()
        page.wait_for_selector(".error-summary")

    def card_errors(page: Page) -> None:
        _sign_in(page, f"{base}/checkout/{choose.id}")
        page.locator("details summary").click()
        page.locator("#number").fill("4242 4242 4242 4241")
        page.locator("#exp_month").fill("13")
        page.locator("#exp_year").fill("1999")
        page.locator("#cvc").fill("12")
        page.locator("#holder_name").fill("")
        page.locator("form[action$='/cards'] button[type=submit]").click()
        page.wait_for_selector(".error-summary")

    def card_added(page: Page) -> None:
        for held in kleline.cards.list(ada.id):
            if held.last4 == "4444":  # added at the width before: removed, so that it can be added again
                kleline.cards.remove(ada.id, held.id)
        _sign_in(page, f"{base}/checkout/{choose.id}")
        page.locator("details summary").click()
        page.locator("#number").fill("5555 5555 5555 4444")
        page.locator("#exp_month").fill("11")
        page.locator("#exp_year").fill("2029")
        page.locator("#cvc").fill("321")
        page.locator("#holder_name").fill("Adélaïde de Montmorency")
        page.locator("form[action$='/cards'] button[type=submit]").click()
        page.wait_for_selector(".flash")

    def other_customer(page: Page) -> None:
        _sign_in(page, f"{base}/checkout/{paid.id}", "grace@example.org")

    def nothing_can_pay(page: Page) -> None:  # Grace: an empty purse and no card, so the card form is open
        _sign_in(page, f"{base}/checkout/{choose.id}", "grace@example.org")
        page.wait_for_selector("details[open] #number")

    return [
        ("sign-in-stage", f"/checkout/{choose.id}", nothing),
        ("sign-in-error", f"/checkout/{choose.id}", wrong_password),
        ("choose", f"/checkout/{choose.id}", signed_in(f"{base}/checkout/{choose.id}")),
        ("card-errors", f"/checkout/{choose.id}", card_errors),
        ("card-added", f"/checkout/{choose.id}", card_added),
        ("nothing-can-pay", f"/checkout/{choose.id}", nothing_can_pay),
        ("authenticate", f"/checkout/{challenge.id}", signed_in(f"{base}/checkout/{challenge.id}")),
        ("paid", f"/checkout/{paid.id}", signed_in(f"{base}/checkout/{paid.id}")),
        ("declined", f"/checkout/{declined.id}", signed_in(f"{base}/checkout/{declined.id}")),
        ("someone-elses", f"/checkout/{paid.id}", other_customer),
        ("sign-up", "/sign-up?next=/checkout/" + choose.id, nothing),
        ("not-found", "/checkout/pay_unknown", nothing),
    ]


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_no_page_state_overflows_a_phone_and_axe_finds_no_violation(
    live: LiveKleline, chromium: Browser, lang: str, request: pytest.FixtureRequest
) -> None:
    problems = layout_problems(chromium, live.url, _states(live.kleline, live.url), lang, WIDTHS)
    assert problems == []
