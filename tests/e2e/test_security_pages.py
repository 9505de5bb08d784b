"""The wallet's security page over HTTP, without JavaScript: the authenticator app, the password, the sessions,
the recent sign-ins; and the passkey forms, answered by a software authenticator as the page's script would."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pyotp
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from kleline.api.app import create_app
from kleline.bootstrap import Kleline, build
from kleline.config import load_settings

from ..conftest import FakeClock
from ..soft_authenticator import SoftAuthenticator
from .checkout_world import PASSWORD, card, customer, fund, payment, shop
from .page_visitor import Visitor, alert

PUBLIC_URL = "http://localhost:8000"
NEW_PASSWORD = "a brand new passphrase, longer"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0"


@pytest.fixture
def kleline(database_url: str, clock: FakeClock) -> Iterator[Kleline]:
    """Kleline whose pages are served at a host name, where browsers allow passkeys."""
    system = build(load_settings(database_url=database_url, public_url=PUBLIC_URL), clock=clock)
    try:
        yield system
    finally:
        system.close()


@pytest.fixture
def app(kleline: Kleline) -> FastAPI:
    return create_app(kleline)


def visitor(app: FastAPI, user_agent: str = FIREFOX) -> Visitor:
    client = TestClient(app, follow_redirects=False, base_url=PUBLIC_URL, headers={"user-agent": user_agent})
    return Visitor(client)


@pytest.fixture
def browser(app: FastAPI) -> Visitor:
    return visitor(app)


def _options(page: str) -> tuple[str, str]:
    """The passkey form's options and ceremony id, as the page's script reads them."""
    options = re.search(r'data-options="([^"]+)"', page)
    ceremony = re.search(r'name="ceremony_id" value="([^"]+)"', page)
    assert options and ceremony, page
    return html.unescape(options.group(1)), ceremony.group(1)


def test_a_signed_out_visitor_is_sent_to_sign_in(kleline: Kleline, browser: Visitor) -> None:
    response = browser.get("/wallet/security")
    assert (response.status_code, response.headers["location"]) == (303, "/sign-in?next=%2Fwallet%2Fsecurity")


def test_an_authenticator_app_is_set_up_from_the_key_shown_once_and_confirmed_with_a_code(
    kleline: Kleline, browser: Visitor, clock: FakeClock
) -> None:
    customer(kleline)
    page = browser.sign_in_to("/wallet/security")
    assert "Set up an authenticator app" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]  # passkeys offered here

    shown = browser.post("/wallet/security/authenticator")
    assert shown.status_code == 200
    assert '<svg role="img" aria-labelledby="qr-title"' in shown.text
    secret = re.search(r'<p class="secret"><code>([A-Z2-7 ]+)</code>', shown.text)
    assert secret is not None
    totp = pyotp.TOTP(secret.group(1).replace(" ", ""))

    again = browser.get("/wallet/security")
    assert secret.group(1) not in again.text  # shown once
    assert "enter a code from it to finish" in again.text

    wrong = browser.post("/wallet/security/authenticator/confirm", code="12 34")
    assert wrong.status_code == 400 and 'href="#code"' in alert(wrong)
    refused = browser.post(
        "/wallet/security/authenticator/confirm", code=str((int(totp.at(clock.now)) + 1) % 1000000).zfill(6)
    )
    assert refused.status_code == 400 and "sca_code_invalid" in alert(refused)

    done = browser.post("/wallet/security/authenticator/confirm", code=totp.at(clock.now))
    assert (done.status_code, done.headers["location"]) == (303, "/wallet/security")
    page = browser.get("/wallet/security")
    assert "Your authenticator app is set up: its codes now confirm your payments." in page.text
    assert kleline.strong_auth.enrolment(kleline.customers.check_password("ada@example.org", PASSWORD)) == "confirmed"

    twice = browser.post("/wallet/security/authenticator")
    assert twice.status_code == 409 and "sca_already_enrolled" in alert(twice)


def test_an_authenticator_set_up_from_a_checkouts_refusal_goes_back_to_the_checkout(
    kleline: Kleline, browser: Visitor, clock: FakeClock
) -> None:
    customer(kleline)
    back = "/checkout/pay_0123456789abcdef0123456789abcdef"
    page = browser.sign_in_to(f"/wallet/security?next={back}")
    assert f'name="next" value="{back}"' in page.text
    shown = browser.post("/wallet/security/authenticator", next=back)
    assert f'name="next" value="{back}"' in shown.text
    secret = re.search(r'<p class="secret"><code>([A-Z2-7 ]+)</code>', shown.text)
    assert secret is not None
    code = pyotp.TOTP(secret.group(1).replace(" ", "")).at(clock.now)
    done = browser.post("/wallet/security/authenticator/confirm", code=code, next=back)
    assert (done.status_code, done.headers["location"]) == (303, back)


def test_changing_the_password_reports_every_problem_at_once_then_ends_the_other_sessions(
    kleline: Kleline,
    app: FastAPI,
    browser: Visitor,
    client: TestClient,
) -> None:
    customer(kleline)
    browser.sign_in_to("/wallet/security")
    phone = visitor(app, "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/129.0 Mobile Safari/537.36")
    phone.sign_in_to("/wallet")
    token = kleline.customers.sign_in("ada@example.org", PASSWORD).token

    refused = browser.post(
        "/wallet/security/password", current_password="", new_password="short", new_password_again="other"
    )
    assert refused.status_code == 400
    summary = alert(refused)
    for field in ("current_password", "new_password", "new_password_again"):
        assert f'href="#{field}"' in summary
    assert "short" not in refused.text.replace("shortly", "")  # no password comes back

    wrong = browser.post(
        "/wallet/security/password",
        current_password="not my password",
        new_password=NEW_PASSWORD,
        new_password_again=NEW_PASSWORD,
    )
    assert wrong.status_code == 400 and "wrong_password" in alert(wrong) and 'href="#current_password"' in alert(wrong)

    done = browser.post(
        "/wallet/security/password",
        current_password=PASSWORD,
        new_password=NEW_PASSWORD,
        new_password_again=NEW_PASSWORD,
    )
    assert done.status_code == 303
    page = browser.get("/wallet/security")
    assert page.status_code == 200 and "every other session of your wallet was signed out" in page.text
    assert phone.get("/wallet").status_code == 303  # the phone must sign in again
    assert client.get("/v1/wallet", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert kleline.customers.check_password("ada@example.org", NEW_PASSWORD)


def test_signing_out_everywhere_ends_every_page_session_and_api_token(
    kleline: Kleline,
    app: FastAPI,
    browser: Visitor,
    client: TestClient,
) -> None:
    customer(kleline)
    browser.sign_in_to("/wallet/security")
    other = visitor(app)
    other.sign_in_to("/wallet")
    token = kleline.customers.sign_in("ada@example.org", PASSWORD).token

    done = browser.post("/wallet/security/sign-out-everywhere")
    assert (done.status_code, done.headers["location"]) == (303, "/sign-in?next=%2Fwallet%2Fsecurity")
    assert "Your wallet is signed out everywhere" in browser.get("/sign-in?next=%2Fwallet%2Fsecurity").text
    assert browser.get("/wallet/security").status_code == 303
    assert other.get("/wallet").status_code == 303
    assert client.get("/v1/wallet", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_the_recent_sign_ins_show_when_how_and_the_browser_family_only(
    kleline: Kleline,
    app: FastAPI,
    browser: Visitor,
    client: TestClient,
    clock: FakeClock,
) -> None:
    customer(kleline)
    clock.advance(minutes=1)
    client.post(
        "/v1/auth/token", json={"email": "ada@example.org", "password": PASSWORD}, headers={"user-agent": "curl/8.5.0"}
    )
    clock.advance(minutes=1)
    page = browser.sign_in_to("/wallet/security")
    listed = page.text[page.text.index("Recent sign-ins") :]
    assert "With the password · on the website · Firefox on Linux" in listed
    assert "curl" in listed and "in an app (API)" in listed
    assert "130.0" not in listed and "Gecko" not in listed  # never the whole user agent
    assert listed.index("Firefox") < listed.index("curl")  # newest first
    paris = clock.now.astimezone(ZoneInfo("Europe/Paris"))
    assert f"{paris.day} Jan {paris.year}, {paris:%H:%M}" in listed  # in Paris, as the activity and receipts
    assert "UTC" not in listed


def test_no_passkey_is_offered_where_browsers_refuse_them(database_url: str, clock: FakeClock) -> None:
    """At an IP address (the default public URL), a passkey cannot work: neither the sign-in page nor the
    checkout's sign-in offers one; at a host name they do."""
    paying_id = ""
    for public_url, offered in (("http://127.0.0.1:8000", False), (PUBLIC_URL, True)):
        system = build(load_settings(database_url=database_url, public_url=public_url), clock=clock)
        try:
            paying_id = paying_id or payment(system, shop(system), 1000).id
            client = TestClient(create_app(system), follow_redirects=False, base_url=public_url)
            for path in ("/sign-in?next=/wallet", f"/checkout/{paying_id}"):
                page = client.get(path)
                assert page.status_code == 200
                assert ('action="/sign-in/passkey"' in page.text) is offered, (public_url, path)
        finally:
            system.close()


def test_a_passkey_is_added_listed_used_to_sign_in_and_removed_by_its_owner_only(
    kleline: Kleline,
    app: FastAPI,
    browser: Visitor,
) -> None:
    customer(kleline)
    grace = customer(kleline, "grace@example.org", "Grace Hopper")
    device = SoftAuthenticator(PUBLIC_URL)
    page = browser.sign_in_to("/wallet/security")
    assert "Adding a passkey needs JavaScript" in page.text

    options, ceremony = _options(page.text)
    missing = browser.post("/wallet/security/passkeys", ceremony_id=ceremony, credential="", name="")
    assert missing.status_code == 400
    assert "validation_error" in alert(missing) and "passkey_response_missing" in alert(missing)

    options, ceremony = _options(missing.text)
    added = browser.post(
        "/wallet/security/passkeys", ceremony_id=ceremony, credential=device.create(options), name="Ada's phone"
    )
    assert added.status_code == 303, added.text
    page = browser.get("/wallet/security")
    assert "Your passkey “Ada&#39;s phone” was added" in page.text
    [passkey] = kleline.passkeys.list(kleline.customers.check_password("ada@example.org", PASSWORD))

    # Signing in with it, from another browser, needs no email.
    other = visitor(
        app, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/129.0 Safari/537.36 Edg/129.0"
    )
    other.get("/sign-in?next=/wallet")
    ceremony_page = other.post("/sign-in/passkey", next="/wallet")
    assert ceremony_page.status_code == 200 and "script-src 'self'" in ceremony_page.headers["content-security-policy"]
    options, ceremony = _options(ceremony_page.text)
    signed_in = other.post(
        "/sign-in/passkey/finish", next="/wallet", ceremony_id=ceremony, credential=device.get(options)
    )
    assert (signed_in.status_code, signed_in.headers["location"]) == (303, "/wallet")
    assert "Signed in as Ada Lovelace" in other.get("/wallet").text
    replayed = other.post(
        "/sign-in/passkey/finish", next="/wallet", ceremony_id=ceremony, credential=device.get(options)
    )
    assert replayed.status_code == 400 and "passkey_ceremony_not_found" in alert(replayed)
    listed = browser.get("/wallet/security").text
    assert "With a passkey" in listed and "Edge on Windows" in listed

    # Grace cannot remove Ada's passkey; Ada can.
    grace_browser = visitor(app)
    grace_browser.sign_in_to("/wallet/security", email=grace.email)
    refused = grace_browser.post(f"/wallet/security/passkeys/{passkey.id}/remove")
    assert refused.status_code == 404 and "passkey_not_found" in alert(refused)
    browser.get("/wallet/security")
    removed = browser.post(f"/wallet/security/passkeys/{passkey.id}/remove")
    assert removed.status_code == 303
    assert "The passkey was removed" in browser.get("/wallet/security").text
    assert kleline.passkeys.list(passkey.customer_id) == []


def test_a_payment_above_the_exemption_is_confirmed_with_a_passkey_at_checkout(
    kleline: Kleline, browser: Visitor
) -> None:
    ada = customer(kleline)
    fund(kleline, ada.id, card(kleline, ada.id), 2500)
    fund(kleline, ada.id, card(kleline, ada.id, "5555555555554444"), 2500)
    device = SoftAuthenticator(PUBLIC_URL)
    offer = kleline.passkeys.begin_registration(ada.id)
    kleline.passkeys.register(ada.id, offer.ceremony_id, device.create(offer.options_json), "Phone")
    paying = payment(kleline, shop(kleline), 4500)

    browser.sign_in(paying.id)
    asked = browser.post(f"/checkout/{paying.id}/confirm", method="purse")
    assert asked.status_code == 303
    page = browser.get(f"/checkout/{paying.id}")
    assert "Confirm with a passkey and pay €45.00" in page.text
    assert "authenticator app" not in page.text.split("<h2>")[-1].split("</form>")[0]  # no TOTP: no code form
    assert "script-src 'self'" in page.headers["content-security-policy"]
    options, ceremony = _options(page.text)

    forged = browser.post(
        f"/checkout/{paying.id}/passkey",
        ceremony_id=ceremony,
        credential=device.get(options, origin="https://evil.example"),
    )
    assert forged.status_code == 400 and "passkey_response_invalid" in alert(forged)
    options, ceremony = _options(forged.text)
    paid = browser.post(f"/checkout/{paying.id}/passkey", ceremony_id=ceremony, credential=device.get(options))
    assert paid.status_code == 303 and paid.headers["location"] == f"/checkout/{paying.id}"  # the confirmation
    assert kleline.payments.get(paying.id).status == "succeeded"


def test_at_an_ip_address_the_pages_say_passkeys_are_unavailable_and_need_no_script(
    database_url: str, clock: FakeClock
) -> None:
    system = build(load_settings(database_url=database_url, public_url="http://127.0.0.1:8000"), clock=clock)
    try:
        customer(system)
        browser = Visitor(TestClient(create_app(system), follow_redirects=False, base_url="http://127.0.0.1:8000"))
        page = browser.sign_in_to("/wallet/security")
        assert "Passkeys work only when Kleline is reached at a secure address" in page.text
        assert "script-src" not in page.headers["content-security-policy"] and "passkeys.js" not in page.text
        browser.post("/sign-out", next="/sign-in")
        browser.get("/sign-in")
        offered = browser.post("/sign-in/passkey", next="/wallet")
        assert "Passkeys work only when Kleline is reached at a secure address" in offered.text
        assert "data-options" not in offered.text
    finally:
        system.close()
