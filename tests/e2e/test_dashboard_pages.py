"""The dashboard's foundation over HTTP, without JavaScript: an invitation accepted, signing in with a password then
a code (or, for an owner, a new authenticator), one answer for every refused sign-in, the landing page, users and
roles, the audit trail; refusals by role, one shop's people never reaching another's, and customers' and merchant
users' sessions kept apart."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from kleline.api.app import create_app
from kleline.bootstrap import Kleline, build
from kleline.config import load_settings
from kleline.merchant_users import Actor, MerchantUser
from kleline.merchant_users import store as user_store

from ..conftest import FakeClock
from ..operator_keys import OPERATOR
from .checkout_world import customer
from .dashboard_world import (
    PASSWORD,
    DashboardVisitor,
    authenticator,
    invitation_path,
    member,
    merchant,
    secret_on,
    wrong_code,
)
from .page_visitor import alert

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def kleline(database_url: str, clock: FakeClock) -> Iterator[Kleline]:
    """Kleline whose rate limits leave room for a test's many sign-ins (they are tested on their own below)."""
    system = build(load_settings(database_url=database_url, sign_in_rate=1000), clock=clock)
    try:
        yield system
    finally:
        system.close()


@pytest.fixture
def app(kleline: Kleline) -> FastAPI:
    return create_app(kleline)


def visitor(app: FastAPI) -> DashboardVisitor:
    return DashboardVisitor(TestClient(app, follow_redirects=False))


@pytest.fixture
def browser(app: FastAPI) -> DashboardVisitor:
    return visitor(app)


def test_a_signed_out_visitor_is_sent_to_the_dashboards_sign_in(browser: DashboardVisitor) -> None:
    for path in ("/dashboard", "/dashboard/settings/users", "/dashboard/settings/activity", "/dashboard/confirm"):
        answer = browser.get(path)
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/dashboard/sign-in?next=%2Fdashboard"), path
    form = browser.get("/dashboard/sign-in")
    assert 'name="email"' in form.text and 'name="password"' in form.text
    assert "kleline_dashboard=" in form.headers["set-cookie"] and "kleline_session" not in form.headers["set-cookie"]


def test_an_invited_owner_chooses_a_password_sets_up_an_authenticator_and_reaches_the_dashboard(
    kleline: Kleline, browser: DashboardVisitor, clock: FakeClock
) -> None:
    shop = merchant(kleline)
    path = invitation_path(kleline.merchant_users.invite(shop, "ada@example.org", "owner", by=OPERATOR).url)
    page = browser.get(path)
    assert page.status_code == 200
    assert "Librairie Kléber" in page.text and "ada@example.org" in page.text and "Owner" in page.text

    refused = browser.post(path, name=" ", password="short")
    assert refused.status_code == 400
    summary = alert(refused)
    assert 'href="#name"' in summary and 'href="#password"' in summary
    assert "short" not in refused.text.replace("shortly", "")  # no password comes back

    accepted = browser.post(path, name="Ada Lovelace", password=PASSWORD)  # the password just chosen signs in
    assert accepted.status_code == 303
    assert accepted.headers["location"] == "/dashboard/sign-in/authenticator?next=%2Fdashboard"
    set_up = browser.get(accepted.headers["location"]).text
    assert "Your account is ready. As an owner, set up your authenticator app now" in set_up
    assert "set up an authenticator app on your phone before you go on" in set_up
    assert browser.get("/dashboard").headers["location"].startswith("/dashboard/sign-in/authenticator")  # not yet
    assert browser.get(path).status_code == 404  # used once
    shown = browser.post("/dashboard/sign-in/authenticator", next="/dashboard")
    assert shown.status_code == 200 and '<svg role="img" aria-labelledby="qr-title"' in shown.text
    totp = secret_on(shown)
    wrong = browser.post(
        "/dashboard/sign-in/authenticator/confirm", code=wrong_code(totp, clock.now), next="/dashboard"
    )
    assert wrong.status_code == 400 and "sca_code_invalid" in alert(wrong)
    done = browser.post("/dashboard/sign-in/authenticator/confirm", code=totp.at(clock.now), next="/dashboard")
    assert (done.status_code, done.headers["location"]) == (303, "/dashboard")

    home = browser.get("/dashboard")
    assert home.status_code == 200
    assert "<h1>Librairie Kléber</h1>" in home.text and "Active" in home.text and "Owner" in home.text
    assert "Your authenticator app is set up" in home.text
    assert 'href="/dashboard/settings"' in home.text  # an owner's sections: the settings, and from there the trail
    settings = browser.get("/dashboard/settings")
    assert 'href="/dashboard/settings/activity"' in settings.text
    assert 'href="/dashboard/settings/users"' in settings.text


def test_an_invited_accountant_is_signed_in_by_the_password_chosen_and_lands_on_the_dashboard(
    kleline: Kleline, browser: DashboardVisitor
) -> None:
    """No second factor is asked of an accountant: accepting signs them in, recorded as a sign-in by password."""
    shop = merchant(kleline)
    path = invitation_path(kleline.merchant_users.invite(shop, "lou@example.org", "accountant", by=OPERATOR).url)
    browser.get(path)
    accepted = browser.post(path, name="Louis Perrin", password=PASSWORD)
    assert (accepted.status_code, accepted.headers["location"]) == (303, "/dashboard")
    home = browser.get("/dashboard")
    assert home.status_code == 200 and "<h1>Librairie Kléber</h1>" in home.text
    assert "Welcome to the team: your account is ready, and you are signed in." in home.text
    assert "Louis Perrin" in home.text and "Accountant" in home.text
    assert "Welcome to the team" not in browser.get("/dashboard").text  # said once
    with kleline.db.transaction(write=False) as tx:
        found = user_store.find_user_by_email(tx, "lou@example.org")
    assert found is not None
    [signed_in] = kleline.merchant_security.sign_ins(found[0].id)
    assert (signed_in.action, signed_in.detail) == ("signed_in", {"method": "password"})
    assert browser.get(path).status_code == 404  # used once


def test_a_user_with_an_authenticator_gives_a_code_after_the_password(
    kleline: Kleline, browser: DashboardVisitor, clock: FakeClock
) -> None:
    shop = merchant(kleline)
    totp = authenticator(kleline, member(kleline, shop, "ada@example.org"), clock)
    browser.get("/dashboard/sign-in")
    answer = browser.post(
        "/dashboard/sign-in", email="ada@example.org", password=PASSWORD, next="/dashboard/settings/users"
    )
    assert answer.headers["location"] == "/dashboard/sign-in/code?next=%2Fdashboard%2Fsettings%2Fusers"
    form = browser.get(answer.headers["location"])
    assert 'autocomplete="one-time-code"' in form.text
    badly_typed = browser.post("/dashboard/sign-in/code", code="12 34", next="/dashboard/settings/users")
    assert badly_typed.status_code == 400 and 'href="#code"' in alert(badly_typed)
    wrong = browser.post("/dashboard/sign-in/code", code=wrong_code(totp, clock.now), next="/dashboard/settings/users")
    assert wrong.status_code == 400 and "4 attempts left" in alert(wrong)
    code = totp.at(clock.now)
    done = browser.post("/dashboard/sign-in/code", code=f"{code[:3]} {code[3:]}", next="/dashboard/settings/users")
    assert (done.status_code, done.headers["location"]) == (303, "/dashboard/settings/users")
    assert browser.get("/dashboard/settings/users").status_code == 200


def _page_answer(app: TestClient, email: str, password: str) -> tuple[int, bytes]:
    form = app.get("/dashboard/sign-in?next=/dashboard")
    found = _CSRF.search(form.text)
    assert found
    response = app.post("/dashboard/sign-in", data={"csrf_token": found.group(1), "email": email, "password": password})
    return response.status_code, response.content.replace(email.encode(), b"EMAIL")


def test_an_unknown_email_a_wrong_password_and_a_locked_user_get_the_same_page(kleline: Kleline, app: FastAPI) -> None:
    member(kleline, merchant(kleline), "ada@example.org", "accountant")
    client = TestClient(app, follow_redirects=False)
    unknown = _page_answer(client, "nobody@example.org", PASSWORD)
    wrong = _page_answer(client, "ada@example.org", "not the password")
    for attempt in range(9):
        _page_answer(client, "ada@example.org", f"wrong guess {attempt}")
    locked = _page_answer(client, "ada@example.org", PASSWORD)
    assert unknown[0] == 400 and b"Wrong email or password, or too many failed sign-ins" in unknown[1]
    assert unknown == wrong == locked


def test_the_dashboards_sign_in_counts_against_the_rate_limit_per_client(database_url: str, clock: FakeClock) -> None:
    system = build(load_settings(database_url=database_url, sign_in_rate=2), clock=clock)
    try:
        with TestClient(create_app(system), follow_redirects=False) as client:
            answers = [_page_answer(client, "nobody@example.org", PASSWORD)[0] for _ in range(3)]
    finally:
        system.close()
    assert answers == [400, 400, 429]


def test_customers_and_merchant_users_sessions_are_kept_apart(kleline: Kleline, app: FastAPI) -> None:
    customer(kleline)  # ada@example.org, with the same password, as a shopper
    shop = merchant(kleline)
    member(kleline, shop, "grace@example.org", "accountant")
    shopper = visitor(app)
    shopper.sign_in_to("/wallet")
    assert shopper.get("/wallet").status_code == 200
    assert shopper.get("/dashboard").headers["location"].startswith("/dashboard/sign-in")  # a customer's cookie: no
    shopper_token = shopper.client.cookies.get("kleline_session")
    assert shopper_token

    staff = visitor(app)
    staff.sign_in_dashboard("grace@example.org")
    assert staff.get("/wallet").headers["location"].startswith("/sign-in")  # a merchant user's cookie: no wallet
    assert "kleline_session" not in staff.client.cookies

    planted = visitor(app)
    planted.client.cookies.set("kleline_dashboard", shopper_token)  # a customer's token under the dashboard's name
    assert planted.get("/dashboard").headers["location"].startswith("/dashboard/sign-in")
    planted.client.cookies.set("kleline_session", staff.client.cookies["kleline_dashboard"])
    assert planted.get("/wallet").headers["location"].startswith("/sign-in")

    refused = visitor(app)
    refused.get("/dashboard/sign-in")
    as_customer = refused.post("/dashboard/sign-in", email="ada@example.org", password=PASSWORD)
    assert as_customer.status_code == 400  # a wallet's email and password open no dashboard


def test_an_accountant_reads_but_may_not_invite_manage_or_read_the_trail(
    kleline: Kleline, browser: DashboardVisitor, clock: FakeClock
) -> None:
    shop = merchant(kleline)
    owner = member(kleline, shop, "owner@example.org")
    member(kleline, shop, "acc@example.org", "accountant")
    home = browser.sign_in_dashboard("acc@example.org")
    assert "Accountant" in home.text and 'href="/dashboard/settings/activity"' not in home.text
    assert 'href="/dashboard/settings"' not in home.text and 'href="/dashboard/settings/users"' in home.text
    users = browser.get("/dashboard/settings/users")
    assert users.status_code == 200 and "owner@example.org" in users.text
    assert "Invite a person" not in users.text and "/role" not in users.text and "/remove" not in users.text
    assert browser.get("/dashboard/settings/activity").status_code == 403
    for path, fields in (
        ("/dashboard/settings/users/invite", {"email": "x@example.org", "role": "owner"}),
        (f"/dashboard/settings/users/{owner.id}/role", {"role": "support"}),
        (f"/dashboard/settings/users/{owner.id}/remove", {}),
    ):
        answer = browser.post(path, **fields)
        assert answer.status_code == 403, path
        assert "Your role in this shop does not allow this" in answer.text
    assert kleline.merchant_users.get(_actor(owner), owner.id).role == "owner"
    assert kleline.merchant_users.invitations(_actor(owner)) == []


def _actor(user: MerchantUser) -> Actor:
    return Actor(user)


def test_a_support_user_sees_its_refund_limit_and_may_not_change_roles(
    kleline: Kleline, browser: DashboardVisitor
) -> None:
    shop = merchant(kleline)
    member(kleline, shop, "owner@example.org")
    support = member(kleline, shop, "help@example.org", "support", refund_limit=5000)
    home = browser.sign_in_dashboard("help@example.org")
    assert "Support" in home.text and "€50.00 per payment" in home.text
    answer = browser.post(f"/dashboard/settings/users/{support.id}/role", role="owner")
    assert answer.status_code == 403


def test_an_owner_invites_changes_roles_removes_and_withdraws(
    kleline: Kleline, browser: DashboardVisitor, clock: FakeClock
) -> None:
    shop = merchant(kleline)
    owner = member(kleline, shop, "owner@example.org", name="Olive Owner")
    totp = authenticator(kleline, owner, clock)
    grace = member(kleline, shop, "grace@example.org", "accountant", name="Grace Hopper")
    browser.sign_in_dashboard("owner@example.org", totp, at=clock.now, next_path="/dashboard/settings/users")

    refused = browser.post(
        "/dashboard/settings/users/invite", email="not an address", role="support", refund_limit="12.345"
    )
    assert refused.status_code == 400
    summary = alert(refused)
    assert 'href="#invite-email"' in summary and 'href="#invite-refund_limit"' in summary
    assert 'value="not an address"' in refused.text  # typed values come back
    taken = browser.post("/dashboard/settings/users/invite", email="grace@example.org", role="support")
    assert taken.status_code == 409 and "already_a_member" in alert(taken)

    invited = browser.post(
        "/dashboard/settings/users/invite", email="new@example.org", role="support", refund_limit="25,50"
    )
    assert invited.status_code == 200 and "Invitation ready: send this link" in invited.text
    link = re.search(r'<p class="secret"><code>(http[^<]+)</code>', invited.text)
    assert link is not None
    [pending] = kleline.merchant_users.invitations(_actor(owner))
    assert (pending.email, pending.role, pending.refund_limit) == ("new@example.org", "support", 2550)
    again = browser.get("/dashboard/settings/users")
    assert link.group(1) not in again.text and "new@example.org" in again.text  # shown once
    assert "Support · refunds up to €25.50 · the link works until" in again.text  # what it will let them do

    changed = browser.post(f"/dashboard/settings/users/{grace.id}/role", role="support", refund_limit="40")
    assert (changed.status_code, changed.headers["location"]) == (303, "/dashboard/settings/users")
    assert "The role was changed." in browser.get("/dashboard/settings/users").text
    assert kleline.merchant_users.get(_actor(owner), grace.id).refund_limit == 4000
    last = browser.post(f"/dashboard/settings/users/{owner.id}/role", role="accountant")
    assert last.status_code == 409 and "last_owner" in alert(last)
    assert f'href="#role-{owner.id}"' in alert(last)

    withdrawn = browser.post(f"/dashboard/settings/invitations/{pending.id}/withdraw")
    assert withdrawn.status_code == 303
    assert browser.get(invitation_path(link.group(1))).status_code == 404
    removed = browser.post(f"/dashboard/settings/users/{grace.id}/remove")
    assert removed.status_code == 303
    assert "grace@example.org" not in browser.get("/dashboard/settings/users").text

    trail = browser.get("/dashboard/settings/activity")
    assert trail.status_code == 200
    for said in (
        "Removed a user: grace@example.org",
        "Withdrew an invitation: new@example.org, as Support",
        "Changed a user&#39;s role: grace@example.org: from Accountant to Support",
        "Invited a person: new@example.org, as Support",
        "Olive Owner (owner@example.org)",
        "from testclient",
        "A Kleline operator",
    ):
        assert said in trail.text, said


def test_one_shops_people_never_reach_anothers(kleline: Kleline, browser: DashboardVisitor, clock: FakeClock) -> None:
    shop, other = merchant(kleline), merchant(kleline, "Fromagerie Duval")
    owner = member(kleline, shop, "owner@example.org")
    totp = authenticator(kleline, owner, clock)
    theirs = member(kleline, other, "theirs@example.org", "support", name="Their Support")
    their_invitation = kleline.merchant_users.invite(other, "future@example.org", "accountant", by=OPERATOR).invitation
    browser.sign_in_dashboard("owner@example.org", totp, at=clock.now)
    users = browser.get("/dashboard/settings/users")
    assert "Their Support" not in users.text and "future@example.org" not in users.text
    for path, fields in (
        (f"/dashboard/settings/users/{theirs.id}/role", {"role": "owner"}),
        (f"/dashboard/settings/users/{theirs.id}/remove", {}),
        (f"/dashboard/settings/invitations/{their_invitation.id}/withdraw", {}),
        ("/dashboard/settings/users/mu_unknown/remove", {}),
    ):
        answer = browser.post(path, **fields)
        assert answer.status_code == 404, path
        assert "There is no such person or invitation in your team" in answer.text
    assert "Fromagerie" not in browser.get("/dashboard/settings/activity").text
    assert kleline.merchant_users.get(_actor(theirs), theirs.id).role == "support"


def test_the_second_factor_is_asked_again_and_next_stays_on_the_dashboard(
    kleline: Kleline, browser: DashboardVisitor, clock: FakeClock
) -> None:
    shop = merchant(kleline)
    owner = member(kleline, shop, "owner@example.org")
    totp = authenticator(kleline, owner, clock)
    browser.sign_in_dashboard("owner@example.org", totp, at=clock.now)
    clock.advance(minutes=16)
    page = browser.get("/dashboard/confirm?next=/dashboard/settings/users")
    assert page.status_code == 200 and "needs a fresh proof that it is you" in page.text
    done = browser.post("/dashboard/confirm", code=totp.at(clock.now), next="/dashboard/settings/users")
    assert (done.status_code, done.headers["location"]) == (303, "/dashboard/settings/users")
    session_token = browser.client.cookies["kleline_dashboard"]
    session = kleline.merchant_sign_in.find(session_token)
    assert session is not None and not kleline.merchant_sign_in.needs_second_factor_again(session)
    for elsewhere in ("https://evil.example/", "//evil.example", "/wallet"):
        answer = browser.post("/dashboard/confirm", code="123456", next=elsewhere)
        assert answer.status_code in (303, 400)
        if answer.status_code == 303:
            assert answer.headers["location"] == "/dashboard"


def test_an_accountant_without_an_authenticator_sets_one_up_when_asked_again(
    kleline: Kleline, browser: DashboardVisitor, clock: FakeClock
) -> None:
    member(kleline, merchant(kleline), "acc@example.org", "accountant")
    browser.sign_in_dashboard("acc@example.org")
    page = browser.get("/dashboard/confirm?next=/dashboard/settings/users")
    assert "Set up an authenticator app" in page.text
    shown = browser.post("/dashboard/confirm/authenticator", next="/dashboard/settings/users")
    totp = secret_on(shown)
    done = browser.post(
        "/dashboard/confirm/authenticator/confirm", code=totp.at(clock.now), next="/dashboard/settings/users"
    )
    assert (done.status_code, done.headers["location"]) == (303, "/dashboard/settings/users")
    assert browser.get("/dashboard/settings/users").status_code == 200  # the new session's cookie works


def test_forms_without_their_token_are_refused_and_signing_out_ends_the_session(
    kleline: Kleline, browser: DashboardVisitor
) -> None:
    member(kleline, merchant(kleline), "acc@example.org", "accountant")
    browser.sign_in_dashboard("acc@example.org")
    forged = browser.post("/dashboard/settings/users/invite", csrf="forged", email="x@example.org", role="owner")
    assert forged.status_code == 403
    token = browser.client.cookies["kleline_dashboard"]
    out = browser.post("/dashboard/sign-out")
    assert (out.status_code, out.headers["location"]) == (303, "/dashboard/sign-in")
    assert "You are signed out of the dashboard." in browser.get("/dashboard/sign-in").text
    assert kleline.merchant_sign_in.find(token) is None
    browser.client.cookies.set("kleline_dashboard", token)  # a copy of the old cookie opens nothing
    assert browser.get("/dashboard").status_code == 303


def test_a_link_that_no_longer_works_says_why(kleline: Kleline, browser: DashboardVisitor, clock: FakeClock) -> None:
    shop = merchant(kleline)
    assert "check that it was copied whole" in browser.get("/dashboard/invitations/not-a-token").text
    path = invitation_path(kleline.merchant_users.invite(shop, "ada@example.org", "owner", by=OPERATOR).url)
    clock.advance(hours=72)
    expired = browser.get(path)
    assert expired.status_code == 404 and "This invitation has expired" in expired.text


def test_the_dashboard_speaks_french(kleline: Kleline, browser: DashboardVisitor) -> None:
    shop = merchant(kleline, approved=False)
    member(kleline, shop, "acc@example.org", "accountant")
    page = browser.get("/dashboard/sign-in?lang=fr")
    assert '<html lang="fr">' in page.text and "Connectez-vous au tableau de bord de votre boutique" in page.text
    home = browser.sign_in_dashboard("acc@example.org")
    assert "En attente d’approbation" in home.text and "Comptable" in home.text


def test_over_https_the_dashboards_cookie_is_host_prefixed_and_secure(database_url: str, clock: FakeClock) -> None:
    system = build(load_settings(database_url=database_url, public_url="https://pay.kleline.example"), clock=clock)
    try:
        with TestClient(create_app(system), base_url="https://pay.kleline.example") as client:
            cookie = client.get("/dashboard/sign-in").headers["set-cookie"]
    finally:
        system.close()
    assert cookie.startswith("__Host-kleline_dashboard=")
    assert "Secure" in cookie and "HttpOnly" in cookie and "Path=/" in cookie and "Domain" not in cookie
