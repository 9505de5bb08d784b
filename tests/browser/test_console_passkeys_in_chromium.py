"""A staff member's passkey in Chromium, with its virtual authenticator (CDP ``WebAuthn``): a new staff member sets up
a passkey as the mandatory second factor when joining, and signs in with it at the second step; a member with an
authenticator app adds a passkey on the console's security page and signs in with it next time. Set
``KLELINE_SCREENSHOTS`` to a directory to keep a screenshot of each step there."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from kleline.staff.actor import command_line
from kleline.staff.roles import Role

from ..conftest import FakeClock
from ..e2e.console_world import PASSWORD, invitation_path, staff_member
from .conftest import LiveKleline, served
from .test_dashboard_security_in_chromium import virtual_authenticator

pytestmark = pytest.mark.browser


@pytest.fixture
def live(database_url: str, clock: FakeClock) -> Iterator[LiveKleline]:
    """Kleline served at http://localhost:PORT: browsers refuse passkeys for an IP address, not for localhost."""
    with served(database_url, clock, "localhost") as system:
        yield system


def shot(page: Page, name: str) -> None:
    shots = os.environ.get("KLELINE_SCREENSHOTS")
    if shots:
        page.screenshot(path=str(Path(shots) / f"journey-{name}.png"), full_page=True)


def password_step(page: Page, email: str) -> None:
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.locator("form[action='/console/sign-in'] button[type=submit]").click()
    page.wait_for_selector("h1")


def test_a_new_staff_member_joins_with_a_passkey_and_signs_in_with_it(
    live: LiveKleline, context: BrowserContext, page: Page, clock: FakeClock
) -> None:
    kleline = live.kleline
    invited = kleline.staff_team.invite("grace@kleline.example", Role.SUPPORT, by=command_line())
    virtual_authenticator(context, page)

    page.goto(f"{live.url}{invitation_path(invited.url)}")
    page.get_by_label("Choose a password").fill(PASSWORD)
    page.get_by_role("button", name="Join the staff").click()
    expect(page.get_by_role("heading", name="Secure your sign-in")).to_be_visible()
    expect(page.get_by_text("Adding a passkey needs JavaScript")).to_be_hidden()  # the script runs
    shot(page, "first-factor")
    page.get_by_label("Name of the new passkey").fill("Grace's laptop")
    page.get_by_role("button", name="Add a passkey").click()
    page.wait_for_url(f"{live.url}/console")
    expect(page.get_by_role("status")).to_contain_text("Your passkey is set up")
    [user] = [u for u in kleline.staff_team.list(command_line()) if u.email == "grace@kleline.example"]
    assert user.passkey and not user.authenticator

    page.get_by_role("button", name="Sign out", exact=True).click()
    page.wait_for_url(f"{live.url}/console/sign-in")
    clock.advance(minutes=1)
    page.goto(f"{live.url}/console/sign-in?next=/console/security")
    password_step(page, "grace@kleline.example")
    expect(page.get_by_role("heading", name="Use your passkey")).to_be_visible()
    expect(page.locator("#code")).to_have_count(0)  # no authenticator app: no code asked for
    shot(page, "second-step-passkey-only")
    page.get_by_role("button", name="Use my passkey").click()
    page.wait_for_url(f"{live.url}/console/security")
    region = page.get_by_role("region", name="Passkeys")
    expect(region).to_contain_text("Grace's laptop")
    expect(region).to_contain_text("It is your only second factor")
    shot(page, "security-passkey-only")
    [passkey] = kleline.staff_passkeys.list(user.id)
    assert passkey.last_used_at == clock.now
    methods = [(r.after or {}).get("method") for r in kleline.staff_security.sign_ins(user.id)]
    assert methods[:2] == ["passkey", "passkey"]


def test_a_staff_member_adds_a_passkey_on_the_security_page_and_signs_in_with_it(
    live: LiveKleline, context: BrowserContext, page: Page, clock: FakeClock
) -> None:
    kleline = live.kleline
    user, totp = staff_member(kleline, "ada@kleline.example", Role.ADMIN, clock)
    virtual_authenticator(context, page)

    page.goto(f"{live.url}/console/sign-in?next=/console/security")
    password_step(page, "ada@kleline.example")
    page.get_by_label("Code from your authenticator app").fill(totp.at(clock.now))
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(f"{live.url}/console/security")
    page.get_by_label("Name of the new passkey").fill("Ada's YubiKey")
    page.get_by_role("button", name="Add a passkey").click()
    expect(page.get_by_role("status").filter(has_text="The passkey was added")).to_be_visible()
    expect(page.get_by_role("region", name="Passkeys")).to_contain_text("Ada's YubiKey")
    shot(page, "security-added")

    page.get_by_role("button", name="Sign out", exact=True).click()
    page.wait_for_url(f"{live.url}/console/sign-in")
    clock.advance(minutes=1)
    page.goto(f"{live.url}/console/sign-in?next=/console/security")
    password_step(page, "ada@kleline.example")
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()  # a passkey or a code
    shot(page, "second-step-both")
    page.get_by_role("button", name="Use my passkey").click()
    page.wait_for_url(f"{live.url}/console/security")
    page.get_by_role("button", name="Remove Ada's YubiKey").click()
    expect(page.get_by_role("status").filter(has_text="The passkey was removed")).to_be_visible()
    assert kleline.staff_passkeys.list(user.id) == []
    actions = [r.action for r in kleline.staff_security.sign_ins(user.id)]
    assert actions and all(a == "staff_signed_in" for a in actions)
    methods = [(r.after or {}).get("method") for r in kleline.staff_security.sign_ins(user.id)]
    assert methods[0] == "passkey"
