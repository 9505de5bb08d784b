"""Removing a card and a bank account in Chromium with the keyboard alone, through the pages that ask first; and the
site's header, on one line on a wide screen (1024 and 1280 px) in both languages, however long the shopper's name
(cut short with an ellipsis, never a short one), and wrapping on a phone.

The removal runs in French and English at 360 and 1280 px: the question takes the focus when its page opens, the
next Tab reaches "Remove", then "Keep it"; a bank account whose direct debit waits to be sent is kept, and the
refusal takes the focus. On every page visited nothing overflows the viewport sideways and axe finds no violation.
Set ``KLELINE_SCREENSHOTS`` to a directory to keep a screenshot of each page there, to look at.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Locator, Page, expect

from kleline.web.i18n import Language, chosen

from ..e2e.checkout_world import PASSWORD, card, customer, eur
from ..e2e.wallet_world import bank_account
from ..operator_keys import OPERATOR
from .conftest import LiveKleline

pytestmark = pytest.mark.browser

LONG_NAME = "Adélaïde-Marguerite de Montmorency-Laval"
_AXE = Axe()


class Visit:
    """One shopper's tab at one width in one language: what each page looks like, and the keyboard alone to act."""

    def __init__(self, page: Page, lang: str, width: int) -> None:
        self.page = page
        self.lang = lang
        self.width = width
        self.language: Language = chosen(lang, None, None)
        self.problems: list[str] = []
        self.count = 0

    def t(self, message: str, context: str | None = None) -> str:
        """``message`` as the pages word it in this language."""
        if context is not None:
            return self.language.translations.pgettext(context, message)
        return self.language.gettext(message)

    def look(self, name: str) -> None:
        """Nothing wider than the viewport, and axe clean, on the page as it is now."""
        page = self.page
        page.wait_for_load_state()
        self.count += 1
        where = f"{self.lang} {self.width}px {self.count:02d}-{name}"
        assert page.locator("html").get_attribute("lang") == self.lang, (where, page.url)
        scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        if scroll > inner:
            self.problems.append(f"{where}: scrollWidth {scroll} > innerWidth {inner}")
        self.problems += [f"{where}: axe {v['id']}: {v['help']}" for v in _AXE.run(page).response["violations"]]
        shots = os.environ.get("KLELINE_SCREENSHOTS")
        if shots:
            Path(shots).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(shots) / f"removal-{where.replace(' ', '-')}.png"), full_page=True)

    def has_focus(self, control: Locator) -> bool:
        return bool(control.evaluate("element => element === document.activeElement"))

    def tab_to(self, control: Locator, *, most: int = 40) -> None:
        """Tab (``most`` times at most) until ``control`` has the focus, which it must show."""
        expect(control).to_be_visible()
        for presses in range(most + 1):
            if self.has_focus(control):
                outline = control.evaluate("element => getComputedStyle(element).outlineStyle")
                assert outline not in ("none", ""), f"{control} has the focus but shows no focus ring"
                return
            if presses < most:
                self.page.keyboard.press("Tab")
        raise AssertionError(f"{control} did not get the focus within {most} presses of Tab")

    def enter(self) -> None:
        """Press Enter on the focused link or button, and wait for the page it leads to."""
        with self.page.expect_navigation():
            self.page.keyboard.press("Enter")
        self.page.wait_for_load_state()


def _sign_in(page: Page, email: str = "ada@example.org") -> None:
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    with page.expect_navigation():
        page.locator("#password").press("Enter")
    page.wait_for_selector("h1")


@pytest.mark.parametrize("width", [360, 1280])
@pytest.mark.parametrize("lang", ["fr", "en"])
def test_a_shopper_removes_a_card_and_a_bank_account_with_the_keyboard_once_asked(
    live: LiveKleline, chromium: Browser, lang: str, width: int
) -> None:
    kleline = live.kleline
    ada = customer(kleline, name=LONG_NAME)
    card_id = card(kleline, ada.id)
    account = bank_account(kleline, ada.id)
    kleline.collections.top_ups.top_up(ada.id, eur(1000), account.id)  # its direct debit waits for the next run

    context = chromium.new_context(viewport={"width": width, "height": 800}, locale="en-GB")
    try:
        page = context.new_page()
        page.set_default_timeout(15_000)
        you = Visit(page, lang, width)
        page.goto(f"{live.url}/wallet?lang={lang}")
        _sign_in(page)
        you.look("wallet")

        # The card: the overview's button leads to the question, which has the focus; Tab reaches "Remove".
        you.tab_to(page.locator(f"main a[href='/wallet/cards/{card_id}/remove']"))
        you.enter()
        expect(page).to_have_url(f"{live.url}/wallet/cards/{card_id}/remove")
        question = page.get_by_role("heading", level=1)
        expect(question).to_have_text(you.t("Remove this card?"))
        assert you.has_focus(question)
        expect(page.locator("#removed-card")).to_have_text(
            you.t("%(brand)s card ending %(last4)s")
            % {
                "brand": "Visa",
                "last4": "4242",
            }
        )
        expect(page.locator("#removed-card-expiry")).to_have_text("12/2030")
        you.look("remove-card")
        remove = page.get_by_role("button", name=you.t("Remove"), exact=True)
        keep = page.get_by_role("link", name=you.t("Keep it", "card"), exact=True)
        page.keyboard.press("Tab")
        assert you.has_focus(remove)
        page.keyboard.press("Tab")
        assert you.has_focus(keep)
        page.keyboard.press("Shift+Tab")
        you.tab_to(remove, most=0)
        you.enter()
        expect(page).to_have_url(f"{live.url}/wallet")
        expect(page.get_by_role("status")).to_contain_text(you.t("The card was removed from your wallet."))
        assert kleline.cards.list(ada.id) == []

        # The bank account: "Keep it" goes back and keeps it.
        revoke = page.locator(f"main a[href='/wallet/bank-accounts/{account.id}/remove']")
        you.tab_to(revoke)
        you.enter()
        question = page.get_by_role("heading", level=1)
        expect(question).to_have_text(you.t("Remove this bank account?"))
        assert you.has_focus(question)
        expect(page.locator("#removed-mandate")).to_have_text(account.mandate_id)
        you.look("remove-bank-account")
        you.tab_to(page.get_by_role("link", name=you.t("Keep it", "bank account"), exact=True), most=2)
        you.enter()
        expect(page).to_have_url(f"{live.url}/wallet")
        expect(page.locator(".item-title", has_text="FR76")).to_be_visible()

        # Asked again and confirmed while its direct debit waits: kept, and the refusal has the focus.
        you.tab_to(revoke)
        you.enter()
        you.tab_to(page.get_by_role("button", name=you.t("Remove"), exact=True), most=1)
        you.enter()
        refusal = page.get_by_role("alert")
        expect(refusal).to_contain_text("collections_pending")
        assert you.has_focus(refusal)
        expect(page.locator("#removed-mandate")).to_have_text(account.mandate_id)
        you.look("remove-bank-account-refused")
        assert len(kleline.collections.bank_accounts.list(ada.id)) == 1

        kleline.collections.runs.run(actor=OPERATOR)  # the direct debit is sent: the account may go
        you.tab_to(page.get_by_role("button", name=you.t("Remove"), exact=True))
        you.enter()
        expect(page).to_have_url(f"{live.url}/wallet")
        removed = you.t("The bank account was removed and its direct debit mandate revoked.")
        expect(page.get_by_role("status")).to_contain_text(removed)
        you.look("wallet-emptied")
        assert kleline.collections.bank_accounts.list(ada.id) == []
    finally:
        context.close()
    assert you.problems == []


_ONE_LINE = """header => {
  const parts = [...header.querySelectorAll('a, button, span:not([aria-hidden])')]
    .filter(element => element.offsetParent !== null)
    .map(element => {
      const box = element.getBoundingClientRect();
      return {text: element.textContent.trim(), top: box.top, bottom: box.bottom, height: box.height,
              line: parseFloat(getComputedStyle(element).lineHeight)};
    });
  const tallest = parts.filter(part => part.height > 1.5 * part.line).map(part => part.text);
  const lowestTop = Math.max(...parts.map(part => part.top));
  const highestBottom = Math.min(...parts.map(part => part.bottom));
  return {count: parts.length, tallest, oneRow: lowestTop < highestBottom};
}"""


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_the_site_header_is_one_line_on_a_wide_screen_and_wraps_on_a_phone(
    live: LiveKleline, chromium: Browser, lang: str
) -> None:
    kleline = live.kleline
    long = customer(kleline, name=LONG_NAME)
    customer(kleline, "grace@example.org", "Grace Hopper")
    card_id = card(kleline, long.id)
    language = chosen(lang, None, None)
    visitors = (
        ("ada@example.org", LONG_NAME, ("/wallet", f"/wallet/cards/{card_id}/remove")),
        ("grace@example.org", "Grace Hopper", ("/wallet",)),
    )
    for email, name, addresses in visitors:
        signed_in = language.gettext("Signed in as %(name)s") % {"name": name}
        for width in (360, 1024, 1280):
            context = chromium.new_context(viewport={"width": width, "height": 800}, locale="en-GB")
            try:
                page = context.new_page()
                page.goto(f"{live.url}/wallet?lang={lang}")
                _sign_in(page, email)
                for address in addresses:
                    page.goto(f"{live.url}{address}")
                    where = f"{name} {lang} {width}px {address}"
                    header = page.locator(".site-header")
                    sign_out = header.locator(".sign-out button")
                    expect(sign_out).to_be_visible()
                    assert sign_out.evaluate("b => b.getBoundingClientRect().right <= window.innerWidth"), where
                    who = header.locator(".sign-out span")
                    assert who.get_attribute("title") == signed_in, where  # the whole of it, when it is cut short
                    if width >= 1024:
                        line = header.evaluate(_ONE_LINE)
                        assert line["oneRow"] and line["tallest"] == [], (where, line)
                    else:
                        scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
                        assert scroll <= inner, where
                        expect(who).to_have_text(signed_in)  # wrapped whole on a phone, never cut short
                        assert not who.evaluate("s => s.scrollWidth > s.clientWidth"), where
                    if width == 1280 and name != LONG_NAME:
                        assert not who.evaluate("s => s.scrollWidth > s.clientWidth"), f"{where}: cut short"
            finally:
                context.close()
