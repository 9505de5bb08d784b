"""The console's passkeys over HTTP on each backend, without JavaScript, their forms answered by a software
authenticator as the page's script would: a new staff member's first second factor a passkey (an authenticator app
set up beside it later); a passkey added on
the security page, given at the sign-in's second step, never removed when it is the last second factor; each act in
the staff audit trail."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from kleline.api.app import create_app
from kleline.bootstrap import Kleline, build
from kleline.config import load_settings
from kleline.staff.actor import command_line
from kleline.staff.audit import AuditFilters, search
from kleline.staff.roles import Role

from ..conftest import FakeClock
from ..soft_authenticator import SoftAuthenticator
from .console_world import PASSWORD, PUBLIC_URL, ConsoleVisitor, invitation_path, secret_on, staff_member
from .page_visitor import alert
from .test_dashboard_security import ceremony

SECURITY = "/console/security"


@pytest.fixture
def kleline(database_url: str, clock: FakeClock) -> Iterator[Kleline]:
    settings = load_settings(database_url=database_url, public_url=PUBLIC_URL, sign_in_rate=1000)
    system = build(settings, clock=clock)
    try:
        yield system
    finally:
        system.close()


@pytest.fixture
def browser(kleline: Kleline) -> ConsoleVisitor:
    app: FastAPI = create_app(kleline)
    return ConsoleVisitor(TestClient(app, follow_redirects=False, base_url=PUBLIC_URL))


def actions(kleline: Kleline, user_id: str) -> list[tuple[str, object]]:
    page = search(kleline.db, AuditFilters(actor_id=user_id), limit=50)
    return [(r.action, (r.after or r.before or {}).get("method") or (r.after or r.before or {}).get("name"))
            for r in reversed(page.records)]  # fmt: skip


def test_a_new_staff_member_sets_up_a_passkey_and_signs_in_with_it(
    kleline: Kleline, browser: ConsoleVisitor, clock: FakeClock
) -> None:
    invited = kleline.staff_team.invite("grace@kleline.example", Role.SUPPORT, by=command_line())
    browser.get(invitation_path(invited.url))
    joined = browser.post(invitation_path(invited.url), password=PASSWORD)
    assert joined.status_code == 303, joined.text
    page = browser.get(joined.headers["location"])
    assert 'data-passkey="create"' in page.text and "script-src 'self'" in page.headers["content-security-policy"]
    missing = browser.post("/console/sign-in/authenticator/passkey", name=" ", ceremony_id="wac_0", credential="")
    assert missing.status_code == 400
    summary = alert(missing)
    assert "Give the passkey a name" in summary and "needs JavaScript" in summary
    options, ceremony_id = ceremony(browser.get("/console/sign-in/authenticator"), "create")
    device = SoftAuthenticator(PUBLIC_URL)
    done = browser.post(
        "/console/sign-in/authenticator/passkey", name="Grace's key", ceremony_id=ceremony_id,
        credential=device.create(options), next="/console",
    )  # fmt: skip
    assert (done.status_code, done.headers["location"]) == (303, "/console"), done.text
    assert "Your passkey is set up" in browser.get("/console").text

    browser.post("/console/sign-out")
    clock.advance(minutes=1)
    browser.get("/console/sign-in")
    answer = browser.post("/console/sign-in", email="grace@kleline.example", password=PASSWORD, next=SECURITY)
    page = browser.get(answer.headers["location"])
    assert 'data-passkey="get"' in page.text and 'name="code"' not in page.text
    options, ceremony_id = ceremony(page, "get")
    refused = browser.post("/console/sign-in/passkey", ceremony_id=ceremony_id, credential='{"id": "x"}', next=SECURITY)
    assert refused.status_code == 400 and "This passkey was not accepted" in alert(refused)
    options, ceremony_id = ceremony(refused, "get")
    signed_in = browser.post(
        "/console/sign-in/passkey", ceremony_id=ceremony_id, credential=device.get(options), next=SECURITY
    )
    assert (signed_in.status_code, signed_in.headers["location"]) == (303, SECURITY), signed_in.text
    page = browser.get(SECURITY)
    assert "Grace&#39;s key" in page.text and "It is your only second factor" in page.text
    [passkey] = kleline.staff_passkeys.list(passkey_user(kleline))
    last = browser.post(f"{SECURITY}/passkeys/{passkey.id}/remove")
    assert last.status_code == 409 and "This is your only second factor" in alert(last)
    new_app = browser.post(f"{SECURITY}/authenticator/new")
    assert new_app.status_code == 200
    totp = secret_on(new_app)
    confirmed = browser.post(f"{SECURITY}/authenticator/confirm", code=totp.at(clock.now))
    assert (confirmed.status_code, confirmed.headers["location"]) == (303, SECURITY), confirmed.text
    assert "Your authenticator app is set up" in browser.get(SECURITY).text
    assert actions(kleline, passkey.user_id) == [
        ("staff_invitation_accepted", None),
        ("staff_passkey_added", "Grace's key"),
        ("staff_signed_in", "passkey"),
        ("staff_signed_out", None),
        ("staff_signed_in", "passkey"),
        ("staff_authenticator_set_up", None),
    ]


def passkey_user(kleline: Kleline) -> str:
    [user] = [u for u in kleline.staff_team.list(command_line()) if u.email == "grace@kleline.example"]
    return user.id


def test_a_passkey_is_added_beside_the_app_and_removed_while_the_sign_in_is_fresh(
    kleline: Kleline, browser: ConsoleVisitor, clock: FakeClock
) -> None:
    user, totp = staff_member(kleline, "ada@kleline.example", Role.ADMIN, clock)
    page = browser.sign_in_console("ada@kleline.example", totp, clock.now, next_path=SECURITY)
    options, ceremony_id = ceremony(page, "create")
    device = SoftAuthenticator(PUBLIC_URL)
    added = browser.post(
        f"{SECURITY}/passkeys", name="YubiKey", ceremony_id=ceremony_id, credential=device.create(options)
    )
    assert (added.status_code, added.headers["location"]) == (303, SECURITY), added.text
    page = browser.get(SECURITY)
    assert "The passkey was added" in page.text and "YubiKey" in page.text
    [passkey] = kleline.staff_passkeys.list(user.id)

    clock.advance(minutes=16)  # a session left open may not swap passkeys
    page = browser.get(SECURITY)
    assert 'data-passkey="create"' not in page.text and "sign in again" in page.text
    stale = browser.post(f"{SECURITY}/passkeys/{passkey.id}/remove")
    assert stale.status_code == 403 and "To change your second factors, sign in again" in alert(stale)

    browser.post("/console/sign-out")
    clock.advance(seconds=30)
    browser.sign_in_console("ada@kleline.example", totp, clock.now, next_path=SECURITY)
    removed = browser.post(f"{SECURITY}/passkeys/{passkey.id}/remove")
    assert (removed.status_code, removed.headers["location"]) == (303, SECURITY)
    assert "The passkey was removed" in browser.get(SECURITY).text and kleline.staff_passkeys.list(user.id) == []
    assert [a for a in actions(kleline, user.id) if a[0].startswith("staff_passkey")] == [
        ("staff_passkey_added", "YubiKey"),
        ("staff_passkey_removed", "YubiKey"),
    ]
