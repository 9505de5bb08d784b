"""The security page and passkeys in Chromium, with its virtual authenticator (CDP ``WebAuthn``): a shopper adds a
passkey, signs in with it, and confirms a payment above the exemption with it at checkout; another tops up 50 EUR
with one. Then every state of the security pages (and of the passkey steps of checkout and top-up) at phone width
and wide, in French and English: nothing overflows sideways, and axe finds no violation. Set
``KLELINE_SCREENSHOTS`` to a directory to keep a screenshot of each state there, to look at."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pyotp
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from kleline.bootstrap import Kleline

from ..conftest import FakeClock
from ..e2e.checkout_world import PASSWORD, card, customer, eur, fund, payment, shop
from ..soft_authenticator import SoftAuthenticator
from .conftest import SHOP_ORIGIN, LiveKleline, Shop, served
from .layout import State, layout_problems

pytestmark = pytest.mark.browser

RETURN_URL = f"{SHOP_ORIGIN}/orders/42/done"
WIDTHS = (360, 1280)


@pytest.fixture
def live(database_url: str, clock: FakeClock) -> Iterator[LiveKleline]:
    """Kleline served at http://localhost:PORT: browsers refuse passkeys for an IP address, not for localhost."""
    with served(database_url, clock, "localhost") as system:
        yield system


def authenticator(context: BrowserContext, page: Page) -> str:
    """A platform authenticator with a fingerprint reader that always recognises its owner; its id."""
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    added = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return str(added["authenticatorId"])


def sign_in_with_password(page: Page) -> None:
    page.locator("#email").fill("ada@example.org")
    page.locator("#password").fill(PASSWORD)
    page.locator("form[action='/sign-in'] button[type=submit]").click()


def test_a_passkey_is_added_then_signs_in_and_confirms_a_payment_above_the_exemption(
    live: LiveKleline, context: BrowserContext, page: Page, shop_site: Shop
) -> None:
    kleline = live.kleline
    ada = customer(kleline)
    fund(kleline, ada.id, card(kleline, ada.id), 2500)
    fund(kleline, ada.id, card(kleline, ada.id, "5555555555554444"), 2500)
    paying = payment(kleline, shop(kleline), 4500, return_url=RETURN_URL)  # above the 30 EUR exemption
    device = authenticator(context, page)

    page.goto(f"{live.url}/wallet/security")
    sign_in_with_password(page)
    page.wait_for_url(f"{live.url}/wallet/security")
    expect(page.get_by_text("Adding a passkey needs JavaScript")).to_be_hidden()  # the script runs
    page.get_by_role("button", name="Add a passkey").click()  # no name yet: the server says so, no device is asked
    expect(page.locator(".error-summary")).to_contain_text("name")
    held = context.new_cdp_session(page).send("WebAuthn.getCredentials", {"authenticatorId": device})
    assert held["credentials"] == [] and kleline.passkeys.list(ada.id) == []
    page.get_by_label("Name of the new passkey").fill("Ada's laptop")
    page.get_by_role("button", name="Add a passkey").click()
    expect(page.get_by_role("status").filter(has_text="Your passkey “Ada's laptop” was added")).to_be_visible()
    expect(page.get_by_text("not used yet")).to_be_visible()
    [passkey] = kleline.passkeys.list(ada.id)
    assert passkey.transports == ("internal",)

    page.get_by_role("button", name="Sign out", exact=True).click()
    page.goto(f"{live.url}/sign-in?next=/wallet")
    page.get_by_role("button", name="Use a passkey instead").click()  # no email, no password
    page.wait_for_url(f"{live.url}/wallet")
    expect(page.get_by_text("Signed in as Ada Lovelace")).to_be_visible()
    assert kleline.passkeys.list(ada.id)[0].last_used_at is not None

    page.goto(paying.checkout_url)
    page.get_by_label(re.compile(r"^Your purse: €50\.00 available")).check()
    page.get_by_role("button", name="Pay €45.00").click()
    expect(page.get_by_role("heading", name="Confirm it is you")).to_be_visible()
    assert kleline.payments.get(paying.id).status == "requires_action"
    page.get_by_role("button", name="Confirm with a passkey and pay €45.00").click()
    expect(page.locator("#confirmation")).to_contain_text("You paid €45.00")  # Kleline's confirmation, then the shop
    page.get_by_role("link", name=re.compile(r"^Continue to ")).click()

    page.wait_for_url(re.compile(rf"^{re.escape(RETURN_URL)}\?"))
    assert "status=succeeded" in shop_site.returns[0]
    paid = kleline.payments.get(paying.id)
    assert (paid.status, paid.method, paid.amount_captured) == ("succeeded", "purse", 4500)
    assert kleline.passkeys.list(ada.id)[0].sign_count >= passkey.sign_count


def test_a_shopper_tops_up_50_eur_with_a_passkey_after_a_refusal_of_the_device(
    live: LiveKleline, context: BrowserContext, page: Page
) -> None:
    kleline = live.kleline
    ada = customer(kleline)
    card(kleline, ada.id)  # no authenticator app: the passkey is the wallet's only strong factor
    device = authenticator(context, page)

    page.goto(f"{live.url}/wallet/security")
    sign_in_with_password(page)
    page.wait_for_url(f"{live.url}/wallet/security")
    page.get_by_label("Name of the new passkey").fill("Ada's laptop")
    page.get_by_role("button", name="Add a passkey").click()
    expect(page.get_by_role("status").filter(has_text="Your passkey “Ada's laptop” was added")).to_be_visible()

    page.get_by_role("navigation", name="Your wallet").get_by_role("link", name="Top up").click()
    page.get_by_label("Amount in euros").fill("50")  # above the 30 EUR exemption
    expect(page.get_by_label(re.compile(r"^Visa card ending 4242"))).to_be_checked()
    page.get_by_role("button", name="Top up", exact=True).click()
    expect(page.get_by_role("heading", name="Confirm your top-up")).to_be_visible()
    expect(page.get_by_text("Confirming with a passkey needs JavaScript")).to_be_hidden()  # the script runs
    expect(page.get_by_label("Code from your authenticator app")).to_have_count(0)  # no app: no code form
    confirm = page.get_by_role("button", name="Confirm with a passkey and add €50.00")

    # The person's finger is not recognised: the device refuses, the page says so and nothing is sent.
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send("WebAuthn.setUserVerified", {"authenticatorId": device, "isUserVerified": False})
    confirm.click()
    expect(page.get_by_role("status").filter(has_text="No passkey was used")).to_be_visible()
    expect(confirm).to_be_enabled()
    assert kleline.top_ups.standing(ada).balance.minor == 0

    cdp.send("WebAuthn.setUserVerified", {"authenticatorId": device, "isUserVerified": True})
    confirm.click()
    expect(page.get_by_role("status")).to_contain_text("€50.00 was added to your purse from your card.")
    expect(page.locator("#balance")).to_have_text("€50.00")
    assert kleline.top_ups.standing(ada).balance.minor == 5000
    assert kleline.passkeys.list(ada.id)[0].last_used_at is not None


def _states(kleline: Kleline, base: str, clock: FakeClock) -> list[State]:
    ada = customer(kleline, name="Adélaïde-Marguerite de Montmorency-Laval")
    fund(kleline, ada.id, card(kleline, ada.id), 2500)
    grace = customer(kleline, "grace@example.org", "Grace Hopper")
    secret: list[str] = []

    def signed_in(page: Page, email: str = "ada@example.org") -> None:
        page.locator("#email").fill(email)
        page.locator("#password").fill(PASSWORD)
        page.locator("form[action='/sign-in'] button[type=submit]").click()
        page.wait_for_url(f"{base}/wallet/security*")

    def enrolling(page: Page) -> None:
        signed_in(page)
        page.locator("form[action='/wallet/security/authenticator'] button").click()
        page.wait_for_selector(".qr svg")
        secret.append(page.locator(".secret").inner_text().replace(" ", ""))

    def errors(page: Page) -> None:
        signed_in(page)
        page.locator("#current_password").fill("not mine")
        page.locator("#new_password").fill("short")
        page.locator("#new_password_again").fill("shorter")
        page.locator("form[action='/wallet/security/password'] button").click()
        page.wait_for_selector(".error-summary")

    def full(page: Page) -> None:
        # Grace: a confirmed app, two passkeys, sign-ins from the web and the API.
        if kleline.strong_auth.enrolment(grace.id) == "none":
            enrolment = kleline.strong_auth.enrol(grace.id, grace.email)
            kleline.strong_auth.confirm_enrolment(grace.id, _code(enrolment.secret, clock))
        if not kleline.passkeys.list(grace.id):
            device = SoftAuthenticator(base)
            for name in ("Téléphone de Grace (Pixel 8 Pro, boîtier bleu)", "YubiKey"):
                offer = kleline.passkeys.begin_registration(grace.id)
                kleline.passkeys.register(grace.id, offer.ceremony_id, device.create(offer.options_json), name)
            kleline.sign_ins.record(grace.id, "password", "api", "python-httpx/0.28", "2001:db8:1234:5678::1")
            kleline.sign_ins.record(
                grace.id,
                "passkey",
                "web",
                "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1 Version/18.0 Safari/604",
                "203.0.113.77",
            )
        signed_in(page, "grace@example.org")

    merchant_id = shop(kleline)
    challenged = payment(kleline, merchant_id, 4500, return_url=None)

    def checkout_passkey(page: Page) -> None:
        full(page)  # Grace's passkeys and app
        if kleline.payments.get(challenged.id).status == "requires_confirmation":
            kleline.payments.confirm(challenged.id, grace.id, "purse")
        page.goto(f"{base}/checkout/{challenged.id}")
        page.wait_for_selector("form[data-passkey]")

    graces_card = card(kleline, grace.id, "5555555555554444")

    def top_up_passkey(page: Page) -> None:
        full(page)  # Grace's passkeys and app: both ways are offered
        asked = kleline.top_ups.top_up(grace.id, eur(4000), graces_card)
        page.goto(f"{base}/wallet/top-up/{asked.id}?challenge={asked.challenge_id}")
        page.wait_for_selector("form[data-passkey]")

    def passkey_sign_in(page: Page) -> None:
        page.locator("form[action='/sign-in/passkey'] button").click()
        page.wait_for_selector("h1")

    return [
        ("security-new", "/wallet/security", signed_in),
        ("security-enrolling", "/wallet/security", enrolling),
        ("security-errors", "/wallet/security", errors),
        ("security-full", "/wallet/security", full),
        ("sign-in", "/sign-in?next=/wallet", lambda page: None),
        ("sign-in-passkey", "/sign-in?next=/wallet", passkey_sign_in),
        ("checkout-passkey", "/wallet/security", checkout_passkey),
        ("top-up-passkey", "/wallet/security", top_up_passkey),
    ]


def _code(secret: str, clock: FakeClock) -> str:
    return pyotp.TOTP(secret).at(clock.now)


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_no_security_page_overflows_a_phone_and_axe_finds_no_violation(
    live: LiveKleline, chromium: Browser, lang: str, clock: FakeClock
) -> None:
    assert layout_problems(chromium, live.url, _states(live.kleline, live.url, clock), lang, WIDTHS) == []
