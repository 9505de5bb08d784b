"""Offers in Chromium: a customer opens the offer a bookshop sent, answers it with the keyboard alone
(a missing answer is explained first) and shares their email; then each state of the inbox and of the dashboard's
audiences and offers at phone width and wide, in French and English: nothing overflows sideways, and axe finds no
violation.

Set ``KLELINE_SCREENSHOTS`` to a directory to keep a full-page screenshot of each state there, to look at.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from playwright.sync_api import Browser, Page, expect

from kleline.bootstrap import Kleline
from kleline.privacy import consent_store
from kleline.privacy.audience_model import Audience
from kleline.privacy.offer_model import OfferDraft

from ..conftest import FakeClock
from ..e2e.checkout_world import IBAN, PASSWORD, customer
from ..e2e.dashboard_world import authenticator, member
from ..operator_keys import OPERATOR
from .conftest import LiveKleline
from .dashboard_visits import signed_in_to_dashboard
from .layout import State, layout_problems

pytestmark = pytest.mark.browser

WIDTHS = (360, 1280)
LONG_SHOP = "Librairie-Papeterie des Quatre-Saisons et du Marché Saint-Germain-des-Prés"


def _bookshop(kleline: Kleline, name: str = LONG_SHOP) -> str:
    registered, _ = kleline.merchants.register(name=name, email="shop@example.fr", iban=IBAN, category="books")
    return kleline.merchants.approve(registered.id, actor=OPERATOR).id


def _offer(kleline: Kleline, clock: FakeClock, shop: str, title: str) -> str:
    draft = OfferDraft(
        title,
        "Dix pour cent sur tous les romans, poches et grands formats, jusqu'à dimanche soir, en boutique et en ligne. "
        "Présentez ce message ou utilisez le lien.",
        "https://librairie.example/offres/romans-de-la-rentree-litteraire-automne-2026",
        clock(),
        clock() + timedelta(days=7),
        Audience(),
    )
    return kleline.offers.send(shop, draft).id


def _sign_in(page: Page, email: str) -> None:
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()


def _answer_by_keyboard(page: Page, live: LiveKleline, clock: FakeClock) -> None:
    kleline = live.kleline
    ada = customer(kleline)
    shop = _bookshop(kleline, "Librairie Kléber")
    kleline.consents.grant(ada.id, "offers", "category:books", channel="wallet")
    offer_id = _offer(kleline, clock, shop, "Romans : dix pour cent")

    page.goto(f"{live.url}/wallet")
    _sign_in(page, "ada@example.org")
    page.wait_for_url(f"{live.url}/wallet")
    expect(page.locator("#unread-offers")).to_contain_text("1")
    page.get_by_role("link", name="Offers").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live.url}/wallet/inbox")
    page.get_by_role("link", name="Romans : dix pour cent").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live.url}/wallet/inbox/{offer_id}")
    expect(page.locator("#unread-offers")).to_have_count(0)

    page.get_by_role("button", name="Send my answer").focus()
    page.keyboard.press("Enter")
    expect(page.locator(".error-summary")).to_contain_text("Choose an answer")
    page.get_by_label("Share my email address with this merchant").focus()
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.type") == "submit"
    page.keyboard.press("Enter")
    expect(page.locator("#answer-given")).to_contain_text("You shared your email address with Librairie Kléber")
    with kleline.db.transaction(write=False) as tx:
        assert consent_store.is_live(tx, ada.id, "share_email", f"merchant:{shop}")
    assert kleline.offers.get(shop, offer_id).answered == 1


def _states(live: LiveKleline, clock: FakeClock) -> list[State]:
    kleline = live.kleline
    shop = _bookshop(kleline)
    grace = customer(kleline, "grace@example.org", "Grace Hopper")
    kleline.consents.grant(grace.id, "offers", "category:books", channel="wallet")
    _offer(kleline, clock, shop, "La rentrée littéraire : dix pour cent sur les romans jusqu'à dimanche soir")
    clock.advance(minutes=1)
    offer_id = _offer(kleline, clock, shop, "Papeterie : deux carnets achetés, le troisième offert")
    owner = member(kleline, shop, "owner@example.org", name="Adélaïde de Montmorency-Laval")
    totp = authenticator(kleline, owner, clock)

    def wallet(then: Callable[[Page], None] | None = None) -> Callable[[Page], None]:
        def act(page: Page) -> None:
            page.locator("#email").fill("grace@example.org")
            page.locator("#password").fill(PASSWORD)
            page.locator("#password").press("Enter")
            page.wait_for_selector("h1")
            if then is not None:
                then(page)

        return act

    def dashboard(then: Callable[[Page], None] | None = None) -> Callable[[Page], None]:
        return signed_in_to_dashboard(clock, "owner@example.org", totp, then)

    def no_answer(page: Page) -> None:
        page.get_by_role("button").last.press("Enter")
        page.wait_for_selector(".error-summary")

    def estimate(page: Page) -> None:
        page.locator("#spend").select_option("200_to_1000")
        page.locator("#estimate-button, form button[type=submit]").last.click()
        page.wait_for_selector("#estimate")

    def wrong_offer(page: Page) -> None:
        page.locator("#body").fill("Dix pour cent " * 30)
        page.locator("#link").fill(
            "http://librairie.example/une-adresse-sans-https-et-bien-trop-longue-pour-un-telephone"
        )
        page.locator("#valid_until").fill("2030-01-01")
        page.locator("#category").select_option("books")
        page.locator("form button[type=submit]").last.click()
        page.wait_for_selector(".error-summary")

    return [
        ("inbox", "/sign-in?next=/wallet/inbox", wallet()),
        ("inbox-offer-unanswered", f"/sign-in?next=/wallet/inbox/{offer_id}", wallet(no_answer)),
        ("dashboard-audiences", "/dashboard/sign-in?next=/dashboard/audiences", dashboard(estimate)),
        ("dashboard-offer-refused", "/dashboard/sign-in?next=/dashboard/offers/new", dashboard(wrong_offer)),
        ("dashboard-offers", "/dashboard/sign-in?next=/dashboard/offers", dashboard()),
    ]


def test_a_customer_answers_an_offer_by_keyboard_and_no_state_overflows_or_fails_axe(
    live: LiveKleline, page: Page, chromium: Browser, clock: FakeClock
) -> None:
    _answer_by_keyboard(page, live, clock)
    states = _states(live, clock)
    problems = [
        problem for lang in ("fr", "en") for problem in layout_problems(chromium, live.url, states, lang, WIDTHS)
    ]
    assert problems == []
