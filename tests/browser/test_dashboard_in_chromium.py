"""The dashboard's foundation in Chromium: an owner invited by an operator accepts, sets up an authenticator app
from the key the page shows, signs in again with a code, and invites a colleague from the users page. Then every
state of the dashboard's pages at phone width and wide, in French and English: nothing overflows sideways, and axe
finds no violation. Set ``KLELINE_SCREENSHOTS`` to a directory to keep a screenshot of each state there."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pyotp
import pytest
from playwright.sync_api import Browser, Page, expect

from kleline.bootstrap import Kleline

from ..conftest import FakeClock
from ..e2e.dashboard_world import PASSWORD, authenticator, member, merchant
from ..operator_keys import OPERATOR
from .conftest import LiveKleline
from .layout import State, layout_problems

pytestmark = pytest.mark.browser

WIDTHS = (360, 1280)
LONG_NAME = "Adélaïde-Marguerite de Montmorency-Laval"
LONG_SHOP = "Librairie-Papeterie des Quatre-Saisons et du Marché Saint-Germain-des-Prés"


def _path(url: str) -> str:
    return urlsplit(url).path


def test_an_invited_owner_joins_sets_up_an_authenticator_signs_in_with_a_code_and_invites_a_colleague(
    live: LiveKleline, page: Page, clock: FakeClock
) -> None:
    kleline = live.kleline
    shop = merchant(kleline)
    invited = kleline.merchant_users.invite(shop, "ada@example.org", "owner", by=OPERATOR)

    page.goto(invited.url)
    expect(page.get_by_role("heading", name="Join your shop's dashboard")).to_be_visible()
    page.get_by_label("Your name").fill("Ada Lovelace")
    page.get_by_label("Choose a password").fill(PASSWORD)
    page.get_by_role("button", name="Join the dashboard").click()
    page.wait_for_url(re.compile(r"/dashboard/sign-in/authenticator"))  # signed in by the password just chosen
    expect(page.get_by_role("status")).to_contain_text("As an owner, set up your authenticator app now")
    page.get_by_role("button", name="Set up an authenticator app").click()
    expect(page.locator(".qr svg")).to_be_visible()
    totp = pyotp.TOTP(page.locator(".secret code").inner_text().replace(" ", ""))
    page.get_by_label("Code from your authenticator app").fill(totp.at(clock.now))
    page.get_by_role("button", name="Confirm the app").click()
    page.wait_for_url(f"{live.url}/dashboard")
    expect(page.get_by_role("heading", name="Librairie Kléber")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Your authenticator app is set up")

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{live.url}/dashboard/sign-in")
    page.goto(f"{live.url}/dashboard/settings/users")  # signed out: the sign-in comes back here
    page.locator("#email").focus()  # the keyboard alone: type, Tab, type, Enter
    page.keyboard.type("ada@example.org")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/dashboard/sign-in/code"))
    clock.advance(seconds=30)  # the app's next code
    page.get_by_label("Code from your authenticator app").fill(totp.at(clock.now))
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(f"{live.url}/dashboard/settings/users")

    expect(page.get_by_role("heading", name="Users and roles")).to_be_visible()
    page.get_by_label("Their email address").fill("grace@example.org")
    page.locator("#invite-role").select_option("accountant")
    page.get_by_role("button", name="Make the invitation link").click()
    expect(page.get_by_role("heading", name="Invitation ready: send this link")).to_be_visible()
    link = page.locator(".notice .secret code").inner_text()
    assert kleline.merchant_users.invitation(link.rsplit("/", 1)[1]).role == "accountant"
    page.get_by_role("link", name="Activity").click()
    expect(page.locator(".items")).to_contain_text("Invited a person: grace@example.org, as Accountant")


def _states(kleline: Kleline, clock: FakeClock) -> list[State]:
    shop = merchant(kleline, LONG_SHOP)
    owner = member(kleline, shop, "adelaide.montmorency-laval@example.org", name=LONG_NAME)
    totp = authenticator(kleline, owner, clock)
    member(kleline, shop, "grace.hopper@example.org", "support", name="Grace Hopper", refund_limit=12_500)
    member(kleline, shop, "acc@example.org", "accountant", name="Alan Turing")
    member(kleline, shop, "new.owner@example.org", name="Nouvelle Propriétaire")  # no authenticator yet
    kleline.merchant_users.invite(shop, "katherine.johnson@example.org", "support", 5000, by=OPERATOR)
    pending = kleline.merchant_users.invite(shop, "dorothy.vaughan@example.org", "accountant", by=OPERATOR)

    def sign_in(page: Page, email: str = "adelaide.montmorency-laval@example.org") -> None:
        page.locator("#email").fill(email)
        page.locator("#password").fill(PASSWORD)
        page.locator("form[action='/dashboard/sign-in'] button[type=submit]").click()
        page.wait_for_selector("h1")
        if "/dashboard/sign-in/code" in page.url:
            clock.advance(seconds=30)
            page.locator("#code").fill(totp.at(clock.now))
            page.locator("form[action='/dashboard/sign-in/code'] button[type=submit]").click()
            page.wait_for_selector("h1")

    def errors(page: Page) -> None:
        page.locator("form[action='/dashboard/sign-in'] button[type=submit]").click()
        page.wait_for_selector(".error-summary")

    def refused(page: Page) -> None:
        page.locator("#email").fill("nobody@example.org")
        page.locator("#password").fill("not the password")
        page.locator("form[action='/dashboard/sign-in'] button[type=submit]").click()
        page.wait_for_selector(".error-summary")

    def invitation_errors(page: Page) -> None:
        page.locator("form button[type=submit]").first.click()
        page.wait_for_selector(".error-summary")

    def code_refused(page: Page) -> None:
        page.locator("#email").fill("adelaide.montmorency-laval@example.org")
        page.locator("#password").fill(PASSWORD)
        page.locator("form[action='/dashboard/sign-in'] button[type=submit]").click()
        page.wait_for_selector("#code")
        page.locator("#code").fill("000000" if totp.at(clock.now) != "000000" else "111111")
        page.locator("form[action='/dashboard/sign-in/code'] button[type=submit]").click()
        page.wait_for_selector(".error-summary")

    def enrolling(page: Page) -> None:
        sign_in(page, "new.owner@example.org")
        page.locator("form[action='/dashboard/sign-in/authenticator'] button").click()
        page.wait_for_selector(".qr svg")

    def owner_at(path: str) -> State:
        def act(page: Page) -> None:
            sign_in(page)
            page.goto(page.url.split("/dashboard")[0] + path)
            page.wait_for_selector("h1")

        return (path.strip("/").replace("/", "-"), f"/dashboard/sign-in?next={path}", act)

    def invited(page: Page) -> None:
        sign_in(page)
        page.locator("#invite-email").fill("mary.jackson@example.org")
        page.locator("#invite-role").select_option("support")
        page.locator("#invite-refund_limit").fill("30")
        page.locator("form[action='/dashboard/settings/users/invite'] button").click()
        page.wait_for_selector(".notice")

    def invite_errors(page: Page) -> None:
        sign_in(page)
        page.locator("#invite-email").fill("not an address")
        page.locator("#invite-role").select_option("support")
        page.locator("#invite-refund_limit").fill("12.345")
        page.locator("form[action='/dashboard/settings/users/invite'] button").click()
        page.wait_for_selector(".error-summary")

    def role_open(page: Page) -> None:
        sign_in(page)
        page.locator("details summary").nth(1).click()

    def accountant_refused(page: Page) -> None:
        sign_in(page, "acc@example.org")
        page.goto(page.url.split("/dashboard")[0] + "/dashboard/settings/activity")
        page.wait_for_selector("h1")

    return [
        ("sign-in", "/dashboard/sign-in", lambda page: None),
        ("sign-in-errors", "/dashboard/sign-in", errors),
        ("sign-in-refused", "/dashboard/sign-in", refused),
        ("invitation", _path(pending.url), lambda page: None),
        ("invitation-errors", _path(pending.url), invitation_errors),
        ("invitation-unusable", "/dashboard/invitations/not-a-token", lambda page: None),
        ("code-refused", "/dashboard/sign-in", code_refused),
        ("enrolling", "/dashboard/sign-in", enrolling),
        owner_at("/dashboard"),
        owner_at("/dashboard/settings/users"),
        owner_at("/dashboard/settings/activity"),
        ("users-invited", "/dashboard/sign-in?next=/dashboard/settings/users", invited),
        ("users-invite-errors", "/dashboard/sign-in?next=/dashboard/settings/users", invite_errors),
        ("users-role-form", "/dashboard/sign-in?next=/dashboard/settings/users", role_open),
        ("accountant-refused", "/dashboard/sign-in", accountant_refused),
    ]


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_no_dashboard_page_overflows_a_phone_and_axe_finds_no_violation(
    live: LiveKleline, chromium: Browser, lang: str, clock: FakeClock
) -> None:
    assert layout_problems(chromium, live.url, _states(live.kleline, clock), lang, WIDTHS) == []
