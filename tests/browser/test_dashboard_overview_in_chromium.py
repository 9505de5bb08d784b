"""The dashboard's overview in Chromium: at 360 and 1280 px, in French and English, nothing overflows sideways and axe
finds no violation (the sales, the balance, the charts, their tables opened); the charts load as images under the
pages' policy, with nothing refused; a person signed in with an authenticator's code opens the tables with the
keyboard alone.

Set ``KLELINE_SCREENSHOTS`` to a directory to keep a full-page screenshot of each state there, to look at.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import pyotp
import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from kleline.bootstrap import Kleline
from kleline.ledger import EntryRequest, NormalSide, credit, debit
from kleline.merchant_users import MerchantUser
from kleline.merchants.model import balance_account
from kleline.payments.model import commission
from kleline.payments.postings import COMMISSION_ACCOUNT

from ..conftest import FakeClock
from ..e2e.checkout_world import IBAN, PASSWORD, eur
from ..operator_keys import OPERATOR
from .conftest import LiveKleline
from .layout import State, layout_problems

pytestmark = pytest.mark.browser

WIDTHS = (360, 1280)
CARDS = "card:visa:receivable"


def _member(kleline: Kleline, merchant_id: str, email: str, role: str) -> MerchantUser:
    invited = kleline.merchant_users.invite(merchant_id, email, role, by=OPERATOR)
    return kleline.merchant_users.accept(urlsplit(invited.url).path.rsplit("/", 1)[1], "Adélaïde Laval", PASSWORD)


def _captured(kleline: Kleline, merchant_id: str, number: int, minor: int) -> None:
    """A card capture as the payments code books it (gross from the card network, the merchant credited its net,
    Kleline its 3.5 %): the shop's large sales, without a checkout for each."""
    fee = commission(minor, 0, 350)
    kleline.ledger.post(
        EntryRequest(
            f"pay_browser{number}:capture",
            (
                debit(CARDS, eur(minor)),
                credit(balance_account(merchant_id), eur(minor - fee)),
                credit(COMMISSION_ACCOUNT, eur(fee)),
            ),
            "payment captured",
            {"payment": f"pay_browser{number}", "merchant": merchant_id},
        )
    )


def _shop_with_sales(kleline: Kleline, clock: FakeClock) -> tuple[str, pyotp.TOTP]:
    """A shop approved 400 days ago with large sales on some of the days since (a six-figure month, so that the
    longest amounts must fit a phone); its owner's email and authenticator."""
    now = clock.now
    clock.now = now - timedelta(days=400)
    registered, _ = kleline.merchants.register(name="Librairie du Grand Large", email="shop@example.fr", iban=IBAN)
    merchant_id = kleline.merchants.approve(registered.id, actor=OPERATOR).id
    kleline.ledger.open_account(CARDS, "EUR", NormalSide.DEBIT)
    for number in reversed(range(40)):  # in the order of time, as the books are written
        clock.now = now - timedelta(days=10 * number, hours=1)
        _captured(kleline, merchant_id, number, 1_234_567 + 98_765 * number)
    clock.now = now
    owner = _member(kleline, merchant_id, "owner@example.fr", "owner")
    totp = pyotp.TOTP(kleline.merchant_sign_in.set_up_authenticator(owner.id, owner.email).secret)
    kleline.merchant_sign_in.confirm_authenticator(owner.id, totp.at(clock.now))
    return owner.email, totp


def _sign_in(page: Page, email: str, totp: pyotp.TOTP | None, clock: FakeClock) -> None:
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.locator("form[action='/dashboard/sign-in'] button[type=submit]").click()
    if totp is not None:
        clock.advance(seconds=30)  # a code is accepted once: each sign-in takes the next one
        page.locator("#code").fill(totp.at(clock.now))
        page.locator("form button[type=submit]").first.click()
    page.wait_for_selector("h1")


def _states(live: LiveKleline, clock: FakeClock) -> list[State]:
    kleline = live.kleline
    owner, totp = _shop_with_sales(kleline, clock)
    waiting, _ = kleline.merchants.register(name="Atelier en attente", email="wait@example.fr", iban=IBAN)
    _member(kleline, waiting.id, "accountant@example.fr", "accountant")

    def signed_in(page: Page) -> None:
        _sign_in(page, owner, totp, clock)

    def tables_open(page: Page) -> None:
        _sign_in(page, owner, totp, clock)
        for summary in page.locator("details summary").all():
            summary.click()
        expect(page.locator("table.series").first).to_be_visible()

    def awaiting(page: Page) -> None:
        _sign_in(page, "accountant@example.fr", None, clock)

    return [
        ("overview", "/dashboard/sign-in", signed_in),
        ("overview-tables", "/dashboard/sign-in", tables_open),
        ("overview-awaiting-approval", "/dashboard/sign-in", awaiting),
    ]


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_the_overview_fits_a_phone_and_axe_finds_no_violation(
    live: LiveKleline, chromium: Browser, clock: FakeClock, lang: str
) -> None:
    assert layout_problems(chromium, live.url, _states(live, clock), lang, WIDTHS) == []


@pytest.mark.parametrize("width", WIDTHS)
def test_the_charts_load_and_the_tables_open_with_the_keyboard(
    live: LiveKleline, chromium: Browser, clock: FakeClock, width: int
) -> None:
    owner, totp = _shop_with_sales(live.kleline, clock)
    context = chromium.new_context(viewport={"width": width, "height": 800}, locale="en-GB")
    refused: list[str] = []
    try:
        page = context.new_page()
        page.set_default_timeout(15_000)
        # A policy's refusal is a console error; a missing resource is an answer (Chromium asks for /favicon.ico).
        page.on("console", lambda message: refused.append(message.text) if message.type == "error" else None)
        failed: list[str] = []
        page.on("response", lambda answer: failed.append(answer.url) if answer.status >= 400 else None)
        page.goto(f"{live.url}/dashboard/sign-in?lang=en")
        _sign_in(page, owner, totp, clock)
        assert page.url.endswith("/dashboard")
        images = page.locator("figure.chart img")
        expect(images).to_have_count(2)
        for index in range(2):
            image = images.nth(index)
            image.scroll_into_view_if_needed()
            page.wait_for_function("image => image.complete", arg=image.element_handle())
            assert image.evaluate("image => image.naturalWidth") > 0, "the chart did not load"
            shown = image.bounding_box()
            assert shown is not None and 0 < shown["width"] <= width
        for summary in page.locator("details summary").all():
            _tab_to(page, summary)
            page.keyboard.press("Enter")
            expect(summary.locator("xpath=..")).to_have_attribute("open", "")
        expect(page.locator("table.series").nth(1).locator("tbody tr")).to_have_count(12)
        assert [url for url in failed if not url.endswith("/favicon.ico")] == []
        assert [text for text in refused if "404" not in text] == []  # no policy refused a style or an image
    finally:
        context.close()


def _tab_to(page: Page, control: Locator) -> None:
    """Press Tab until ``control`` has the focus, and check that it shows a focus ring."""
    for _ in range(60):
        if control.evaluate("element => element === document.activeElement"):
            outline = control.evaluate("element => getComputedStyle(element).outlineStyle")
            assert outline not in ("none", ""), "the focused control shows no focus ring"
            return
        page.keyboard.press("Tab")
    raise AssertionError("Tab never reached the control")
