"""A small world for the merchant users' service tests: two merchants, the team, sign-in, passkey and security
services, a way to make a user of any role (through an operator's invitation, as the command line makes one), and
a software authenticator that answers passkey ceremonies with real signatures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pyotp
import pytest

from kleline.config import DEVELOPMENT_MASTER_KEYS
from kleline.db.engine import Database
from kleline.ledger import Ledger
from kleline.merchant_users import (
    Actor,
    DashboardSession,
    MerchantPasskeys,
    MerchantSecurity,
    MerchantSignIn,
    MerchantUser,
    MerchantUsers,
)
from kleline.merchants import Merchants
from kleline.wallet.passkey import RelyingParty
from kleline.wallet.vault import MasterKeys

from ...conftest import FakeClock
from ...operator_keys import OPERATOR
from ...soft_authenticator import SoftAuthenticator

IBAN = "FR1420041010050500013M02606"
PASSWORD = "correct horse battery staple"
PUBLIC_URL = "https://kleline.example"


@dataclass
class Team:
    """Two merchants and the services of their people."""

    db: Database
    clock: FakeClock
    merchants: Merchants
    users: MerchantUsers
    sign_in: MerchantSignIn
    passkeys: MerchantPasskeys
    security: MerchantSecurity
    shop: str
    other_shop: str

    def member(
        self, email: str, role: str = "owner", *, merchant: str | None = None, refund_limit: int | None = None
    ) -> MerchantUser:
        """A user of ``merchant`` (the shop by default), invited by an operator and accepted."""
        invited = self.users.invite(merchant or self.shop, email, role, refund_limit, by=OPERATOR)
        token = invited.url.rsplit("/", 1)[1]
        return self.users.accept(token, email.split("@")[0].title(), PASSWORD)

    def with_authenticator(self, user: MerchantUser) -> pyotp.TOTP:
        """An authenticator set up and confirmed for ``user``, as its app computes codes."""
        enrolment = self.sign_in.set_up_authenticator(user.id, user.email)
        totp = pyotp.TOTP(enrolment.secret)
        self.sign_in.confirm_authenticator(user.id, totp.at(self.clock.now))
        self.clock.advance(seconds=30)  # the next code is another time step's
        return totp

    def signed_in(self, email: str, totp: pyotp.TOTP | None = None) -> DashboardSession:
        """A signed-in session of the user with ``email``: its password, then a code from ``totp`` if given."""
        session = self.sign_in.check_password(None, email, PASSWORD, "198.51.100.4")
        if totp is not None:
            session = self.sign_in.pass_second_factor(session, totp.at(self.clock.now))
            self.clock.advance(seconds=30)
        return session

    def with_passkey(
        self, session: DashboardSession, device: SoftAuthenticator, name: str = "Laptop"
    ) -> DashboardSession:
        """A passkey registered by ``device`` in ``session`` (signed in with a fresh second factor, or at the
        sign-in's second step of an owner without any); the session to go on with."""
        offer = self.passkeys.begin_registration(session)
        _, after = self.passkeys.register(session, offer.ceremony_id, device.create(offer.options_json), name)
        return after


def actor(user: MerchantUser) -> Actor:
    return Actor(user, "203.0.113.7")


@pytest.fixture
def device() -> SoftAuthenticator:
    """A phone's passkeys, answering for Kleline's public address."""
    return SoftAuthenticator(PUBLIC_URL)


@pytest.fixture
def team(db: Database, ledger: Ledger, clock: FakeClock) -> Team:
    merchants = Merchants(db, ledger, clock=clock)
    shop, _ = merchants.register(name="Librairie Kléber", email="shop@example.fr", iban=IBAN)
    other, _ = merchants.register(name="Fromagerie Duval", email="cheese@example.fr", iban=IBAN)
    keys = MasterKeys.parse(DEVELOPMENT_MASTER_KEYS)
    hour, lockout = timedelta(hours=1), timedelta(minutes=30)
    return Team(
        db,
        clock,
        merchants,
        MerchantUsers(db, clock=clock, public_url=f"{PUBLIC_URL}/"),
        MerchantSignIn(db, keys, clock=clock, session_ttl=hour, lockout_failures=10, lockout=lockout),
        MerchantPasskeys(db, RelyingParty.of(PUBLIC_URL), clock=clock, session_ttl=hour),
        MerchantSecurity(db, keys, clock=clock, session_ttl=hour, lockout_failures=10, lockout=lockout),
        shop.id,
        other.id,
    )
