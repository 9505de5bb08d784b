"""The history pages in Chromium: a shopper finds a payment in their activity, opens its receipt, downloads the
signed file, and the public verify page says it is valid (and that an altered copy is altered); from the wallet's
overview, the newest movements lead to their receipts, a refund's to its payment's and back. Then every page of the
group (the overview with its movements too) at phone and desk widths, in French and English: nothing overflows
sideways, axe finds no violation.

Set ``KLELINE_SCREENSHOTS`` to a directory to keep a full-page screenshot of each state there, to look at.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from kleline.api.app import create_app
from kleline.bootstrap import Kleline, build
from kleline.config import load_settings
from kleline.payments.model import PaymentRequest
from kleline.receipts import verify

from ..conftest import FakeClock
from ..e2e.checkout_world import PASSWORD, card, customer, eur, fund, payment, shop
from ..e2e.live_server import loopback_listener, serving
from .conftest import LiveKleline
from .layout import layout_problems

pytestmark = pytest.mark.browser

WIDTHS = (360, 1280)


@pytest.fixture
def live(database_url: str, clock: FakeClock) -> Iterator[LiveKleline]:
    """Kleline served on a loopback port, where the history's payments skip strong authentication (the challenge
    has journeys of its own): a history of a few dozen small payments."""
    listener, url = loopback_listener()
    settings = load_settings(
        database_url=database_url,
        public_url=url,
        sign_in_rate=1000,
        sca_single_limit=10_000,
        sca_cumulative_limit=10**9,
        sca_max_payments=10**6,
    )
    system = build(settings, clock=clock)
    try:
        with serving(create_app(system), listener):
            yield LiveKleline(system, url)
    finally:
        system.close()


def _history(kleline: Kleline, clock: FakeClock) -> dict[str, str]:
    """Ada's wallet after a few weeks: top-ups, purse and card payments, a refund, a payment still authorised."""
    merchant = shop(kleline, "Librairie Kléber et Fils, livres anciens", "Galerie marchande Kléber-Strasbourg")
    bakery = shop(kleline, "Boulangerie du Marché", "Galerie du Marché")
    ada = customer(kleline, name="Adélaïde-Marguerite de Montmorency-Laval")
    visa = card(kleline, ada.id)
    fund(kleline, ada.id, visa, 8000)
    for day in range(26):
        clock.advance(hours=20)
        made = payment(kleline, bakery, 115 + 35 * (day % 4), description="Pain de campagne et croissants")
        kleline.payments.confirm(made.id, ada.id, "card" if day % 3 == 0 else "purse", card_id=visa)
    clock.advance(days=2)
    fund(kleline, ada.id, visa, 5000)
    clock.advance(hours=2)
    books = payment(kleline, merchant, 4590, description="Les Misérables, édition intégrale illustrée, 5 volumes")
    kleline.payments.confirm(books.id, ada.id, "purse")
    clock.advance(hours=1)
    lamp = payment(kleline, merchant, 2990, description="Lampe de bureau")
    kleline.payments.confirm(lamp.id, ada.id, "card", card_id=visa)
    clock.advance(hours=3)
    refund = kleline.refunds.refund(merchant, books.id, eur(1500))
    clock.advance(minutes=20)
    held = kleline.payments.create(merchant, PaymentRequest(eur(1890), "Atlas routier", "order-77", "manual", None))
    kleline.payments.confirm(held.id, ada.id, "card", card_id=visa)
    clock.advance(minutes=5)
    return {"books": books.id, "lamp": lamp.id, "refund": refund.id}


def _sign_in(page: Page) -> None:
    page.locator("#email").fill("ada@example.org")
    page.locator("#password").fill(PASSWORD)
    page.locator("form[action='/sign-in'] button[type=submit]").click()
    page.wait_for_url(lambda url: "/sign-in" not in url)


def test_a_shopper_finds_a_payment_downloads_its_receipt_and_the_verify_page_says_it_is_valid(
    live: LiveKleline, chromium: Browser, clock: FakeClock, tmp_path: Path
) -> None:
    ids = _history(live.kleline, clock)
    context = chromium.new_context(locale="en-GB", accept_downloads=True)
    try:
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto(f"{live.url}/wallet/activity")
        _sign_in(page)
        page.wait_for_url(f"{live.url}/wallet/activity")
        lines = page.locator(".activity-line")
        expect(lines).to_have_count(25)
        expect(lines.nth(0)).to_contain_text("Pending")  # the authorised card payment, newest
        expect(lines.nth(1)).to_contain_text("Refund of your payment of")
        page.get_by_role("link", name="Older").click()
        expect(page.locator(".activity-line")).to_have_count(7)  # 26 + 2 top-ups + 4 = 32 lines
        page.get_by_role("link", name="Newest").click()
        page.locator(f"a[href='/wallet/receipts/{ids['books']}']").first.click()
        expect(page.locator("h1")).to_have_text("Receipt of a payment")
        expect(page.locator(".receipt-amount")).to_have_text("€45.90")
        with page.expect_download() as download:
            page.get_by_role("link", name="Download the signed receipt (JSON)").click()
        file = tmp_path / "receipt.json"
        download.value.save_as(file)
        assert download.value.suggested_filename == f"kleline-receipt-{ids['books']}.json"
        receipt = verify(json.loads(file.read_bytes()), live.kleline.receipts.public_keys())
        assert receipt.amount == eur(4590)

        page.get_by_role("link", name="Check a receipt file").click()
        page.locator("#receipt").set_input_files(file)
        page.get_by_role("button", name="Check the receipt").click()
        expect(page.locator(".verdict h2")).to_contain_text("Valid receipt")
        expect(page.locator(".verdict")).to_contain_text("Librairie Kléber et Fils, livres anciens")

        altered = json.loads(file.read_bytes())
        altered["amount"]["amount"] = 459
        (tmp_path / "altered.json").write_text(json.dumps(altered, indent=2))
        page.locator("#receipt").set_input_files(tmp_path / "altered.json")
        page.get_by_role("button", name="Check the receipt").click()
        expect(page.locator(".verdict h2")).to_contain_text("Altered receipt")
    finally:
        context.close()


def test_the_overviews_newest_movements_lead_to_their_receipts_and_a_refund_to_its_payment(
    live: LiveKleline, chromium: Browser, clock: FakeClock
) -> None:
    ids = _history(live.kleline, clock)
    context = chromium.new_context(locale="en-GB")
    try:
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto(f"{live.url}/wallet")
        _sign_in(page)
        page.wait_for_url(f"{live.url}/wallet")
        recent = page.locator(".recent .activity-line")
        expect(recent).to_have_count(5)
        expect(recent.nth(0)).to_contain_text("Pending")  # the authorised card payment, newest
        expect(recent.nth(1)).to_contain_text("Refund of your payment of")
        recent.nth(1).locator(f"a[href='/wallet/receipts/{ids['refund']}']").click()
        expect(page.locator("h1")).to_have_text("Receipt of a refund")
        expect(page.locator(".receipt-description")).to_contain_text("Les Misérables, édition intégrale illustrée")
        page.get_by_role("link", name="Refund of your payment of €45.90").click()
        expect(page.locator("h1")).to_have_text("Receipt of a payment")
        expect(page.locator(".receipt-amount")).to_have_text("€45.90")
        page.get_by_role("link", name="€15.00 refunded on").click()
        expect(page).to_have_url(f"{live.url}/wallet/receipts/{ids['refund']}")
        page.get_by_role("link", name="Overview").click()
        page.get_by_role("link", name="See all activity").click()
        expect(page).to_have_url(f"{live.url}/wallet/activity")
        expect(page.locator(".activity-line")).to_have_count(25)
    finally:
        context.close()


def _states(live: LiveKleline, clock: FakeClock, tmp_path: Path) -> list[tuple[str, str, Callable[[Page], None]]]:
    ids = _history(live.kleline, clock)
    signed = tmp_path / "receipt.json"
    signed.write_text(live.kleline.receipts.get(ids["books"]).dumps())
    altered = json.loads(signed.read_text())
    altered["merchant"]["name"] = "Quelqu’un d’autre"
    (tmp_path / "altered.json").write_text(json.dumps(altered))
    (tmp_path / "large.json").write_text(" " * 10_000)

    def nothing(_: Page) -> None:
        return None

    def upload(name: str) -> Callable[[Page], None]:
        def act(page: Page) -> None:
            page.locator("#receipt").set_input_files(tmp_path / name)
            page.locator(".verify-form button[type=submit]").click()
            page.wait_for_selector(".verdict, .error-summary")

        return act

    return [
        ("overview", "/wallet", _sign_in),
        ("activity", "/wallet/activity", _sign_in),
        ("activity-month", "/wallet/activity?month=2026-01", _sign_in),
        ("activity-bad-month", "/wallet/activity?month=2026-13", _sign_in),
        ("receipt", f"/wallet/receipts/{ids['books']}", _sign_in),
        ("receipt-refund", f"/wallet/receipts/{ids['refund']}", _sign_in),
        ("receipt-missing", "/wallet/receipts/pay_unknown", _sign_in),
        ("verify", "/receipts/verify", nothing),
        ("verify-valid", "/receipts/verify", upload("receipt.json")),
        ("verify-altered", "/receipts/verify", upload("altered.json")),
        ("verify-too-large", "/receipts/verify", upload("large.json")),
    ]


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_no_history_page_overflows_a_phone_and_axe_finds_no_violation(
    live: LiveKleline, chromium: Browser, clock: FakeClock, tmp_path: Path, lang: str
) -> None:
    assert layout_problems(chromium, live.url, _states(live, clock, tmp_path), lang, WIDTHS) == []
