"""A small world for the merchant users' service tests: two merchants, the team and sign-in services, and a way to
make a user of any role (through an operator's invitation, as the command line makes one)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pyotp
import pytest

from kleline.config import DEVELOPMENT_MASTER_KEYS
from kleline.db.engine import Database
from kleline.ledger import Ledger
from kleline.merchant_users import Actor, MerchantSignIn, MerchantUser, MerchantUsers
from kleline.merchants import Merchants
from kleline.wallet.vault import MasterKeys

from ...conftest import FakeClock

IBAN = "FR1420041010050500013M02606"
PASSWORD = "correct horse battery staple"


@dataclass
class Team:
    """Two merchants and the services of their people."""

    db: Database
    clock: FakeClock
    merchants: Merchants
    users: MerchantUsers
    sign_in: MerchantSignIn
    shop: str
    other_shop: str

    def member(
        self, email: str, role: str = "owner", *, merchant: str | None = None, refund_limit: int | None = None
    ) -> MerchantUser:
        """A user of ``merchant`` (the shop by default), invited by an operator and accepted."""
        invited = self.users.invite(merchant or self.shop, email, role, refund_limit)
        token = invited.url.rsplit("/", 1)[1]
        return self.users.accept(token, email.split("@")[0].title(), PASSWORD)

    def with_authenticator(self, user: MerchantUser) -> pyotp.TOTP:
        """An authenticator set up and confirmed for ``user``, as its app computes codes."""
        enrolment = self.sign_in.set_up_authenticator(user.id, user.email)
        totp = pyotp.TOTP(enrolment.secret)
        self.sign_in.confirm_authenticator(user.id, totp.at(self.clock.now))
        self.clock.advance(seconds=30)  # the next code is another time step's
        return totp


def actor(user: MerchantUser) -> Actor:
    return Actor(user, "203.0.113.7")


@pytest.fixture
def team(db: Database, ledger: Ledger, clock: FakeClock) -> Team:
    merchants = Merchants(db, ledger, clock=clock)
    shop, _ = merchants.register(name="Librairie Kléber", email="shop@example.fr", iban=IBAN)
    other, _ = merchants.register(name="Fromagerie Duval", email="cheese@example.fr", iban=IBAN)
    return Team(
        db,
        clock,
        merchants,
        MerchantUsers(db, clock=clock, public_url="https://kleline.example/"),
        MerchantSignIn(
            db,
            MasterKeys.parse(DEVELOPMENT_MASTER_KEYS),
            clock=clock,
            session_ttl=timedelta(hours=1),
            lockout_failures=10,
            lockout=timedelta(minutes=30),
        ),
        shop.id,
        other.id,
    )
