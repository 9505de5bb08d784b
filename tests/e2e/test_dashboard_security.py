"""The dashboard's security page over HTTP on each backend, without JavaScript, its passkey forms answered by a
software authenticator as the page's script would: every role reaches it; a passkey added, given at the sign-in's
second step and before a sensitive act, removed; an owner's first second factor a passkey; the authenticator app
replaced; an owner's last second factor kept; changes asking for a fresh second factor; the password changed (every
problem at once, no password shown back, the other sessions ended); signing out everywhere; the last sign-ins; each
action in the shop's audit trail."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import httpx2 as httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from kleline.api.app import create_app
from kleline.bootstrap import Kleline, build
from kleline.config import load_settings
from kleline.merchant_users import Actor, MerchantUser

from ..conftest import FakeClock
from ..soft_authenticator import SoftAuthenticator
from .dashboard_world import PASSWORD, DashboardVisitor, authenticator, member, merchant, secret_on, wrong_code
from .page_visitor import alert

PUBLIC_URL = "http://localhost:8000"  # a host name: browsers allow passkeys there, not at an IP address
NEW_PASSWORD = "a brand new passphrase, longer"
SECURITY = "/dashboard/security"


@pytest.fixture
def kleline(database_url: str, clock: FakeClock) -> Iterator[Kleline]:
    settings = load_settings(database_url=database_url, public_url=PUBLIC_URL, sign_in_rate=1000)
    system = build(settings, clock=clock)
    try:
        yield system
    finally:
        system.close()


@pytest.fixture
def app(kleline: Kleline) -> FastAPI:
    return create_app(kleline)


def visitor(app: FastAPI) -> DashboardVisitor:
    return DashboardVisitor(TestClient(app, follow_redirects=False, base_url=PUBLIC_URL))


@pytest.fixture
def browser(app: FastAPI) -> DashboardVisitor:
    return visitor(app)


@pytest.fixture
def device() -> SoftAuthenticator:
    return SoftAuthenticator(PUBLIC_URL)


def ceremony(page: httpx.Response, kind: str) -> tuple[str, str]:
    """The options and ceremony id of the page's passkey form of ``kind`` (``create`` or ``get``), as its script
    reads them."""
    form = re.search(rf'<form[^>]*data-passkey="{kind}".*?</form>', page.text, re.S)
    assert form, page.text
    options = re.search(r'data-options="([^"]+)"', form.group(0))
    ceremony_id = re.search(r'name="ceremony_id" value="([^"]+)"', form.group(0))
    assert options and ceremony_id
    return html.unescape(options.group(1)), ceremony_id.group(1)


def add_passkey(browser: DashboardVisitor, device: SoftAuthenticator, name: str = "Laptop") -> httpx.Response:
    options, ceremony_id = ceremony(browser.get(SECURITY), "create")
    return browser.post(f"{SECURITY}/passkeys", name=name, ceremony_id=ceremony_id, credential=device.create(options))


def sign_in_with_passkey(browser: DashboardVisitor, email: str, device: SoftAuthenticator, next_path: str) -> str:
    """Sign in with the password, then the passkey at the second step; where the browser is sent."""
    browser.get("/dashboard/sign-in")
    answer = browser.post("/dashboard/sign-in", email=email, password=PASSWORD, next=next_path)
    assert answer.headers["location"].startswith("/dashboard/sign-in/code"), answer.headers["location"]
    step = browser.get(answer.headers["location"])
    options, ceremony_id = ceremony(step, "get")
    done = browser.post(
        "/dashboard/sign-in/passkey", ceremony_id=ceremony_id, credential=device.get(options), next=next_path
    )
    assert done.status_code == 303, done.text
    return str(done.headers["location"])


def trail(kleline: Kleline, owner: MerchantUser) -> list[tuple[str, str | None, object]]:
    """The shop's audit trail as its owner reads it, newest first: what, by whom, how."""
    records = kleline.merchant_users.activity(Actor(owner))
    return [(r.action, r.user_email, r.detail.get("method") or r.detail.get("name")) for r in records]


def test_every_role_reaches_its_own_security_page_from_the_dashboards_sections(
    kleline: Kleline, app: FastAPI, clock: FakeClock
) -> None:
    shop = merchant(kleline)
    owner = member(kleline, shop, "owner@example.org")
    totp = authenticator(kleline, owner, clock)
    member(kleline, shop, "acc@example.org", "accountant")
    member(kleline, shop, "help@example.org", "support", refund_limit=5000)
    for email, code in (("owner@example.org", totp), ("acc@example.org", None), ("help@example.org", None)):
        browser = visitor(app)
        home = browser.sign_in_dashboard(email, code, at=clock.now)
        assert f'href="{SECURITY}"' in home.text
        page = browser.get(SECURITY)
        assert page.status_code == 200, email
        assert f'<a href="{SECURITY}" aria-current="page">Security</a>' in page.text
        for heading in ("Authenticator app", "Passkeys", "Password", "Sign out everywhere", "Recent sign-ins"):
            assert f">{heading}</h2>" in page.text, (email, heading)
        assert 'data-passkey="create"' in page.text  # just signed in: a passkey may be added at once
        assert "script-src 'self'" in page.headers["content-security-policy"]  # for the passkey script only
        assert ("As an owner, you keep at least one way" in page.text) == (email == "owner@example.org")
    assert visitor(app).get(SECURITY).headers["location"] == "/dashboard/sign-in?next=%2Fdashboard%2Fsecurity"


def test_a_passkey_is_added_given_at_the_second_step_and_removed(
    kleline: Kleline, browser: DashboardVisitor, device: SoftAuthenticator, clock: FakeClock
) -> None:
    shop = merchant(kleline)
    owner = member(kleline, shop, "owner@example.org")
    acc = member(kleline, shop, "acc@example.org", "accountant")
    browser.sign_in_dashboard("acc@example.org")  # the password alone: she has no second factor yet

    missing = browser.post(f"{SECURITY}/passkeys", name=" ", ceremony_id="wac_0", credential="")
    assert missing.status_code == 400
    summary = alert(missing)  # both problems at once: the name, and the script that did not run
    assert "Give the passkey a name" in summary and "needs JavaScript" in summary
    added = add_passkey(browser, device, "Ada's laptop")
    assert (added.status_code, added.headers["location"]) == (303, SECURITY)
    page = browser.get(SECURITY)
    assert "Your passkey was added." in page.text and "Ada&#39;s laptop" in page.text and "not used yet" in page.text
    browser.post("/dashboard/sign-out")

    assert sign_in_with_passkey(browser, "acc@example.org", device, SECURITY) == SECURITY
    page = browser.get(SECURITY)
    assert "last used" in page.text
    assert re.search(r"With a passkey · from testclient", page.text)
    assert "With the password alone · from testclient" in page.text
    [passkey] = kleline.merchant_passkeys.list(acc.id)
    removed = browser.post(f"{SECURITY}/passkeys/{passkey.id}/remove")
    assert (removed.status_code, removed.headers["location"]) == (303, SECURITY)
    assert "The passkey was removed" in browser.get(SECURITY).text
    assert kleline.merchant_passkeys.list(acc.id) == []
    gone = browser.post(f"{SECURITY}/passkeys/{passkey.id}/remove")
    assert gone.status_code == 404 and "There is no such passkey in your account" in alert(gone)

    assert {
        ("passkey_added", "acc@example.org", "Ada's laptop"),
        ("signed_in", "acc@example.org", "passkey"),
        ("passkey_removed", "acc@example.org", "Ada's laptop"),
    } <= set(trail(kleline, owner))


def test_a_refused_passkey_at_the_second_step_gets_one_sentence_and_the_step_again(
    kleline: Kleline, browser: DashboardVisitor, device: SoftAuthenticator, clock: FakeClock
) -> None:
    member(kleline, merchant(kleline), "acc@example.org", "accountant")
    browser.sign_in_dashboard("acc@example.org")
    add_passkey(browser, device)
    browser.post("/dashboard/sign-out")
    browser.get("/dashboard/sign-in")
    browser.post("/dashboard/sign-in", email="acc@example.org", password=PASSWORD, next="/dashboard")
    step = browser.get("/dashboard/sign-in/code?next=/dashboard")
    assert "<h1>Use your passkey</h1>" in step.text and 'name="code"' not in step.text  # no app: no code form
    options, ceremony_id = ceremony(step, "get")
    forged = device.get(options, origin="https://evil.example")
    refused = browser.post("/dashboard/sign-in/passkey", ceremony_id=ceremony_id, credential=forged, next="/dashboard")
    assert refused.status_code == 400
    assert "This passkey was not accepted" in alert(refused) and "passkey_response_invalid" in alert(refused)
    options, ceremony_id = ceremony(refused, "get")  # a new ceremony to try again
    done = browser.post(
        "/dashboard/sign-in/passkey", ceremony_id=ceremony_id, credential=device.get(options), next="/dashboard"
    )
    assert (done.status_code, done.headers["location"]) == (303, "/dashboard")


def test_an_owner_without_a_second_factor_may_choose_a_passkey_at_sign_in(
    kleline: Kleline, browser: DashboardVisitor, device: SoftAuthenticator
) -> None:
    owner = member(kleline, merchant(kleline), "owner@example.org")
    browser.get("/dashboard/sign-in")
    answer = browser.post("/dashboard/sign-in", email="owner@example.org", password=PASSWORD, next="/dashboard")
    step = browser.get(answer.headers["location"])
    assert "Set up an authenticator app" in step.text and "Or a passkey" in step.text
    options, ceremony_id = ceremony(step, "create")
    done = browser.post(
        "/dashboard/sign-in/authenticator/passkey",
        name="Téléphone",
        ceremony_id=ceremony_id,
        credential=device.create(options),
        next="/dashboard",
    )
    assert (done.status_code, done.headers["location"]) == (303, "/dashboard")
    home = browser.get("/dashboard")
    assert home.status_code == 200 and "Your passkey is added: it now confirms it is you." in home.text
    assert [p.name for p in kleline.merchant_passkeys.list(owner.id)] == ["Téléphone"]


def test_a_sensitive_act_is_confirmed_again_with_a_passkey(
    kleline: Kleline, browser: DashboardVisitor, device: SoftAuthenticator, clock: FakeClock
) -> None:
    shop = merchant(kleline)
    owner = member(kleline, shop, "owner@example.org")
    totp = authenticator(kleline, owner, clock)
    browser.sign_in_dashboard("owner@example.org", totp, at=clock.now)
    add_passkey(browser, device)
    clock.advance(minutes=16)
    asked = browser.post("/dashboard/developers/keys", label="Shop server")
    assert asked.headers["location"].startswith("/dashboard/confirm?next=")
    page = browser.get(asked.headers["location"])
    assert "use your passkey, or enter the code your authenticator app shows now" in page.text
    assert 'name="code"' in page.text  # both ways are offered
    options, ceremony_id = ceremony(page, "get")
    back = "/dashboard/developers?label=Shop+server"
    done = browser.post(
        "/dashboard/confirm/passkey", ceremony_id=ceremony_id, credential=device.get(options), next=back
    )
    assert (done.status_code, done.headers["location"]) == (303, back)
    made = browser.post("/dashboard/developers/keys", label="Shop server", form_key="k" * 24)
    assert made.status_code == 200 and "sk_" in made.text
    assert ("second_factor_confirmed", "owner@example.org", "passkey") in trail(kleline, owner)


def test_the_authenticator_app_is_replaced_once_the_new_ones_code_is_accepted(
    kleline: Kleline, browser: DashboardVisitor, clock: FakeClock
) -> None:
    owner = member(kleline, merchant(kleline), "owner@example.org")
    old = authenticator(kleline, owner, clock)
    browser.sign_in_dashboard("owner@example.org", old, at=clock.now)
    page = browser.get(SECURITY)
    assert "Your authenticator app is set up" in page.text and "Remove the authenticator app" not in page.text
    assert "It is your only way to confirm it is you: add a passkey" in page.text

    shown = browser.post(f"{SECURITY}/authenticator")
    assert shown.status_code == 200 and '<svg role="img" aria-labelledby="qr-title"' in shown.text
    assert "Until you enter a code from the new app, your current app goes on working." in shown.text
    new = secret_on(shown)
    again = browser.get(SECURITY)
    assert new.secret not in again.text.replace(" ", "")  # shown once
    assert "enter a code from the new app to finish" in again.text
    wrong = browser.post(f"{SECURITY}/authenticator/confirm", code=wrong_code(new, clock.now))
    assert wrong.status_code == 400 and 'href="#code"' in alert(wrong)
    clock.advance(seconds=30)
    done = browser.post(f"{SECURITY}/authenticator/confirm", code=new.at(clock.now))
    assert (done.status_code, done.headers["location"]) == (303, SECURITY)
    assert "Your new authenticator app is set up: the old one" in browser.get(SECURITY).text

    browser.post("/dashboard/sign-out")
    clock.advance(seconds=30)
    browser.get("/dashboard/sign-in")
    browser.post("/dashboard/sign-in", email="owner@example.org", password=PASSWORD, next="/dashboard")
    browser.get("/dashboard/sign-in/code?next=/dashboard")
    assert browser.post("/dashboard/sign-in/code", code=old.at(clock.now), next="/dashboard").status_code == 400
    assert browser.post("/dashboard/sign-in/code", code=new.at(clock.now), next="/dashboard").status_code == 303
    assert ("authenticator_replaced", "owner@example.org", None) in trail(kleline, owner)


def test_an_owners_last_second_factor_is_kept_with_a_clear_message(
    kleline: Kleline, browser: DashboardVisitor, device: SoftAuthenticator, clock: FakeClock
) -> None:
    owner = member(kleline, merchant(kleline), "owner@example.org")
    totp = authenticator(kleline, owner, clock)
    browser.sign_in_dashboard("owner@example.org", totp, at=clock.now)
    refused = browser.post(f"{SECURITY}/authenticator/remove")  # the page offers no button: a post made by hand
    assert refused.status_code == 409
    assert "As an owner, you keep at least one way to confirm it is you" in alert(refused)
    assert "last_second_factor" in alert(refused)
    add_passkey(browser, device)
    page = browser.get(SECURITY)
    assert "Remove the authenticator app" in page.text  # the passkey is left
    assert browser.post(f"{SECURITY}/authenticator/remove").headers["location"] == SECURITY
    [passkey] = kleline.merchant_passkeys.list(owner.id)
    assert "It is your only way to confirm it is you: add an authenticator app" in browser.get(SECURITY).text
    kept = browser.post(f"{SECURITY}/passkeys/{passkey.id}/remove")
    assert kept.status_code == 409 and "last_second_factor" in alert(kept)


def test_changing_a_second_factor_asks_for_a_fresh_one_first(
    kleline: Kleline, browser: DashboardVisitor, clock: FakeClock
) -> None:
    owner = member(kleline, merchant(kleline), "owner@example.org")
    totp = authenticator(kleline, owner, clock)
    browser.sign_in_dashboard("owner@example.org", totp, at=clock.now)
    clock.advance(minutes=16)
    page = browser.get(SECURITY)
    assert 'data-passkey="create"' not in page.text and "content-security-policy" in page.headers
    assert "script-src 'self'" not in page.headers["content-security-policy"]
    assert 'href="/dashboard/confirm?next=%2Fdashboard%2Fsecurity"' in page.text
    for path in (f"{SECURITY}/authenticator", f"{SECURITY}/authenticator/remove", f"{SECURITY}/passkeys"):
        asked = browser.post(path)
        assert (asked.status_code, asked.headers["location"]) == (
            303,
            "/dashboard/confirm?next=%2Fdashboard%2Fsecurity",
        )
    browser.get("/dashboard/confirm?next=/dashboard/security")
    back = browser.post("/dashboard/confirm", code=totp.at(clock.now), next=SECURITY)
    assert back.headers["location"] == SECURITY
    assert 'data-passkey="create"' in browser.get(SECURITY).text


def test_a_password_change_shows_every_problem_at_once_then_ends_the_other_sessions(
    kleline: Kleline, app: FastAPI, browser: DashboardVisitor, clock: FakeClock
) -> None:
    shop = merchant(kleline)
    owner = member(kleline, shop, "owner@example.org")
    member(kleline, shop, "acc@example.org", "accountant")
    browser.sign_in_dashboard("acc@example.org")
    elsewhere = visitor(app)
    elsewhere.sign_in_dashboard("acc@example.org")

    refused = browser.post(
        f"{SECURITY}/password", current_password="not mine at all", new_password="short", new_password_again="other"
    )
    assert refused.status_code == 400
    summary = alert(refused)
    for field in ("current_password", "new_password", "new_password_again"):
        assert f'href="#{field}"' in summary, field
    assert "not mine at all" not in refused.text and 'value="short"' not in refused.text  # never shown back
    empty = browser.post(f"{SECURITY}/password", current_password="", new_password=NEW_PASSWORD, new_password_again="")
    assert "Enter your current password" in alert(empty) and "The two new passwords differ" in alert(empty)

    done = browser.post(
        f"{SECURITY}/password", current_password=PASSWORD, new_password=NEW_PASSWORD, new_password_again=NEW_PASSWORD
    )
    assert (done.status_code, done.headers["location"]) == (303, SECURITY)
    assert "kleline_dashboard=" in done.headers["set-cookie"]  # this browser goes on in a new session
    assert "Your password was changed: your other sessions have ended." in browser.get(SECURITY).text
    assert elsewhere.get("/dashboard").status_code == 303  # signed out there
    browser.post("/dashboard/sign-out")
    browser.get("/dashboard/sign-in")
    assert browser.post("/dashboard/sign-in", email="acc@example.org", password=PASSWORD).status_code == 400
    assert browser.post("/dashboard/sign-in", email="acc@example.org", password=NEW_PASSWORD).status_code == 303
    assert ("password_changed", "acc@example.org", None) in trail(kleline, owner)


def test_signing_out_everywhere_ends_this_session_and_every_other(
    kleline: Kleline, app: FastAPI, browser: DashboardVisitor
) -> None:
    shop = merchant(kleline)
    owner = member(kleline, shop, "owner@example.org")
    member(kleline, shop, "acc@example.org", "accountant")
    browser.sign_in_dashboard("acc@example.org")
    elsewhere = visitor(app)
    elsewhere.sign_in_dashboard("acc@example.org")
    out = browser.post(f"{SECURITY}/sign-out-everywhere")
    assert (out.status_code, out.headers["location"]) == (303, "/dashboard/sign-in?next=%2Fdashboard%2Fsecurity")
    assert "You are signed out everywhere" in browser.get(out.headers["location"]).text
    assert browser.get(SECURITY).status_code == 303 and elsewhere.get(SECURITY).status_code == 303
    assert browser.post(f"{SECURITY}/sign-out-everywhere", csrf="forged").status_code == 403
    assert ("signed_out_everywhere", "acc@example.org", None) in trail(kleline, owner)


def test_the_security_page_speaks_french(kleline: Kleline, browser: DashboardVisitor) -> None:
    member(kleline, merchant(kleline), "acc@example.org", "accountant")
    browser.sign_in_dashboard("acc@example.org")
    page = browser.get(f"{SECURITY}?lang=fr")
    assert '<html lang="fr">' in page.text and "<h1>Sécurité</h1>" in page.text
    assert "Application d’authentification" in page.text and "Avec le mot de passe seul" in page.text


def test_a_second_step_posted_without_a_password_first_goes_back_to_the_sign_in(browser: DashboardVisitor) -> None:
    browser.get("/dashboard/sign-in")  # an anonymous session: its forms' token, no user
    for path, fields in (
        ("/dashboard/sign-in/code", {"code": "12 34"}),
        ("/dashboard/sign-in/passkey", {"ceremony_id": "wac_0", "credential": "{}"}),
        ("/dashboard/sign-in/authenticator/passkey", {"name": "Laptop", "ceremony_id": "wac_0", "credential": "{}"}),
    ):
        answer = browser.post(path, next="/dashboard", **fields)
        assert (answer.status_code, answer.headers["location"]) == (303, "/dashboard/sign-in?next=%2Fdashboard"), path


def test_a_user_with_an_app_asked_to_set_one_up_by_hand_is_told_it_has_one(
    kleline: Kleline, browser: DashboardVisitor, clock: FakeClock
) -> None:
    owner = member(kleline, merchant(kleline), "owner@example.org")
    totp = authenticator(kleline, owner, clock)
    browser.sign_in_dashboard("owner@example.org", totp, at=clock.now)
    clock.advance(minutes=16)
    answer = browser.post("/dashboard/confirm/authenticator", next="/dashboard")
    assert answer.status_code == 409 and "sca_already_enrolled" in alert(answer)
    assert 'data-passkey="create"' not in answer.text  # a second factor is not added without a fresh one
