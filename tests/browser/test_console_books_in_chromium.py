"""The console's books, customers, merchants and growth pages in Chromium, in each of their states, at phone width
and wide, in French and English: nothing overflows sideways, and axe finds no violation. Set ``KLELINE_SCREENSHOTS``
to a directory to keep a screenshot of each state there."""

from __future__ import annotations

from urllib.parse import quote

import pyotp
import pytest
from playwright.sync_api import Browser, Page

from kleline.bootstrap import Kleline
from kleline.staff.roles import Role

from ..conftest import FakeClock
from ..e2e.checkout_world import card, customer, payment, shop
from ..e2e.console_world import staff_member
from .conftest import LiveKleline
from .layout import State, layout_problems
from .test_console_in_chromium import LONG_EMAIL, code_step, password_step

pytestmark = pytest.mark.browser

WIDTHS = (360, 1280)


def _states(kleline: Kleline, clock: FakeClock) -> list[State]:
    _, finance = staff_member(kleline, LONG_EMAIL, Role.FINANCE, clock)
    _, support = staff_member(kleline, "support@kleline.example", Role.SUPPORT, clock)
    merchant = shop(kleline, "Librairie Kléber, livres anciens et modernes depuis 1923")
    ada = customer(kleline, "ada.lovelace.with-a-long-address@analytical-engine.example", "Ada Lovelace")
    kleline.payments.confirm(payment(kleline, merchant, 1500).id, ada.id, "card", card_id=card(kleline, ada.id))
    account = next(a.code for a in kleline.ledger.accounts() if merchant in a.code)

    def sign_in(page: Page, email: str = LONG_EMAIL, totp: pyotp.TOTP = finance) -> None:
        password_step(page, email)
        code_step(page, totp, clock)

    def as_support(page: Page) -> None:
        sign_in(page, "support@kleline.example", support)

    def checked(page: Page) -> None:
        sign_in(page)
        page.locator("form[action='/console/books/integrity-check'] button").click()
        page.wait_for_selector("#integrity")

    def to(path: str) -> str:
        return f"/console/sign-in?next={quote(path, safe='/')}"

    return [
        ("console-books-support", to("/console/books"), as_support),
        ("console-books-checked", to("/console/books"), checked),
        ("console-books-account", to(f"/console/books?account={account}"), sign_in),
        ("console-customers-found", to("/console/customers?q=ada"), as_support),
        ("console-customer", to(f"/console/customers/{ada.id}"), as_support),
        ("console-merchants-none", to("/console/merchants?q=zzz"), as_support),
        ("console-merchant", to(f"/console/merchants/{merchant}"), as_support),
        ("console-growth", to("/console/growth"), sign_in),
    ]


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_no_books_customers_merchants_or_growth_page_overflows_a_phone_and_axe_finds_no_violation(
    live: LiveKleline, chromium: Browser, lang: str, clock: FakeClock
) -> None:
    assert layout_problems(chromium, live.url, _states(live.kleline, clock), lang, WIDTHS) == []
