"""Joining in Chromium, by keyboard alone, on a phone's width (360 px), in French and in English: the form sent empty
shows every error at once (the summary takes the focus), then filled in it records the shop, whose owner sets up an
authenticator and reads where the application stands. Each state is checked by axe and must not overflow sideways;
screenshots at 360 and 1280 px go to ``KLELINE_SCREENSHOTS`` (or /tmp/shots/join)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pyotp
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect

from ..conftest import FakeClock
from ..e2e.dashboard_world import PASSWORD
from ..operator_keys import OPERATOR
from .conftest import LiveKleline

pytestmark = pytest.mark.browser

_AXE = Axe()
SHOTS = Path(os.environ.get("KLELINE_SCREENSHOTS") or "/tmp/shots/join")
# The category's option as each language names it, reached by typing its first letters on the closed list.
STATIONERY = {"en": "Stationery", "fr": "Papeterie"}


def _tab_to(page: Page, element_id: str) -> None:
    """Press Tab until the element with ``element_id`` has the focus (a keyboard user's way there)."""
    for _ in range(80):
        if page.evaluate("document.activeElement && document.activeElement.id") == element_id:
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached #{element_id}")


def _check(page: Page, name: str, lang: str) -> None:
    """No sideways overflow and no axe violation at 360 px; screenshots at 360 and 1280 px."""
    page.wait_for_load_state()
    scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll <= inner, f"{name} {lang}: scrollWidth {scroll} > innerWidth {inner}"
    violations = _AXE.run(page).response["violations"]
    assert [f"{v['id']}: {v['help']}" for v in violations] == [], name
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}-{lang}-360.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.screenshot(path=str(SHOTS / f"{name}-{lang}-1280.png"), full_page=True)
    page.set_viewport_size({"width": 360, "height": 800})


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_a_shop_joins_by_keyboard_on_a_phone_after_an_all_errors_submission(
    live: LiveKleline, chromium: Browser, clock: FakeClock, lang: str
) -> None:
    kleline = live.kleline
    kleline.malls.create("Passage Kléber", "passage-kleber", actor=OPERATOR)
    galerie = kleline.malls.create("Les Halles numériques", "les-halles", actor=OPERATOR)
    context = chromium.new_context(viewport={"width": 360, "height": 800}, locale="fr-FR" if lang == "fr" else "en-GB")
    try:
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto(f"{live.url}/join?lang={lang}")
        assert page.locator("html").get_attribute("lang") == lang
        _check(page, "join", lang)

        _tab_to(page, "name")
        submit = page.locator("form.join-form button[type=submit]")
        for _ in range(40):  # on to the button, past every field, and send the form empty
            if submit.evaluate("button => button === document.activeElement"):
                break
            page.keyboard.press("Tab")
        page.keyboard.press("Enter")
        summary = page.locator(".error-summary")
        expect(summary).to_be_focused()
        assert summary.locator("a").count() == 11
        expect(summary).to_contain_text("invalid_iban")
        _check(page, "join-errors", lang)

        page.keyboard.press("Tab")  # the summary's first link leads to its field
        expect(summary.locator("a").first).to_be_focused()
        _tab_to(page, "name")
        for value in (
            "Papeterie Moreau SARL",
            "732 829 320 00074",
            "FR44732829320",
            "FR14 2004 1010 0505 0001 3M02 606",
            "",  # the BIC: found from the IBAN
            "Camille Moreau",
            "camille@papeterie-moreau.example",
            "01 23 45 67 89",
            "https://papeterie-moreau.example",
        ):
            page.keyboard.type(value)
            page.keyboard.press("Tab")
        page.keyboard.type(STATIONERY[lang])  # the list of kinds of shop, by typing its option's first letters
        page.keyboard.press("Tab")
        page.keyboard.type("Carnets, stylos-plumes et encres")
        _tab_to(page, page.locator(f"input[name='mall:{galerie.id}']").get_attribute("id") or "")
        page.keyboard.press("Space")
        _tab_to(page, "password")
        page.keyboard.type(PASSWORD)
        page.keyboard.press("Enter")

        page.wait_for_url(re.compile(r"/dashboard/sign-in/authenticator"))
        expect(page.locator(".flash")).to_be_visible()
        _check(page, "join-sent", lang)
        button = page.locator("form[action='/dashboard/sign-in/authenticator'] button")
        for _ in range(30):
            if button.evaluate("button => button === document.activeElement"):
                break
            page.keyboard.press("Tab")
        page.keyboard.press("Enter")
        secret = page.locator(".secret code")
        expect(secret).to_be_visible()
        totp = pyotp.TOTP(secret.inner_text().replace(" ", ""))
        _tab_to(page, "code")
        page.keyboard.type(totp.at(clock.now))
        page.keyboard.press("Enter")

        page.wait_for_url(f"{live.url}/dashboard")
        expect(page.locator(".standing")).to_contain_text("FR44732829320")
        _check(page, "dashboard-pending", lang)
        page.goto(f"{live.url}/dashboard/payments")
        expect(page.locator(".notice").first).to_be_visible()
        _check(page, "payments-pending", lang)
        page.goto(f"{live.url}/dashboard")
        [merchant] = kleline.merchants.list(status="pending")
        assert (merchant.category, merchant.mall_ids, merchant.contact_phone) == (
            "stationery",
            (galerie.id,),
            "+33123456789",
        )
        kleline.merchants.refuse(
            merchant.id, "Le SIRET appartient à une société radiée : envoyez-nous le nouveau.", actor=OPERATOR
        )
        page.reload()
        expect(page.locator(".reason")).to_be_visible()
        _check(page, "dashboard-refused", lang)
    finally:
        context.close()
