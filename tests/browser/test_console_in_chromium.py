"""The operator console in Chromium: an admin signs in with its authenticator's code, invites a compliance and a
finance person, each follows their link, chooses a password, sets up an authenticator app from the secret the page
shows, and signs in; a support person is refused the staff page. Then the console's pages in each of their states, at
phone width and wide, in French and English: nothing overflows sideways, and axe finds no violation. Set
``KLELINE_SCREENSHOTS`` to a directory to keep a screenshot of each state there."""

from __future__ import annotations

from collections.abc import Iterator

import pyotp
import pytest
from playwright.sync_api import Browser, Page, expect

from kleline.bootstrap import Kleline
from kleline.staff.actor import command_line
from kleline.staff.roles import Role

from ..conftest import FakeClock
from ..e2e.console_world import PASSWORD, invitation_path, staff_member
from ..soft_authenticator import SoftAuthenticator
from .conftest import LiveKleline, served
from .layout import State, layout_problems

pytestmark = pytest.mark.browser

WIDTHS = (360, 1280)
LONG_EMAIL = "adelaide-marguerite.de-montmorency-laval@direction-des-operations.kleline.example"


@pytest.fixture
def live(database_url: str, clock: FakeClock) -> Iterator[LiveKleline]:
    """Kleline served at http://localhost:PORT, so that the pages offer passkeys (browsers refuse them for an IP
    address)."""
    with served(database_url, clock, "localhost") as system:
        yield system


def password_step(page: Page, email: str, password: str = PASSWORD) -> None:
    page.locator("#email").fill(email)
    page.locator("#password").fill(password)
    page.locator("form[action='/console/sign-in'] button[type=submit]").click()
    page.wait_for_selector("h1")


def code_step(page: Page, totp: pyotp.TOTP, clock: FakeClock) -> None:
    clock.advance(seconds=30)  # a code is never accepted twice: each sign-in takes the next time step's
    page.locator("#code").fill(totp.at(clock.now))
    page.locator("form[action='/console/sign-in/code'] button[type=submit]").click()
    page.wait_for_selector("h1")


def join(browser: Browser, base: str, link: str, clock: FakeClock) -> tuple[Page, pyotp.TOTP]:
    """A new person, in a browser of their own, follows the invitation link, chooses a password and sets up an
    authenticator app from the secret the page shows: signed in, on the console's home."""
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{base}{invitation_path(link)}")
    expect(page.get_by_role("heading", name="Join Kleline's staff")).to_be_visible()
    page.get_by_label("Choose a password").fill(PASSWORD)
    page.get_by_role("button", name="Join the staff").click()
    expect(page.get_by_role("heading", name="Secure your sign-in")).to_be_visible()
    page.get_by_role("button", name="Set up an authenticator app").click()
    secret = page.locator("p.secret code").inner_text().replace(" ", "")
    totp = pyotp.TOTP(secret)
    page.get_by_label("Code from your authenticator app").fill(totp.at(clock.now))
    page.get_by_role("button", name="Confirm the app").click()
    page.wait_for_url(f"{base}/console")
    expect(page.get_by_role("status")).to_contain_text("Your authenticator app is set up")
    return page, totp


def test_an_admin_invites_compliance_and_finance_who_join_and_sign_in_and_support_is_refused_the_staff_page(
    live: LiveKleline, chromium: Browser, page: Page, clock: FakeClock
) -> None:
    kleline = live.kleline
    admin, admin_totp = staff_member(kleline, "admin@kleline.example", Role.ADMIN, clock)
    _, support_totp = staff_member(kleline, "support@kleline.example", Role.SUPPORT, clock)

    page.goto(f"{live.url}/console/staff")
    expect(page.get_by_role("heading", name="Sign in to Kleline's console")).to_be_visible()
    password_step(page, "admin@kleline.example")
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    code_step(page, admin_totp, clock)
    page.wait_for_url(f"{live.url}/console/staff")
    links = {}
    for email, role in (("compliance@kleline.example", "Compliance"), ("finance@kleline.example", "Finance")):
        page.get_by_label("Their email address").fill(email)
        page.get_by_label("Role", exact=True).last.select_option(label=role)
        page.get_by_role("button", name="Make the invitation link").click()
        notice = page.get_by_role("status").filter(has_text="Invitation ready: send this link")
        expect(notice).to_contain_text(email)
        links[email] = notice.locator("code").inner_text()
    expect(page.get_by_role("region", name="Pending invitations")).to_contain_text("finance@kleline.example")

    for email, role in (("compliance@kleline.example", "Compliance"), ("finance@kleline.example", "Finance")):
        joined, totp = join(chromium, live.url, links[email], clock)
        expect(joined.get_by_role("region", name="You", exact=True)).to_contain_text(role)
        joined.get_by_role("button", name="Sign out", exact=True).click()
        joined.wait_for_url(f"{live.url}/console/sign-in")
        joined.goto(f"{live.url}/console")
        password_step(joined, email)
        code_step(joined, totp, clock)
        joined.wait_for_url(f"{live.url}/console")
        expect(joined.get_by_role("region", name="You", exact=True)).to_contain_text(email)
        sections = joined.get_by_role("navigation", name="Console sections")
        expect(sections.get_by_role("link", name="Staff")).to_have_count(0)
        joined.context.close()

    page.reload()
    people = page.get_by_role("region", name="People")
    expect(people).to_contain_text("compliance@kleline.example")
    expect(people).to_contain_text("authenticator app set up")
    expect(page.get_by_role("region", name="Pending invitations")).to_contain_text("No invitation is waiting.")

    support = chromium.new_context(locale="en-GB").new_page()
    support.goto(f"{live.url}/console/sign-in")
    password_step(support, "support@kleline.example")
    code_step(support, support_totp, clock)
    support.goto(f"{live.url}/console/staff")
    expect(support.get_by_role("heading", name="Not allowed")).to_be_visible()
    expect(support.locator("main")).to_contain_text("it needs the power “Manage the staff”")
    support.context.close()
    roles = sorted(person.role.value for person in kleline.staff_team.list(admin.actor(None)))
    assert roles == ["admin", "compliance", "finance", "support"]


def _states(kleline: Kleline, base: str, clock: FakeClock) -> list[State]:
    admin_user, admin = staff_member(kleline, LONG_EMAIL, Role.ADMIN, clock)
    _, support = staff_member(kleline, "support@kleline.example", Role.SUPPORT, clock)
    staff_member(kleline, "finance@kleline.example", Role.FINANCE, clock)
    team, by = kleline.staff_team, admin_user.actor(None)
    waiting = team.invite("nouvelle.recrue@kleline.example", Role.COMPLIANCE, by=by)
    unusable = team.invite("late@kleline.example", Role.FINANCE, by=by)
    team.withdraw(unusable.invitation.id, by=by)
    team.accept(team.invite("fresh@kleline.example", Role.SUPPORT, by=by).token, PASSWORD)  # no authenticator yet
    device = SoftAuthenticator(base)
    keyholder, keyholder_totp = staff_member(kleline, "keys@kleline.example", Role.COMPLIANCE, clock)
    pending = kleline.staff_sign_in.check_password(None, keyholder.email, PASSWORD, "2001:db8:1234:5678::1")
    signed_in = kleline.staff_sign_in.pass_second_factor(pending, keyholder_totp.at(clock.now), "2001:db8::1")
    clock.advance(seconds=30)
    for name in ("Téléphone d’Adélaïde (Pixel 8 Pro, boîtier bleu)", "YubiKey 5C NFC"):
        offer = kleline.staff_passkeys.begin_registration(signed_in)
        kleline.staff_passkeys.register(signed_in, offer.ceremony_id, device.create(offer.options_json), name)
    only = team.accept(team.invite("only.keys@kleline.example", Role.FINANCE, by=command_line()).token, PASSWORD)
    offer = kleline.staff_passkeys.begin_registration(only)
    kleline.staff_passkeys.register(only, offer.ceremony_id, device.create(offer.options_json), "Clé de sécurité")

    def sign_in(page: Page, email: str = LONG_EMAIL, totp: pyotp.TOTP = admin) -> None:
        password_step(page, email)
        code_step(page, totp, clock)

    def sign_in_errors(page: Page) -> None:
        page.locator("form[action='/console/sign-in'] button[type=submit]").click()
        page.wait_for_selector(".error-summary")

    def code(page: Page) -> None:
        password_step(page, LONG_EMAIL)

    def first_factor(page: Page) -> None:
        password_step(page, "fresh@kleline.example")
        page.locator("form[action='/console/sign-in/authenticator'] button").click()
        page.wait_for_selector(".qr svg")

    def invited(page: Page) -> None:
        sign_in(page)
        page.locator("#invite-email").fill("someone.with.a.long.address@operations.kleline.example")
        page.locator("form[action='/console/staff/invite'] button").click()
        page.wait_for_selector(".notice .secret")

    def invite_errors(page: Page) -> None:
        sign_in(page)
        page.locator("#invite-email").fill("not an address")
        page.locator("form[action='/console/staff/invite'] button").click()
        page.wait_for_selector(".error-summary")

    def opened(page: Page) -> None:
        sign_in(page)
        page.locator("details summary").first.click()

    def replacing(page: Page) -> None:
        sign_in(page)
        page.locator("details summary").first.click()
        clock.advance(seconds=30)
        page.locator("#current_code").fill(admin.at(clock.now))
        page.locator("form[action='/console/security/authenticator'] button").click()
        page.wait_for_selector(".qr svg")

    def password_errors(page: Page) -> None:
        sign_in(page)
        page.locator("#current_password").fill("not mine")
        page.locator("#new_password").fill("short")
        page.locator("#new_password_again").fill("shorter")
        page.locator("form[action='/console/security/password'] button").click()
        page.wait_for_selector(".error-summary")

    def first_factor_choice(page: Page) -> None:
        password_step(page, "fresh@kleline.example")
        page.wait_for_selector("form[data-passkey]")

    def passkey_step(page: Page, email: str = keyholder.email) -> None:
        password_step(page, email)
        page.wait_for_selector("form[data-passkey]")

    def passkeys(page: Page) -> None:
        sign_in(page, keyholder.email, keyholder_totp)

    def passkeys_stale(page: Page) -> None:
        passkeys(page)
        clock.advance(minutes=16)
        page.reload()
        page.wait_for_selector("h1")

    def nothing(page: Page) -> None:
        page.wait_for_selector("h1")

    staff = "/console/sign-in?next=/console/staff"
    security = "/console/sign-in?next=/console/security"
    home = "/console/sign-in?next=/console"
    return [
        ("console-sign-in", "/console/sign-in", nothing),
        ("console-sign-in-errors", "/console/sign-in", sign_in_errors),
        ("console-code", "/console/sign-in", code),
        ("console-first-factor", "/console/sign-in", first_factor),
        ("console-home-admin", home, sign_in),
        ("console-home-support", home, lambda page: sign_in(page, "support@kleline.example", support)),
        ("console-refused", staff, lambda page: sign_in(page, "support@kleline.example", support)),
        ("console-staff", staff, sign_in),
        ("console-staff-opened", staff, opened),
        ("console-staff-invited", staff, invited),
        ("console-staff-errors", staff, invite_errors),
        ("console-security", security, sign_in),
        ("console-security-replacing", security, replacing),
        ("console-security-errors", security, password_errors),
        ("console-first-factor-choice", "/console/sign-in", first_factor_choice),
        ("console-passkey-step", "/console/sign-in", passkey_step),
        ("console-passkey-only-step", "/console/sign-in", lambda page: passkey_step(page, "only.keys@kleline.example")),
        ("console-security-passkeys", security, passkeys),
        ("console-security-passkeys-stale", security, passkeys_stale),
        ("console-invitation", invitation_path(waiting.url), nothing),
        ("console-invitation-unusable", invitation_path(unusable.url), nothing),
    ]


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_no_console_page_overflows_a_phone_and_axe_finds_no_violation(
    live: LiveKleline, chromium: Browser, lang: str, clock: FakeClock
) -> None:
    assert layout_problems(chromium, live.url, _states(live.kleline, live.url, clock), lang, WIDTHS) == []
