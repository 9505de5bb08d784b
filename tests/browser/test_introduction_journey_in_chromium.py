"""Issue 15's journey in Chromium, at phone width: a shopper agrees to hear from bookshops, receives a bookshop's
offer in the wallet's inbox, answers it by sharing their email, and buys there; the bookshop, through its API, sees
the customer only by its pseudonym plus the email they shared, and pays an introduction fee on that purchase. Then
the shopper withdraws the email with one click (the bookshop's API stops showing it at once), downloads everything
Kleline holds about them, and closes and erases the wallet; the books balance throughout.

Each page is checked at 360 px (nothing overflows sideways, axe finds no violation); set ``KLELINE_SCREENSHOTS`` to a
directory to keep a screenshot of each step there, to look at.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from kleline.ledger.audit import trial_balance
from kleline.privacy import consent_store
from kleline.privacy.model import merchant_scope

from ..conftest import FakeClock
from ..e2e.checkout_world import IBAN, PASSWORD, card, customer, fund
from ..e2e.http import bearer
from ..operator_keys import OPERATOR
from .conftest import BOTH_BACKENDS, LiveKleline
from .layout import look

pytestmark = pytest.mark.browser

EMAIL = "ada.lovelace@example.org"


def _look(page: Page, name: str, problems: list[str]) -> None:
    look(page, name, f"introduction-{name}", problems)


def _consent_button(page: Page, scope: str) -> None:
    with page.expect_navigation():
        page.locator(f"form:has(input[name=scope][value='{scope}']) button").click()


@BOTH_BACKENDS
def test_a_shopper_hears_an_offer_answers_buys_then_withdraws_exports_and_erases(
    live: LiveKleline, chromium: Browser, clock: FakeClock, tmp_path: Path
) -> None:
    kleline = live.kleline
    registered, key = kleline.merchants.register(
        name="Librairie Kléber", email="shop@example.fr", iban=IBAN, category="books"
    )
    shop = kleline.merchants.approve(registered.id, actor=OPERATOR).id
    ada = customer(kleline, email=EMAIL, name="Ada Lovelace")
    fund(kleline, ada.id, card(kleline, ada.id), 2000)
    api = httpx.Client(base_url=live.url, headers=bearer(key), timeout=30)
    problems: list[str] = []
    context = chromium.new_context(viewport={"width": 360, "height": 800}, accept_downloads=True)
    try:
        page = context.new_page()
        page.set_default_timeout(15_000)

        # 1. Consent: one click to hear offers from bookshops.
        page.goto(f"{live.url}/wallet/privacy?lang=en")
        page.get_by_label("Email address").fill(EMAIL)
        page.get_by_label("Password").fill(PASSWORD)
        with page.expect_navigation():
            page.get_by_role("button", name="Sign in", exact=True).click()
        page.goto(f"{live.url}/wallet/privacy")
        _consent_button(page, "category:books")
        _look(page, "01-consented", problems)
        with kleline.db.transaction(write=False) as tx:
            assert consent_store.is_live(tx, ada.id, "offers", "category:books")

        # 2. The bookshop sends an offer to its audience; it learns no figure below 50.
        until = (clock() + timedelta(days=7)).isoformat()
        offer = {"title": "Ten percent off novels", "body": "Until Sunday.", "link": "https://kleber.example/novels"}
        sent = api.post("/v1/offers", json={**offer, "valid_until": until, "audience": {}})
        assert sent.status_code == 201, sent.text
        assert sent.json()["reach"] is None

        # 3. The offer waits in the wallet's inbox, counted in the navigation; the shopper shares their email.
        page.goto(f"{live.url}/wallet")
        expect(page.locator("#unread-offers")).to_contain_text("1")
        page.get_by_role("link", name="Offers", exact=False).first.click()
        page.get_by_role("link", name="Ten percent off novels").click()
        page.get_by_label("Share my email address with this merchant").check()
        with page.expect_navigation():
            page.get_by_role("button", name="Send my answer").click()
        expect(page.locator("#answer-given")).to_contain_text("You shared your email address with Librairie Kléber")
        _look(page, "02-answered", problems)
        assert api.get(f"/v1/offers/{sent.json()['id']}").json()["answered"] == 1

        # 4. A purchase at that bookshop within 30 days carries the introduction fee (5 % by default).
        created = api.post("/v1/payments", json={"amount": 2000, "currency": "EUR", "description": "Two novels"})
        assert created.status_code == 201, created.text
        page.goto(created.json()["checkout_url"])
        expect(page.locator("#share_email-note")).to_contain_text("You share your email address with Librairie Kléber")
        expect(page.locator("#share_email")).to_have_count(0)
        _look(page, "03-checkout", problems)
        with page.expect_navigation():
            page.get_by_role("button", name="Pay €20.00").click()
        paid = api.get(f"/v1/payments/{created.json()['id']}").json()
        assert paid["status"] == "succeeded"
        assert paid["customer_id"].startswith("cpn_") and paid["customer_email"] == EMAIL
        assert (paid["fee"], paid["introduction_fee"], paid["net"]) == (70, 100, 1830)
        assert kleline.ledger.balance("kleline:introductions").posted == 100
        assert ada.id not in json.dumps(paid) and "Lovelace" not in json.dumps(paid)

        # 5. One click withdraws the email: the bookshop's API stops showing it at once.
        page.goto(f"{live.url}/wallet/privacy")
        _consent_button(page, merchant_scope(shop))
        _look(page, "04-withdrawn", problems)
        again = api.get(f"/v1/payments/{created.json()['id']}").json()
        assert again["customer_email"] is None and again["customer_id"] == paid["customer_id"]

        # 6. Everything Kleline holds, as one JSON download.
        page.goto(f"{live.url}/wallet/data")
        _look(page, "05-your-data", problems)
        with page.expect_download() as downloading:
            page.get_by_role("link", name="Download my data").click()
        saved = tmp_path / "export.json"
        downloading.value.save_as(saved)
        exported = json.loads(saved.read_text(encoding="utf-8"))
        assert exported["customer"]["email"] == EMAIL
        assert created.json()["id"] in saved.read_text(encoding="utf-8")
        assert "Ten percent off novels" in saved.read_text(encoding="utf-8")
        assert "share_email" in saved.read_text(encoding="utf-8")

        # 7. The purse is empty: the wallet can be closed and erased; signing in is over.
        page.locator("#password").fill(PASSWORD)
        page.locator("#understood").check()
        with page.expect_navigation():
            page.get_by_role("button", name="Close and erase my wallet").click()
        expect(page.get_by_role("status")).to_contain_text("Your wallet is closed")
        _look(page, "06-erased", problems)
        assert kleline.customers.get(ada.id).erased_at is not None
        after = api.get(f"/v1/payments/{created.json()['id']}").json()
        assert after["customer_email"] is None and after["introduction_fee"] == 100
        assert trial_balance(kleline.db).balanced
    finally:
        context.close()
        api.close()
    assert problems == []
