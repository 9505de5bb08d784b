"""The operator console's pages over HTTP on each backend, without JavaScript: signing in (the password, then always
a code), a session of the console's own (never a dashboard's), the home page by role, the admins' staff page
(invitations, roles, disabling, the last admin kept), an invitation followed to a first authenticator, the 403 page
that names the missing power, CSRF on every form, every problem at once and typed values kept (never a secret), and
each act in the staff audit trail."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from kleline.api.app import create_app
from kleline.bootstrap import Kleline, build
from kleline.config import load_settings
from kleline.staff.audit import AuditFilters, search, verify
from kleline.staff.roles import Role

from ..conftest import FakeClock
from .console_world import PASSWORD, PUBLIC_URL, ConsoleVisitor, invitation_path, secret_on, staff_member
from .dashboard_world import DashboardVisitor, authenticator, member, merchant, wrong_code
from .page_visitor import alert

NEW_PASSWORD = "a brand new passphrase, longer"


@pytest.fixture
def kleline(database_url: str, clock: FakeClock) -> Iterator[Kleline]:
    settings = load_settings(database_url=database_url, public_url=PUBLIC_URL, sign_in_rate=1000, sign_up_rate=1000)
    system = build(settings, clock=clock)
    try:
        yield system
    finally:
        system.close()


@pytest.fixture
def app(kleline: Kleline) -> FastAPI:
    return create_app(kleline)


def visitor(app: FastAPI) -> ConsoleVisitor:
    return ConsoleVisitor(TestClient(app, follow_redirects=False, base_url=PUBLIC_URL))


def actions(kleline: Kleline) -> list[str]:
    """The staff audit trail's actions, oldest first."""
    return [r.action for r in reversed(search(kleline.db, AuditFilters(), limit=200).records)]


def test_a_signed_out_visitor_is_sent_to_the_console_sign_in_and_back(app: FastAPI) -> None:
    browser = visitor(app)
    for path in ("/console", "/console/staff", "/console/security"):
        answer = browser.get(path)
        assert answer.status_code == 303
        assert answer.headers["location"] == f"/console/sign-in?next={path.replace('/', '%2F')}"
    page = browser.get("/console/sign-in?next=https://evil.example/")
    assert page.status_code == 200 and 'name="next" value="/console"' in page.text
    for header in ("content-security-policy", "x-frame-options", "x-content-type-options", "referrer-policy"):
        assert header in page.headers
    assert page.headers["cache-control"] == "no-store"
    cookie = page.headers["set-cookie"]
    assert cookie.startswith("kleline_console=") and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Path=/" in cookie


def test_signing_in_shows_every_problem_at_once_keeps_the_email_and_never_the_password(
    kleline: Kleline, app: FastAPI, clock: FakeClock
) -> None:
    _, totp = staff_member(kleline, "ada@example.org", Role.ADMIN, clock)
    browser = visitor(app)
    browser.get("/console/sign-in")
    empty = browser.post("/console/sign-in", email="", password="", next="/console")
    assert empty.status_code == 400
    summary = alert(empty)
    assert "Enter your email address" in summary and "Enter your password" in summary
    wrong = browser.post("/console/sign-in", email="ada@example.org", password="not the password", next="/console")
    assert wrong.status_code == 400 and "Wrong email or password" in alert(wrong)
    assert 'value="ada@example.org"' in wrong.text and "not the password" not in wrong.text
    answer = browser.post("/console/sign-in", email="ada@example.org", password=PASSWORD, next="/console/security")
    assert answer.headers["location"] == "/console/sign-in/code?next=%2Fconsole%2Fsecurity"
    assert browser.get("/console").headers["location"].startswith("/console/sign-in/code")  # not signed in yet
    step = browser.get(answer.headers["location"])
    assert "<h1>Enter your code</h1>" in step.text
    bad = browser.post("/console/sign-in/code", code="12", next="/console/security")
    assert bad.status_code == 400 and "Enter the 6-digit code" in alert(bad)
    refused = browser.post("/console/sign-in/code", code=wrong_code(totp, clock.now), next="/console/security")
    assert refused.status_code == 400 and "4 attempts left" in alert(refused)
    done = browser.post("/console/sign-in/code", code=totp.at(clock.now), next="/console/security")
    assert (done.status_code, done.headers["location"]) == (303, "/console/security")
    assert done.headers["set-cookie"].startswith("kleline_console=")
    assert browser.get("/console/security").status_code == 200
    assert actions(kleline)[-1] == "staff_signed_in"


def test_the_home_page_names_the_person_its_role_and_the_sections_its_role_opens(
    kleline: Kleline, app: FastAPI, clock: FakeClock
) -> None:
    for email, role, name in (
        ("ada@example.org", Role.ADMIN, "Admin"),
        ("sam@example.org", Role.SUPPORT, "Support"),
        ("fin@example.org", Role.FINANCE, "Finance"),
    ):
        _, totp = staff_member(kleline, email, role, clock)
        home = visitor(app).sign_in_console(email, totp, clock.now)
        assert home.status_code == 200
        assert f"<dd>{name}</dd>" in home.text and f"<dd>{email}</dd>" in home.text
        assert ('href="/console/staff"' in home.text) == (role == Role.ADMIN)
        assert '<a href="/console" aria-current="page">Home</a>' in home.text
        assert 'href="/console/security"' in home.text
        assert ("Run settlements and collections" in home.text) == (role == Role.FINANCE)
        assert ("Manage the staff" in home.text) == (role == Role.ADMIN)


def test_a_support_user_is_refused_the_staff_page_and_its_forms_with_the_missing_power_named(
    kleline: Kleline, app: FastAPI, clock: FakeClock
) -> None:
    staff_member(kleline, "ada@example.org", Role.ADMIN, clock)
    _, totp = staff_member(kleline, "sam@example.org", Role.SUPPORT, clock)
    browser = visitor(app)
    browser.sign_in_console("sam@example.org", totp, clock.now)
    page = browser.get("/console/staff")
    assert page.status_code == 403
    assert "Your role (Support) does not allow this: it needs the power “Manage the staff”." in page.text
    before = actions(kleline)
    posted = browser.post("/console/staff/invite", email="eve@example.org", role="admin")
    assert posted.status_code == 403 and "Manage the staff" in posted.text
    assert actions(kleline) == before  # nothing written
    french = browser.get("/console/staff?lang=fr")
    assert french.status_code == 403
    refusal = "Votre rôle (Support) ne le permet pas\u00a0: il faut le pouvoir «\u00a0Gérer l’équipe\u00a0»"
    assert refusal in html.unescape(french.text)


def test_an_admin_invites_a_person_who_follows_the_link_and_must_set_up_an_authenticator_first(
    kleline: Kleline, app: FastAPI, clock: FakeClock
) -> None:
    _, totp = staff_member(kleline, "ada@example.org", Role.ADMIN, clock)
    admin = visitor(app)
    admin.sign_in_console("ada@example.org", totp, clock.now, next_path="/console/staff")
    refused = admin.post("/console/staff/invite", email="not an address", role="boss")
    assert refused.status_code == 400
    summary = alert(refused)
    assert "Enter a valid email address" in summary and "Choose a role" in summary  # both at once
    assert 'value="not an address"' in refused.text
    taken = admin.post("/console/staff/invite", email="ada@example.org", role="finance")
    assert taken.status_code == 409 and "already belongs to a member" in alert(taken)
    made = admin.post("/console/staff/invite", email="carol@example.org", role="compliance")
    assert made.status_code == 200 and "Invitation ready: send this link" in made.text
    link = re.search(r'<p class="secret"><code>([^<]+)</code>', made.text)
    assert link and link.group(1).startswith(f"{PUBLIC_URL}/console/invitations/")
    assert "carol@example.org" in admin.get("/console/staff").text  # pending

    carol = visitor(app)
    path = invitation_path(link.group(1))
    page = carol.get(path)
    assert page.status_code == 200 and "carol@example.org" in page.text and "Compliance" in page.text
    short = carol.post(path, password="short")
    assert short.status_code == 400 and "Choose a password of 12 to 1024 characters" in alert(short)
    accepted = carol.post(path, password=PASSWORD)
    assert (accepted.status_code, accepted.headers["location"]) == (
        303, "/console/sign-in/authenticator?next=%2Fconsole",
    )  # fmt: skip
    assert carol.get("/console").headers["location"].startswith("/console/sign-in/authenticator")
    assert carol.get("/console/staff").headers["location"].startswith("/console/sign-in/authenticator")
    why = carol.get(accepted.headers["location"])
    assert "<h1>Secure your sign-in</h1>" in why.text and "a password alone is never enough" in why.text
    setup = carol.post("/console/sign-in/authenticator", next="/console")
    app_totp = secret_on(setup)
    wrong = carol.post("/console/sign-in/authenticator/confirm", code=wrong_code(app_totp, clock.now), next="/console")
    assert wrong.status_code == 400
    done = carol.post("/console/sign-in/authenticator/confirm", code=app_totp.at(clock.now), next="/console")
    assert (done.status_code, done.headers["location"]) == (303, "/console")
    home = carol.get("/console")
    assert "<dd>Compliance</dd>" in home.text and "Your authenticator app is set up" in home.text
    again = visitor(app).get(path)
    assert again.status_code == 404 and "already accepted" in again.text
    assert actions(kleline)[-5:] == [
        "staff_signed_in",
        "staff_invited",
        "staff_invitation_accepted",
        "staff_authenticator_set_up",
        "staff_signed_in",
    ]


def test_roles_are_changed_people_disabled_and_the_last_admin_kept_from_the_staff_page(
    kleline: Kleline, app: FastAPI, clock: FakeClock
) -> None:
    ada, totp = staff_member(kleline, "ada@example.org", Role.ADMIN, clock)
    fin, fin_totp = staff_member(kleline, "fin@example.org", Role.FINANCE, clock)
    admin = visitor(app)
    admin.sign_in_console("ada@example.org", totp, clock.now, next_path="/console/staff")
    finance = visitor(app)
    clock.advance(seconds=30)
    finance.sign_in_console("fin@example.org", fin_totp, clock.now)

    demoted = admin.post(f"/console/staff/{ada.id}/role", role="support")
    assert demoted.status_code == 409 and "last admin" in alert(demoted)
    alone = admin.post(f"/console/staff/{ada.id}/disable")
    assert alone.status_code == 409 and "last admin" in alert(alone)
    changed = admin.post(f"/console/staff/{fin.id}/role", role="support")
    assert (changed.status_code, changed.headers["location"]) == (303, "/console/staff")
    assert "The role was changed" in admin.get("/console/staff").text
    assert "<dd>Support</dd>" in finance.get("/console").text  # counts at once
    unknown = admin.post("/console/staff/st_nobody/disable")
    assert unknown.status_code == 404
    disabled = admin.post(f"/console/staff/{fin.id}/disable")
    assert (disabled.status_code, disabled.headers["location"]) == (303, "/console/staff")
    assert finance.get("/console").headers["location"].startswith("/console/sign-in")  # signed out at once
    page = admin.get("/console/staff")
    assert "The person was disabled" in page.text and "disabled</span>" in page.text
    assert [a for a in actions(kleline) if a in ("staff_role_changed", "staff_disabled")] == [
        "staff_role_changed",
        "staff_disabled",
    ]
    assert verify(kleline.db).ok


def test_every_console_form_refuses_a_post_without_its_token_or_from_another_site(
    kleline: Kleline, app: FastAPI, clock: FakeClock
) -> None:
    _, totp = staff_member(kleline, "ada@example.org", Role.ADMIN, clock)
    browser = visitor(app)
    browser.sign_in_console("ada@example.org", totp, clock.now)
    for path in (
        "/console/staff/invite",
        "/console/security/password",
        "/console/security/sign-out-everywhere",
        "/console/sign-out",
    ):
        forged = browser.post(path, csrf="forged", email="eve@example.org", role="admin")
        assert forged.status_code == 403, path
        assert "This form cannot be accepted" in forged.text
    other_site = browser.client.post(
        "/console/staff/invite",
        data={"csrf_token": browser.csrf, "email": "eve@example.org", "role": "admin"},
        headers={"Origin": "https://evil.example"},
    )
    assert other_site.status_code == 403
    assert kleline.staff_team.invitations(kleline.staff_team.find_by_email("ada@example.org").actor(None)) == []


def test_a_dashboard_session_opens_no_console_page_and_a_console_session_no_dashboard_page(
    kleline: Kleline, app: FastAPI, clock: FakeClock
) -> None:
    owner = member(kleline, merchant(kleline), "owner@example.org")
    owner_totp = authenticator(kleline, owner, clock)
    shop = DashboardVisitor(TestClient(app, follow_redirects=False, base_url=PUBLIC_URL))
    shop.sign_in_dashboard("owner@example.org", owner_totp, at=clock.now)
    assert shop.get("/console").headers["location"].startswith("/console/sign-in")
    _, totp = staff_member(kleline, "ada@example.org", Role.ADMIN, clock)
    console = visitor(app)
    console.sign_in_console("ada@example.org", totp, clock.now)
    assert console.get("/dashboard").headers["location"].startswith("/dashboard/sign-in")
    # The same address at the other door: the console's people and the dashboard's are apart.
    shop.get("/console/sign-in")
    refused = shop.post("/console/sign-in", email="owner@example.org", password=PASSWORD, next="/console")
    assert refused.status_code == 400 and "Wrong email or password" in alert(refused)


def test_the_security_page_changes_the_password_replaces_the_app_and_signs_out_everywhere(
    kleline: Kleline, app: FastAPI, clock: FakeClock
) -> None:
    _, totp = staff_member(kleline, "ada@example.org", Role.COMPLIANCE, clock)
    staff_member(kleline, "root@example.org", Role.ADMIN, clock)
    browser = visitor(app)
    page = browser.sign_in_console("ada@example.org", totp, clock.now, next_path="/console/security")
    for heading in ("Authenticator app", "Password", "Sign out everywhere", "Recent sign-ins"):
        assert f">{heading}</h2>" in page.text
    assert "from testclient" in page.text
    elsewhere = visitor(app)
    clock.advance(seconds=30)
    elsewhere.sign_in_console("ada@example.org", totp, clock.now)

    problems = browser.post(
        "/console/security/password", current_password="wrong one", new_password="short", new_password_again="other"
    )
    assert problems.status_code == 400
    summary = alert(problems)
    print(summary)
    assert (
        "current password is wrong" in summary
        and "Choose a password of 12 to 1024 characters" in summary
        and "differ" in summary
    )
    assert "wrong one" not in problems.text and "short" not in re.sub(r"<[^>]+>", "", summary).split("Choose")[0]
    changed = browser.post(
        "/console/security/password",
        current_password=PASSWORD,
        new_password=NEW_PASSWORD,
        new_password_again=NEW_PASSWORD,
    )
    assert (changed.status_code, changed.headers["location"]) == (303, "/console/security")
    assert "Your password was changed" in browser.get("/console/security").text
    assert elsewhere.get("/console").headers["location"].startswith("/console/sign-in")

    clock.advance(seconds=30)
    missing = browser.post("/console/security/authenticator", current_code=wrong_code(totp, clock.now))
    assert missing.status_code == 400 and "attempts left" in alert(missing)
    started = browser.post("/console/security/authenticator", current_code=totp.at(clock.now))
    assert started.status_code == 200 and "Key to type by hand" in started.text
    new = secret_on(started)
    clock.advance(seconds=30)
    done = browser.post("/console/security/authenticator/confirm", code=new.at(clock.now))
    assert (done.status_code, done.headers["location"]) == (303, "/console/security")
    assert "Your new authenticator app is set up" in browser.get("/console/security").text

    out = browser.post("/console/security/sign-out-everywhere")
    assert out.headers["location"] == "/console/sign-in?next=%2Fconsole%2Fsecurity"
    assert browser.get("/console").headers["location"].startswith("/console/sign-in")
    tail = actions(kleline)[-3:]
    assert tail == ["staff_password_changed", "staff_authenticator_replaced", "staff_signed_out_everywhere"]


def test_signing_out_ends_the_console_session(kleline: Kleline, app: FastAPI, clock: FakeClock) -> None:
    _, totp = staff_member(kleline, "ada@example.org", Role.SUPPORT, clock)
    staff_member(kleline, "root@example.org", Role.ADMIN, clock)
    browser = visitor(app)
    browser.sign_in_console("ada@example.org", totp, clock.now)
    out = browser.post("/console/sign-out")
    assert (out.status_code, out.headers["location"]) == (303, "/console/sign-in")
    assert "kleline_console=" in out.headers["set-cookie"] and "Max-Age=0" in out.headers["set-cookie"]
    assert "You are signed out of the console." in browser.get("/console/sign-in").text
    assert actions(kleline)[-1] == "staff_signed_out"


@pytest.mark.parametrize("path", ["/console/invitations/unknown-token", "/console/invitations/" + "x" * 300])
def test_an_unusable_invitation_link_says_why(app: FastAPI, path: str) -> None:
    page = visitor(app).get(path)
    assert page.status_code == 404 and "This invitation link does not work" in page.text


def test_the_console_speaks_french(app: FastAPI) -> None:
    page = visitor(app).get("/console/sign-in?lang=fr")
    assert '<html lang="fr">' in page.text and "Se connecter à la console de Kleline" in html.unescape(page.text)
