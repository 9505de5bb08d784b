"""The dashboard's payments in Chromium: an owner searches a payment, opens it and refunds part of it, giving a
fresh code from the authenticator app, and sees the refund in the payment's timeline. Then every state of the
payments' pages at phone width and wide, in French and English: nothing overflows sideways, and axe finds no
violation. Set ``KLELINE_SCREENSHOTS`` to a directory to keep a screenshot of each state there."""

from __future__ import annotations

import re

import pyotp
import pytest
from playwright.sync_api import Browser, Page, expect

from kleline.bootstrap import Kleline
from kleline.money import Money
from kleline.payments.model import Payment, PaymentRequest
from kleline.wallet.model import Customer

from ..conftest import FakeClock
from ..e2e.checkout_world import card, customer, fund
from ..e2e.dashboard_world import PASSWORD, authenticator, member, merchant
from .conftest import LiveKleline
from .layout import State, layout_problems

pytestmark = pytest.mark.browser

WIDTHS = (360, 1280)
LONG_SHOP = "Librairie-Papeterie des Quatre-Saisons et du Marché Saint-Germain-des-Prés"


def _paid(kleline: Kleline, who: Customer, shop: str, minor: int, reference: str, *, manual: bool = False) -> Payment:
    request = PaymentRequest(
        Money(minor, "EUR"), f"Commande {reference}", reference, "manual" if manual else "automatic"
    )
    done = kleline.payments.confirm(kleline.payments.create(shop, request).id, who.id, "purse")
    assert done.status == ("authorized" if manual else "succeeded"), done
    return done


def _sign_in(page: Page, email: str, totp: pyotp.TOTP | None, clock: FakeClock) -> None:
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.locator("form[action='/dashboard/sign-in'] button[type=submit]").click()
    page.wait_for_selector("h1")
    if totp is not None and "/dashboard/sign-in/code" in page.url:
        clock.advance(seconds=30)
        page.locator("#code").fill(totp.at(clock.now))
        page.locator("form[action='/dashboard/sign-in/code'] button[type=submit]").click()
        page.wait_for_selector("h1")


def test_an_owner_searches_a_payment_opens_it_and_refunds_part_of_it_with_a_code(
    live: LiveKleline, page: Page, clock: FakeClock
) -> None:
    kleline = live.kleline
    shop = merchant(kleline)
    ada = customer(kleline)
    fund(kleline, ada.id, card(kleline, ada.id), 2900)
    book = _paid(kleline, ada, shop, 2000, "ORDER-BOOK")
    clock.advance(seconds=5)
    _paid(kleline, ada, shop, 800, "order-pen")
    owner = member(kleline, shop, "ada@example.org", name="Ada Lovelace")
    totp = authenticator(kleline, owner, clock)

    page.goto(f"{live.url}/dashboard/sign-in")
    _sign_in(page, "ada@example.org", totp, clock)
    page.get_by_role("link", name="Payments").click()
    expect(page.get_by_role("heading", name="Payments", level=1)).to_be_visible()
    expect(page.locator(".activity-line")).to_have_count(2)
    page.get_by_label("Search", exact=True).fill("order-b")
    page.keyboard.press("Enter")
    expect(page.locator(".activity-line")).to_have_count(1)
    page.get_by_role("link", name="ORDER-BOOK").click()
    page.wait_for_url(f"{live.url}/dashboard/payments/{book.id}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("€20.00")

    clock.advance(minutes=16)  # the code given at sign-in is too old for a refund
    page.get_by_label("Amount to refund, in euros").fill("10.50")
    page.get_by_role("button", name="Refund the customer").click()
    page.wait_for_url(re.compile(r"/dashboard/confirm\?"))
    clock.advance(seconds=30)
    page.get_by_label("Code from your authenticator app").fill(totp.at(clock.now))
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(re.compile(rf"/dashboard/payments/{book.id}\?amount=10.50"))
    expect(page.get_by_label("Amount to refund, in euros")).to_have_value("10.50")
    expect(page.get_by_role("status")).to_contain_text("It is you: check the amount")
    page.get_by_role("button", name="Refund the customer").click()
    page.wait_for_url(re.compile(rf"/dashboard/payments/{book.id}$"))
    expect(page.get_by_role("status")).to_contain_text("The refund is made")
    expect(page.locator(".timeline")).to_contain_text("Refund made")
    expect(page.locator(".timeline")).to_contain_text("€10.50")
    expect(page.get_by_label("Amount to refund, in euros")).to_have_value("9.50")
    assert [refund.amount.minor for refund in kleline.refunds.list(payment_id=book.id)] == [1050]


def _states(kleline: Kleline, clock: FakeClock) -> list[State]:
    shop = merchant(kleline, LONG_SHOP)
    other = merchant(kleline, "Fromagerie")
    ada = customer(kleline)
    fund(kleline, ada.id, card(kleline, ada.id), 2900)
    book = _paid(kleline, ada, shop, 1500, "COMMANDE-2026-000123-LIVRES-ANCIENS-ET-GRAVURES")
    clock.advance(seconds=5)
    held = _paid(kleline, ada, shop, 800, "order-held", manual=True)
    clock.advance(seconds=5)
    cheese = _paid(kleline, ada, other, 500, "cheese")
    owner = member(kleline, shop, "owner@example.org")
    totp = authenticator(kleline, owner, clock)
    kleline.refunds.refund(shop, book.id, Money(450, "EUR"))
    support = member(kleline, shop, "support@example.org", "support", refund_limit=500)
    support_totp = authenticator(kleline, support, clock)
    member(kleline, shop, "acc@example.org", "accountant")

    def at(path: str, email: str = "owner@example.org") -> State:
        codes = {"owner@example.org": totp, "support@example.org": support_totp}

        def act(page: Page) -> None:
            _sign_in(page, email, codes.get(email), clock)
            page.wait_for_selector("h1")

        name = f"{email.split('@')[0]}-{path.strip('/').replace('/', '-').split('?')[0]}"
        return (name, f"/dashboard/sign-in?next={path.replace('&', '%26')}", act)

    def search_errors(page: Page) -> None:
        at("/dashboard/payments")[2](page)
        page.locator("#created_from").fill("2026-02-01")
        page.locator("#created_to").fill("2026-01-01")
        page.locator("form[role=search] button[type=submit]").click()
        page.wait_for_selector(".error-summary")

    def nothing_found(page: Page) -> None:
        at("/dashboard/payments")[2](page)
        page.locator("#q").fill("nothing-like-this")
        page.locator("form[role=search] button[type=submit]").click()
        page.wait_for_selector(".empty")

    def above_limit(page: Page) -> None:
        at(f"/dashboard/payments/{book.id}", "support@example.org")[2](page)
        page.locator("#refund-amount").fill("9.50")
        page.locator("form[action$='/refund'] button").click()
        page.wait_for_selector(".error-summary")

    return [
        at("/dashboard/payments"),
        ("payments-errors", "/dashboard/sign-in?next=/dashboard/payments", search_errors),
        ("payments-nothing", "/dashboard/sign-in?next=/dashboard/payments", nothing_found),
        at(f"/dashboard/payments/{book.id}"),
        at(f"/dashboard/payments/{held.id}"),
        at(f"/dashboard/payments/{cheese.id}"),
        ("support-above-limit", f"/dashboard/sign-in?next=/dashboard/payments/{book.id}", above_limit),
        at(f"/dashboard/payments/{book.id}", "acc@example.org"),
    ]


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_no_payments_page_overflows_a_phone_and_axe_finds_no_violation(
    live: LiveKleline, chromium: Browser, lang: str, clock: FakeClock
) -> None:
    assert layout_problems(chromium, live.url, _states(live.kleline, clock), lang, WIDTHS) == []
