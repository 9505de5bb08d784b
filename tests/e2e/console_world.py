"""A small world for the console's tests (pages and browser): staff people invited from the command line and accepted
with ``PASSWORD``, their authenticator apps as a phone's app computes codes, and a visitor that signs in to the
console."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import httpx2 as httpx
import pyotp
from fastapi import FastAPI
from fastapi.testclient import TestClient

from kleline.bootstrap import Kleline, build, open_system_accounts
from kleline.config import load_settings
from kleline.staff.actor import StaffActor, command_line
from kleline.staff.roles import Role
from kleline.staff_users import StaffUser

from ..conftest import FakeClock
from .checkout_world import PASSWORD
from .page_visitor import Visitor

__all__ = [
    "PASSWORD",
    "PUBLIC_URL",
    "ConsoleVisitor",
    "console_system",
    "invitation_path",
    "signed_in",
    "staff_member",
]

PUBLIC_URL = "http://localhost:8000"  # a host name: browsers allow passkeys there, not at an IP address


@contextmanager
def console_system(database_url: str, clock: FakeClock) -> Iterator[Kleline]:
    """Kleline as the console's page tests want it: at ``PUBLIC_URL``, its system accounts open, and sign-in and
    sign-up rates high enough that a test signing many people in is never throttled; closed after the test."""
    settings = load_settings(database_url=database_url, public_url=PUBLIC_URL, sign_in_rate=1000, sign_up_rate=1000)
    system = build(settings, clock=clock)
    open_system_accounts(system)
    try:
        yield system
    finally:
        system.close()


def invitation_path(url: str) -> str:
    """The path of an invitation link (the test client has its own host)."""
    found = re.search(r"/console/invitations/[A-Za-z0-9_-]+", url)
    assert found, url
    return found.group(0)


def staff_member(
    kleline: Kleline, email: str, role: Role, clock: FakeClock, *, by: StaffActor | None = None
) -> tuple[StaffUser, pyotp.TOTP]:
    """A person of the staff with ``role``, invited (from the command line unless ``by``), accepted with
    ``PASSWORD``, with a confirmed authenticator app; the clock moves on to the next time step."""
    invited = kleline.staff_team.invite(email, role, by=by or command_line())
    session = kleline.staff_team.accept(invited.token, PASSWORD)
    assert session.user is not None
    totp = pyotp.TOTP(kleline.staff_sign_in.set_up_authenticator(session.user.id, email).secret)
    kleline.staff_sign_in.confirm_authenticator(session.user.id, totp.at(clock.now), by=command_line())
    clock.advance(seconds=30)
    return kleline.staff_team.get(session.user.id), totp


class ConsoleVisitor(Visitor):
    """A browser without JavaScript on the console's pages."""

    def sign_in_console(
        self, email: str, totp: pyotp.TOTP, at: datetime, *, next_path: str = "/console"
    ) -> httpx.Response:
        """Sign in with ``PASSWORD`` and a code from ``totp`` at ``at``, and open ``next_path``."""
        self.get("/console/sign-in")
        answer = self.post("/console/sign-in", email=email, password=PASSWORD, next=next_path)
        assert answer.status_code == 303, answer.text
        assert answer.headers["location"].startswith("/console/sign-in/code"), answer.headers["location"]
        self.get(answer.headers["location"])
        answer = self.post("/console/sign-in/code", code=totp.at(at), next=next_path)
        assert (answer.status_code, answer.headers["location"]) == (303, next_path), answer.text
        return self.get(next_path)


def secret_on(page: httpx.Response) -> pyotp.TOTP:
    """The authenticator's secret a page shows, as an app reads it."""
    found = re.search(r'<p class="secret"><code>([A-Z2-7 ]+)</code>', page.text)
    assert found, page.text
    return pyotp.TOTP(found.group(1).replace(" ", ""))


def signed_in(
    kleline: Kleline, app: FastAPI, clock: FakeClock, email: str, role: Role, next_path: str = "/console"
) -> ConsoleVisitor:
    """A new staff member ``email`` in ``role``, signed in to ``app`` (served at ``PUBLIC_URL``) and on
    ``next_path``."""
    _, totp = staff_member(kleline, email, role, clock)
    browser = ConsoleVisitor(TestClient(app, follow_redirects=False, base_url=PUBLIC_URL))
    answer = browser.sign_in_console(email, totp, clock.now, next_path=next_path)
    assert answer.status_code == 200, answer.text
    return browser
