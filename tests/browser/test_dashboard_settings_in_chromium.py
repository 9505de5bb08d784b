"""The dashboard's settings in Chromium: an owner asks for a new bank account, withdraws it and saves
the shop's public profile with the keyboard alone; then each state of the settings (a change waiting, its IBAN shown
once in full, a rejection, the forms' errors, the overview's notice; the change waiting is one that one person at
Kleline approved) at phone width and wide, in French and English: nothing overflows sideways, and axe finds no
violation.

Set ``KLELINE_SCREENSHOTS`` to a directory to keep a full-page screenshot of each state there, to look at.
"""

from __future__ import annotations

from collections.abc import Callable

import pyotp
import pytest
from playwright.sync_api import Browser, Page, expect

from kleline.bootstrap import Kleline
from kleline.merchant_users import Actor, MerchantUser
from kleline.staff.actor import StaffActor
from kleline.staff.roles import Role

from ..conftest import FakeClock
from ..e2e.dashboard_world import PASSWORD, authenticator, member, merchant
from ..operator_keys import OPERATOR
from .conftest import LiveKleline
from .dashboard_visits import signed_in_to_dashboard
from .layout import State, layout_problems

pytestmark = pytest.mark.browser

WIDTHS = (360, 1280)
LONG_SHOP = "Librairie-Papeterie des Quatre-Saisons et du Marché Saint-Germain-des-Prés"
NEW_IBAN = "DE89370400440532013000"


def _sign_in(page: Page, base: str, email: str, code: str, next_path: str) -> None:
    page.goto(f"{base}/dashboard/sign-in?next={next_path}")
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.locator("#password").press("Enter")
    page.wait_for_selector("#code")
    page.locator("#code").fill(code)
    page.locator("#code").press("Enter")
    page.wait_for_url(f"{base}{next_path}")


def _owner(kleline: Kleline, clock: FakeClock, shop: str, email: str, name: str) -> tuple[MerchantUser, pyotp.TOTP]:
    user = member(kleline, shop, email, name=name)
    return user, authenticator(kleline, user, clock)


def _by_keyboard(page: Page, clock: FakeClock, kleline: Kleline, live: LiveKleline, shop: str) -> None:
    """The journey: Tab and Enter only, once signed in."""
    _, totp = _owner(kleline, clock, shop, "ada@example.org", "Ada Lovelace")
    _sign_in(page, live.url, "ada@example.org", totp.at(clock.now), "/dashboard/settings")
    expect(page.get_by_role("heading", name="Settings", exact=True)).to_be_visible()

    page.get_by_role("link", name="Change the bank account").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live.url}/dashboard/settings/bank-account")
    page.get_by_label("New IBAN").focus()
    page.keyboard.type("DE89 3704 0044 0532 0130 00")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "bic"
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Your new bank account is sent to Kleline")).to_be_visible()
    expect(page.locator("code.iban").first).to_have_text("DE89 3704 0044 0532 0130 00")
    assert kleline.bank_account_changes.list(shop)[0].status == "pending"

    page.get_by_role("button", name="Withdraw this change").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live.url}/dashboard/settings")
    expect(page.get_by_role("status")).to_contain_text("The bank account change was withdrawn")
    assert "DE89 3704" not in page.content()

    page.get_by_label("What your shop sells").focus()
    page.keyboard.type("Livres neufs et d'occasion")
    page.keyboard.press("Tab")
    page.keyboard.type("https://librairie.example")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live.url}/dashboard/settings")
    expect(page.get_by_role("status")).to_contain_text("public profile was saved")
    assert kleline.merchants.get(shop).website == "https://librairie.example"


def _states(live: LiveKleline, clock: FakeClock) -> list[State]:
    kleline = live.kleline
    changes = kleline.bank_account_changes
    waiting = merchant(kleline, LONG_SHOP)
    mall = kleline.malls.create("Galerie du Faubourg Saint-Honoré et des Passages Couverts", "faubourg", actor=OPERATOR)
    kleline.malls.add_merchant(mall.id, waiting, actor=OPERATOR)
    asker, _ = _owner(kleline, clock, waiting, "montmorency@example.org", "Adélaïde de Montmorency-Laval")
    asked = changes.request(Actor(asker), NEW_IBAN)
    kleline.proposals.propose_bank_account(StaffActor("key", "1", Role.COMPLIANCE), waiting, asked.id)  # checked once
    _, waiting_totp = _owner(kleline, clock, waiting, "owner-a@example.org", "Ada Lovelace")
    sending = merchant(kleline, "Fromagerie Duval")
    sender, sending_totp = _owner(kleline, clock, sending, "owner-b@example.org", "Grace Hopper")
    refused = merchant(kleline, "Épicerie fine du Marais")
    refused_asker, refused_totp = _owner(kleline, clock, refused, "owner-c@example.org", "Katherine Johnson")
    rejected = changes.request(Actor(refused_asker), "FR7630006000011234567890189")
    changes.reject(
        refused,
        rejected.id,
        "Le titulaire du compte n'est pas la société ; envoyez un RIB au nom de la boutique, avec son Kbis de moins "
        "de trois mois.",
        by="operator key 1",
        actor=OPERATOR,
    )

    def send_new_account(page: Page) -> None:
        for change in changes.list(sending, status="pending"):  # the previous width's request
            changes.withdraw(Actor(sender), change.id)
        page.goto(page.url)
        page.locator("#iban").fill("NL91 ABNA 0417 1643 00")
        page.locator("#iban").press("Enter")
        page.wait_for_selector("#submitted-title")

    def wrong_account(page: Page) -> None:
        page.locator("#iban").fill("FR76 3000 6000 0112 3456 7890 18")
        page.locator("#bic").fill("BANQUE-DE-FRANCE")
        page.locator("#iban").press("Enter")
        page.wait_for_selector(".error-summary")

    def wrong_profile(page: Page) -> None:
        page.locator("#description").fill("Livres, papeterie, cartes et beaux-arts " * 14)
        page.locator("#website").fill("www.librairie-papeterie-des-quatre-saisons-et-du-marche.example")
        page.locator("#website").press("Enter")
        page.wait_for_selector(".error-summary")

    def state(name: str, email: str, totp: pyotp.TOTP, path: str, then: Callable[[Page], None] | None = None) -> State:
        return name, f"/dashboard/sign-in?next={path}", signed_in_to_dashboard(clock, email, totp, then)

    return [
        state("settings-waiting", "owner-a@example.org", waiting_totp, "/dashboard/settings"),
        state("overview-waiting", "owner-a@example.org", waiting_totp, "/dashboard"),
        state("settings-profile-refused", "owner-a@example.org", waiting_totp, "/dashboard/settings", wrong_profile),
        state("bank-account-waiting", "owner-a@example.org", waiting_totp, "/dashboard/settings/bank-account"),
        state(
            "bank-account-sent",
            "owner-b@example.org",
            sending_totp,
            "/dashboard/settings/bank-account",
            send_new_account,
        ),
        state("settings-rejected", "owner-c@example.org", refused_totp, "/dashboard/settings"),
        state(
            "bank-account-refused",
            "owner-c@example.org",
            refused_totp,
            "/dashboard/settings/bank-account",
            wrong_account,
        ),
    ]


def test_an_owner_changes_the_settings_by_keyboard_and_no_state_overflows_or_fails_axe(
    live: LiveKleline, page: Page, chromium: Browser, clock: FakeClock
) -> None:
    kleline = live.kleline
    _by_keyboard(page, clock, kleline, live, merchant(kleline, "Librairie Kléber"))
    states = _states(live, clock)
    problems = [
        problem for lang in ("fr", "en") for problem in layout_problems(chromium, live.url, states, lang, WIDTHS)
    ]
    assert problems == []
