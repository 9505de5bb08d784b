"""A merchant user's passkey in Chromium, with its virtual authenticator (CDP ``WebAuthn``): an owner adds one on the
dashboard's security page, signs in with it at the second step, and confirms a refund with it once the code given
at sign-in is too old. Then the security page's states and the passkey steps of sign-in, at phone width and wide,
in French and English: nothing overflows sideways, and axe finds no violation. Set ``KLELINE_SCREENSHOTS`` to a
directory to keep a screenshot of each state there."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pyotp
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from kleline.bootstrap import Kleline
from kleline.merchant_users import DashboardSession, MerchantUser
from kleline.money import Money
from kleline.payments.model import Payment, PaymentRequest

from ..conftest import FakeClock
from ..e2e.checkout_world import card, customer, fund
from ..e2e.dashboard_world import PASSWORD, authenticator, member, merchant
from ..soft_authenticator import SoftAuthenticator
from .conftest import LiveKleline, served
from .layout import State, layout_problems

pytestmark = pytest.mark.browser

WIDTHS = (360, 1280)
LONG_NAME = "Adélaïde-Marguerite de Montmorency-Laval"


@pytest.fixture
def live(database_url: str, clock: FakeClock) -> Iterator[LiveKleline]:
    """Kleline served at http://localhost:PORT: browsers refuse passkeys for an IP address, not for localhost."""
    with served(database_url, clock, "localhost") as system:
        yield system


def virtual_authenticator(context: BrowserContext, page: Page) -> None:
    """A platform authenticator with a fingerprint reader that always recognises its owner."""
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    options = {
        "protocol": "ctap2",
        "transport": "internal",
        "hasResidentKey": True,
        "hasUserVerification": True,
        "isUserVerified": True,
        "automaticPresenceSimulation": True,
    }
    cdp.send("WebAuthn.addVirtualAuthenticator", {"options": options})


def paid(kleline: Kleline, shop: str, minor: int) -> Payment:
    """A payment of ``minor`` cents to ``shop``, paid from a customer's purse."""
    ada = customer(kleline)
    fund(kleline, ada.id, card(kleline, ada.id), minor)
    created = kleline.payments.create(shop, PaymentRequest(Money(minor, "EUR"), "Livres", "ORDER-42", "automatic"))
    return kleline.payments.confirm(created.id, ada.id, "purse")


def password_step(page: Page, email: str) -> None:
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.locator("form[action='/dashboard/sign-in'] button[type=submit]").click()
    page.wait_for_selector("h1")


def test_an_owner_adds_a_passkey_signs_in_with_it_and_confirms_a_refund_with_it(
    live: LiveKleline, context: BrowserContext, page: Page, clock: FakeClock
) -> None:
    kleline = live.kleline
    shop = merchant(kleline)
    payment = paid(kleline, shop, 2000)
    owner = member(kleline, shop, "owner@example.org", name="Ada Lovelace")
    totp = authenticator(kleline, owner, clock)
    virtual_authenticator(context, page)

    page.goto(f"{live.url}/dashboard/security")
    password_step(page, "owner@example.org")
    page.get_by_label("Code from your authenticator app").fill(totp.at(clock.now))
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(f"{live.url}/dashboard/security")
    expect(page.get_by_text("Adding a passkey needs JavaScript")).to_be_hidden()  # the script runs
    page.get_by_label("Name of the new passkey").fill("Ada's laptop")
    page.get_by_role("button", name="Add a passkey").click()
    expect(page.get_by_role("status").filter(has_text="Your passkey was added.")).to_be_visible()
    expect(page.get_by_role("region", name="Passkeys")).to_contain_text("Ada's laptop")

    page.get_by_role("button", name="Sign out", exact=True).click()
    page.wait_for_url(f"{live.url}/dashboard/sign-in")
    clock.advance(seconds=30)
    page.goto(f"{live.url}/dashboard/payments/{payment.id}")
    password_step(page, "owner@example.org")
    expect(page.get_by_role("heading", name="Confirm it is you")).to_be_visible()  # a passkey or a code
    page.get_by_role("button", name="Use my passkey").click()
    page.wait_for_url(f"{live.url}/dashboard/payments/{payment.id}")

    clock.advance(minutes=16)  # the passkey given at sign-in is too old for a refund
    page.get_by_label("Amount to refund, in euros").fill("5.50")
    page.get_by_role("button", name="Refund the customer").click()
    page.wait_for_url(re.compile(r"/dashboard/confirm\?"))
    page.get_by_role("button", name="Use my passkey").click()
    page.wait_for_url(re.compile(rf"/dashboard/payments/{payment.id}\?amount=5.50"))
    page.get_by_role("button", name="Refund the customer").click()
    page.wait_for_url(re.compile(rf"/dashboard/payments/{payment.id}$"))
    assert [refund.amount.minor for refund in kleline.refunds.list(payment_id=payment.id)] == [550]
    [passkey] = kleline.merchant_passkeys.list(owner.id)
    assert passkey.last_used_at == clock.now
    methods = [r.detail.get("method") for r in kleline.merchant_security.sign_ins(owner.id)]
    assert methods[:2] == ["passkey", "authenticator"]


def _states(kleline: Kleline, base: str, clock: FakeClock) -> list[State]:
    shop = merchant(kleline, "Librairie-Papeterie des Quatre-Saisons et du Marché Saint-Germain-des-Prés")
    owner = member(kleline, shop, "adelaide.montmorency-laval@example.org", name=LONG_NAME)
    totp = authenticator(kleline, owner, clock)
    member(kleline, shop, "acc@example.org", "accountant", name="Alan Turing")
    member(kleline, shop, "new.owner@example.org", name="Nouvelle Propriétaire")  # no second factor yet
    device = SoftAuthenticator(base)

    def session_of(user: MerchantUser, code: pyotp.TOTP) -> DashboardSession:
        pending = kleline.merchant_sign_in.check_password(None, user.email, PASSWORD, "2001:db8:1234:5678::1")
        clock.advance(seconds=30)
        return kleline.merchant_sign_in.pass_second_factor(pending, code.at(clock.now), "2001:db8:1234:5678::1")

    signed_in = session_of(owner, totp)
    for name in ("Téléphone d’Adélaïde (Pixel 8 Pro, boîtier bleu)", "YubiKey 5C NFC"):
        offer = kleline.merchant_passkeys.begin_registration(signed_in)
        kleline.merchant_passkeys.register(signed_in, offer.ceremony_id, device.create(offer.options_json), name)

    def sign_in(page: Page, email: str = owner.email) -> None:
        password_step(page, email)
        if "/dashboard/sign-in/code" in page.url:
            clock.advance(seconds=30)
            page.locator("#code").fill(totp.at(clock.now))
            page.locator("form[action='/dashboard/sign-in/code'] button[type=submit]").click()
            page.wait_for_selector("h1")

    def replacing(page: Page) -> None:
        sign_in(page)
        page.locator("form[action='/dashboard/security/authenticator'] button").click()
        page.wait_for_selector(".qr svg")

    def password_errors(page: Page) -> None:
        sign_in(page, "acc@example.org")
        page.locator("#current_password").fill("not mine")
        page.locator("#new_password").fill("short")
        page.locator("#new_password_again").fill("shorter")
        page.locator("form[action='/dashboard/security/password'] button").click()
        page.wait_for_selector(".error-summary")

    def stale(page: Page) -> None:
        sign_in(page)
        clock.advance(minutes=16)
        page.reload()
        page.wait_for_selector("h1")

    def confirm_again(page: Page) -> None:
        stale(page)
        page.get_by_role("link", name=re.compile("Confirm it is you|Confirmez")).first.click()
        page.wait_for_selector("form[data-passkey]")

    def second_step(page: Page) -> None:
        password_step(page, owner.email)
        page.wait_for_selector("form[data-passkey]")

    def first_factor(page: Page) -> None:
        password_step(page, "new.owner@example.org")
        page.wait_for_selector("form[data-passkey]")

    security = "/dashboard/sign-in?next=/dashboard/security"
    return [
        ("security-accountant", security, lambda page: sign_in(page, "acc@example.org")),
        ("security-owner", security, sign_in),
        ("security-replacing", security, replacing),
        ("security-errors", security, password_errors),
        ("security-confirm-first", security, stale),
        ("confirm-passkey", security, confirm_again),
        ("sign-in-second-step", "/dashboard/sign-in", second_step),
        ("sign-in-first-factor", "/dashboard/sign-in", first_factor),
    ]


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_no_security_page_of_the_dashboard_overflows_a_phone_and_axe_finds_no_violation(
    live: LiveKleline, chromium: Browser, lang: str, clock: FakeClock
) -> None:
    assert layout_problems(chromium, live.url, _states(live.kleline, live.url, clock), lang, WIDTHS) == []
