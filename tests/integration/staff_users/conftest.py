"""A small world for the staff users' service tests: the team, sign-in and security services on a database, a way to
make a person of any role (invited from the command line, as the first admin is, and accepted), their
authenticators as a phone's app computes codes, and signed-in sessions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pyotp
import pytest

from kleline.config import DEVELOPMENT_MASTER_KEYS
from kleline.db.engine import Database
from kleline.staff.actor import StaffActor, command_line
from kleline.staff.audit import AuditFilters, search
from kleline.staff.roles import Role
from kleline.staff_users import ConsoleSession, StaffPasskeys, StaffSecurity, StaffSignIn, StaffTeam, StaffUser
from kleline.wallet.passkey import RelyingParty
from kleline.wallet.vault import MasterKeys

from ...conftest import FakeClock
from ...soft_authenticator import SoftAuthenticator

PASSWORD = "correct horse battery staple"
PUBLIC_URL = "https://kleline.example"
ADDRESS = "198.51.100.4"


@dataclass
class Staff:
    """The staff's services, on one database and one hand-moved clock."""

    db: Database
    clock: FakeClock
    team: StaffTeam
    sign_in: StaffSignIn
    security: StaffSecurity
    passkeys: StaffPasskeys

    def invited(self, email: str, role: Role = Role.ADMIN, by: StaffActor | None = None) -> ConsoleSession:
        """A person invited (by the command line unless ``by``) who accepted: its first session, at the
        second-factor stage."""
        invited = self.team.invite(email, role, by=by or command_line())
        return self.team.accept(invited.token, PASSWORD, address=ADDRESS)

    def member(self, email: str, role: Role = Role.ADMIN) -> tuple[StaffUser, pyotp.TOTP]:
        """A person of ``role`` with a confirmed authenticator app, as its app computes codes."""
        session = self.invited(email, role)
        enrolment = self.sign_in.enrol(session)
        totp = pyotp.TOTP(enrolment.secret)
        signed_in = self.sign_in.confirm_enrolment(session, totp.at(self.clock.now), ADDRESS)
        self.clock.advance(seconds=30)  # the next code is another time step's
        assert signed_in.user is not None
        return signed_in.user, totp

    def signed_in(self, email: str, totp: pyotp.TOTP) -> ConsoleSession:
        """A signed-in session of the person with ``email``: its password, then a code."""
        pending = self.sign_in.check_password(None, email, PASSWORD, ADDRESS)
        session = self.sign_in.pass_second_factor(pending, totp.at(self.clock.now), ADDRESS)
        self.clock.advance(seconds=30)
        return session

    def actions(self, **filters: str) -> list[str]:
        """The staff audit trail's actions matching ``filters``, oldest first."""
        page = search(self.db, AuditFilters(**filters), limit=200)
        return [record.action for record in reversed(page.records)]


@pytest.fixture
def staff(db: Database, clock: FakeClock) -> Staff:
    keys = MasterKeys.parse(DEVELOPMENT_MASTER_KEYS)
    hour = timedelta(hours=1)
    sign_in = StaffSignIn(db, keys, clock=clock, session_ttl=hour, lockout_failures=10, lockout=timedelta(minutes=30))
    return Staff(
        db,
        clock,
        StaffTeam(db, clock=clock, public_url=f"{PUBLIC_URL}/", session_ttl=hour),
        sign_in,
        StaffSecurity(db, sign_in, clock=clock, session_ttl=hour),
        StaffPasskeys(db, RelyingParty.of(PUBLIC_URL), clock=clock, session_ttl=hour),
    )


@pytest.fixture
def device() -> SoftAuthenticator:
    """A phone's passkeys, answering for Kleline's public address."""
    return SoftAuthenticator(PUBLIC_URL)
