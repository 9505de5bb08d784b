"""The wallet's "Your data" page in Chromium, on a phone (360 px) in French and English: the shopper downloads
everything Kleline holds about them, then closes and erases the wallet (refused without the tick, accepted with it),
lands on the sign-in page with a note, and can no longer sign in. Nothing overflows sideways and axe finds no
violation; set ``KLELINE_SCREENSHOTS`` to a directory to keep a screenshot of each page there, to look at.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from kleline.web.i18n import Language, chosen

from ..e2e.checkout_world import PASSWORD, card, customer
from .conftest import LiveKleline
from .layout import look

pytestmark = pytest.mark.browser


def _look(page: Page, lang: str, name: str, problems: list[str]) -> None:
    look(page, f"{lang} 360px {name}", f"your-data-{lang}-{name}", problems)


def _sign_in(page: Page, email: str) -> None:
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    with page.expect_navigation():
        page.locator("#password").press("Enter")
    page.wait_for_selector("h1")


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_a_shopper_downloads_their_data_then_closes_and_erases_the_wallet(
    live: LiveKleline, chromium: Browser, lang: str, tmp_path: Path
) -> None:
    kleline = live.kleline
    language: Language = chosen(lang, None, None)
    t = language.gettext
    email = f"grace.{lang}@example.org"
    grace = customer(kleline, email=email, name="Grace Hopper")
    card(kleline, grace.id)
    problems: list[str] = []
    context = chromium.new_context(viewport={"width": 360, "height": 800}, accept_downloads=True)
    try:
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto(f"{live.url}/wallet?lang={lang}")
        _sign_in(page, email)
        page.get_by_role("link", name=t("Your data"), exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(t("Your data"))
        _look(page, lang, "01-page", problems)

        with page.expect_download() as downloading:
            page.get_by_role("link", name=t("Download my data")).click()
        saved = tmp_path / "export.json"
        downloading.value.save_as(saved)
        exported = json.loads(saved.read_text(encoding="utf-8"))
        assert exported["customer"]["email"] == email and exported["customer"]["name"] == "Grace Hopper"
        assert [(c["first6"], c["last4"]) for c in exported["cards"]] == [("424242", "4242")]
        assert "4242424242424242" not in saved.read_text(encoding="utf-8")

        # Without the tick: refused, nothing changed.
        page.locator("#password").fill(PASSWORD)
        with page.expect_navigation():
            page.get_by_role("button", name=t("Close and erase my wallet")).click()
        expect(page.get_by_role("alert")).to_contain_text(
            t("Tick the box to confirm that you want to close your wallet")
        )
        _look(page, lang, "02-refused", problems)
        assert kleline.customers.get(grace.id).erased_at is None

        page.locator("#password").fill(PASSWORD)
        page.locator("#understood").check()
        with page.expect_navigation():
            page.get_by_role("button", name=t("Close and erase my wallet")).click()
        expect(page.get_by_role("status")).to_contain_text(
            t("Your wallet is closed and you are signed out. Your data is locked away and will be destroyed.")
        )
        _look(page, lang, "03-closed", problems)
        assert kleline.customers.get(grace.id).erased_at is not None

        page.goto(f"{live.url}/wallet?lang={lang}")
        _sign_in(page, email)
        expect(page.get_by_role("alert")).to_be_visible()
        assert "/sign-in" in page.url
    finally:
        context.close()
    assert problems == []
