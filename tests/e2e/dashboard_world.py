"""A small world for the dashboard's tests (pages and browser): shops, their people invited as an operator invites
them, authenticators as a phone's app computes their codes, and a visitor that signs in to the dashboard."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import httpx2 as httpx
import pyotp

from kleline.bootstrap import Kleline
from kleline.merchant_users import MerchantUser

from ..conftest import FakeClock
from ..operator_keys import OPERATOR
from .checkout_world import IBAN, PASSWORD
from .page_visitor import Visitor

__all__ = [
    "PASSWORD",
    "DashboardVisitor",
    "authenticator",
    "invitation_path",
    "member",
    "merchant",
    "secret_on",
    "wrong_code",
]


def merchant(kleline: Kleline, name: str = "Librairie Kléber", *, approved: bool = True) -> str:
    """A merchant (approved unless told otherwise); its id."""
    registered, _ = kleline.merchants.register(name=name, email="shop@example.fr", iban=IBAN)
    return kleline.merchants.approve(registered.id, actor=OPERATOR).id if approved else registered.id


def invitation_path(url: str) -> str:
    """The path of an invitation link (the test client has its own host)."""
    return urlsplit(url).path


def member(
    kleline: Kleline,
    merchant_id: str,
    email: str,
    role: str = "owner",
    *,
    name: str = "",
    refund_limit: int | None = None,
) -> MerchantUser:
    """A person of the merchant, invited by an operator and accepted with ``PASSWORD``."""
    invited = kleline.merchant_users.invite(merchant_id, email, role, refund_limit, by=OPERATOR)
    token = invitation_path(invited.url).rsplit("/", 1)[1]
    return kleline.merchant_users.accept(token, name or email.split("@")[0].title(), PASSWORD)


def authenticator(kleline: Kleline, user: MerchantUser, clock: FakeClock) -> pyotp.TOTP:
    """An authenticator app set up and confirmed for the user, as the app computes codes; the clock moves on to the
    next time step (the confirming code cannot be used again)."""
    totp = pyotp.TOTP(kleline.merchant_sign_in.set_up_authenticator(user.id, user.email).secret)
    kleline.merchant_sign_in.confirm_authenticator(user.id, totp.at(clock.now))
    clock.advance(seconds=30)
    return totp


def wrong_code(totp: pyotp.TOTP, at: datetime) -> str:
    """A code that is not the app's at ``at`` (nor the steps beside it)."""
    right = {totp.at(at + timedelta(seconds=30 * offset)) for offset in (-1, 0, 1)}
    return next(code for code in ("000000", "111111", "222222", "333333") if code not in right)


class DashboardVisitor(Visitor):
    """A browser without JavaScript on the dashboard's pages."""

    def sign_in_dashboard(
        self, email: str, totp: pyotp.TOTP | None = None, *, at: datetime | None = None, next_path: str = "/dashboard"
    ) -> httpx.Response:
        """Sign in with ``PASSWORD`` (and a code from ``totp`` at ``at``), and open ``next_path``."""
        self.get("/dashboard/sign-in")
        answer = self.post("/dashboard/sign-in", email=email, password=PASSWORD, next=next_path)
        assert answer.status_code == 303, answer.text
        if totp is not None:
            assert answer.headers["location"].startswith("/dashboard/sign-in/code"), answer.headers["location"]
            self.get(answer.headers["location"])
            assert at is not None, "the time the code is for"
            answer = self.post("/dashboard/sign-in/code", code=totp.at(at), next=next_path)
            assert answer.status_code == 303, answer.text
        assert answer.headers["location"] == next_path, answer.headers["location"]
        return self.get(next_path)


def secret_on(page: httpx.Response) -> pyotp.TOTP:
    """The authenticator's secret a page shows, as an app reads it."""
    found = re.search(r'<p class="secret"><code>([A-Z2-7 ]+)</code>', page.text)
    assert found, page.text
    return pyotp.TOTP(found.group(1).replace(" ", ""))
