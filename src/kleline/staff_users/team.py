"""Kleline's staff: invitations, accepting one, the list, roles and disabling.

Each use case is one transaction that also writes its record in the staff audit trail (``kleline.staff.audit``), as
its last write. Who acts is a ``StaffActor``: an admin in the console, or the command line (``command_line()``, which
holds the database's own credentials and may do everything; it is how the first admin is made). The actor's role must
grant ``Power.MANAGE_STAFF`` (``RoleForbids`` otherwise), and a console actor is re-read under the lock, so that an
admin demoted or disabled a moment ago can no longer act.

An invitation is a random 256-bit token in a link (``{public_url}/console/invitations/{token}``), shown once and
stored as a SHA-256 digest, valid ``INVITATION_LIFETIME``, used once: accepting it marks it with one conditional
UPDATE, so that two browsers following the link at once cannot both make a person. A new invitation to the same
address withdraws the pending ones. The person chooses a password (the customers' rules); the email and role are
the invitation's. Accepting opens the person's first session at the second-factor stage: it must set up an
authenticator app before it reaches anything.

Changes of role and status lock the active admins' rows (``store.lock_admins``) and count them under the lock, so
that two admins demoting or disabling each other at once cannot leave the staff without one
(``model.admin_change_refusal``). Disabling a person ends its sessions at once; its row stays, so that the trail
still names who did what.
"""

from __future__ import annotations

import builtins
import hashlib
import secrets
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Final

from kleline.clock import Clock, epoch_us
from kleline.db.engine import INTEGRITY_ERRORS, Database, RawTx
from kleline.errors import KlelineError
from kleline.identity import session_store as sessions_sql
from kleline.ids import new_id
from kleline.staff import audit
from kleline.staff.actor import RoleForbids, StaffActor
from kleline.staff.roles import Power, Role, allows, parse_role
from kleline.staff_users import store
from kleline.staff_users.errors import (
    AlreadyStaff,
    InvalidStaffUser,
    LastAdmin,
    StaffInvitationUnusable,
    StaffUserDisabled,
    UnknownStaffUser,
)
from kleline.staff_users.model import (
    INVITATION_LIFETIME,
    StaffInvitation,
    StaffUser,
    admin_change_refusal,
    invitation_state,
)
from kleline.staff_users.sessions import SECOND_FACTOR_WINDOW, ConsoleSession, digest, open_session
from kleline.staff_users.sign_in import SUBJECT
from kleline.wallet.customers import InvalidCustomer, hash_password, normalise_email, password_problems

__all__ = [
    "INVITATION_PATH",
    "INVITATION_SUBJECT",
    "NewStaffInvitation",
    "StaffTeam",
    "acceptance_problems",
    "invitation_problems",
]

INVITATION_PATH: Final = "/console/invitations/"
INVITATION_SUBJECT: Final = "staff_invitation"
"""The audit trail's subject type of the acts on an invitation."""


@dataclass(frozen=True, slots=True)
class NewStaffInvitation:
    """An invitation just made: ``url`` (its link, with the token) is shown this once and never stored."""

    invitation: StaffInvitation
    url: str = field(repr=False)

    @property
    def token(self) -> str:
        """The link's secret part (its last path segment)."""
        return self.url.rsplit("/", 1)[1]


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def _check_email(email: str) -> str:
    try:
        return normalise_email(email.strip())
    except InvalidCustomer as refused:
        raise InvalidStaffUser(refused.detail, param="email") from None


def _check_role(role: str | Role) -> Role:
    try:
        return parse_role(str(role))
    except ValueError as refused:
        raise InvalidStaffUser(f"role: {refused}", param="role") from None


def invitation_problems(email: str, role: str) -> list[KlelineError]:
    """Every rule an invitation breaks (its email, its role), all of them, for a form to show together; empty when it
    may be made (the address may still belong to an active staff user)."""
    problems: list[KlelineError] = []
    try:
        _check_email(email)
    except InvalidStaffUser as refused:
        problems.append(refused)
    try:
        _check_role(role)
    except InvalidStaffUser as refused:
        problems.append(refused)
    return problems


def acceptance_problems(password: str) -> list[KlelineError]:
    """Every rule the password chosen to accept an invitation breaks; empty when it will do."""
    return list(password_problems(password))


class StaffTeam:
    """Invite, accept, list, change roles, disable, withdraw invitations."""

    def __init__(self, db: Database, *, clock: Clock, public_url: str, session_ttl: timedelta) -> None:
        self._db = db
        self._clock = clock
        self._public_url = public_url.rstrip("/")
        self._session_ttl = session_ttl

    # Invitations ---------------------------------------------------------------------------------------------------

    def invite(self, email: str, role: str | Role, *, by: StaffActor) -> NewStaffInvitation:
        """A single-use link for ``email`` to join the staff as ``role``, valid ``INVITATION_LIFETIME``; ``by`` must
        hold ``Power.MANAGE_STAFF`` (an admin, or the command line)."""
        by.require(Power.MANAGE_STAFF)
        problems = invitation_problems(email, str(role))
        if problems:
            raise problems[0]
        address, checked_role = _check_email(email), _check_role(role)
        now = self._clock()
        token = secrets.token_urlsafe(32)
        invitation = StaffInvitation(
            id=new_id("sti"),
            email=address,
            role=checked_role,
            invited_by=by.label[:100],
            created_at=now,
            expires_at=now + INVITATION_LIFETIME,
        )
        with self._db.transaction() as tx:
            self._acting(tx, by)
            if store.find_active_by_email(tx, address) is not None:
                raise AlreadyStaff(f"{address} is already a member of the staff", param="email")
            store.withdraw_pending_for(tx, address, epoch_us(now))
            store.insert_invitation(tx, invitation, _digest(token), epoch_us(now), epoch_us(invitation.expires_at))
            after = {"email": address, "role": checked_role.value, "expires_at": invitation.expires_at.isoformat()}
            audit.record(tx, by, "staff_invited", INVITATION_SUBJECT, invitation.id, at=now, after=after)
        return NewStaffInvitation(invitation, f"{self._public_url}{INVITATION_PATH}{token}")

    def invitation(self, token: str) -> StaffInvitation:
        """The pending invitation behind a link's token; ``StaffInvitationUnusable`` (saying why) otherwise."""
        with self._db.transaction(write=False) as tx:
            invitation = store.find_invitation_by_token(tx, _digest(token)) if 0 < len(token) <= 200 else None
        return self._usable(invitation)

    def _usable(self, invitation: StaffInvitation | None) -> StaffInvitation:
        if invitation is None:
            raise StaffInvitationUnusable("no such invitation: check the link", reason="unknown")
        state = invitation_state(invitation, self._clock())
        if state == "pending":
            return invitation
        sentences = {
            "accepted": "this invitation was already accepted: sign in instead",
            "withdrawn": "this invitation was withdrawn: ask an admin for a new one",
            "expired": "this invitation has expired: ask an admin for a new one",
        }
        raise StaffInvitationUnusable(sentences[state], reason=state)

    def accept(
        self, token: str, password: str, *, previous: ConsoleSession | None = None, address: str | None = None
    ) -> ConsoleSession:
        """Accept an invitation with the password chosen: a new staff user with the invitation's email and role, and
        its first session, in place of ``previous``, at the second-factor stage (it must set up an authenticator
        app before anything else). The invitation is used up."""
        problems = acceptance_problems(password)
        if problems:
            raise problems[0]
        password_hash = hash_password(password)  # slow on purpose: before the transaction, not inside it
        now = self._clock()
        try:
            with self._db.transaction() as tx:
                invitation = self._usable(store.find_invitation_by_token(tx, _digest(token)))
                if store.find_active_by_email(tx, invitation.email) is not None:
                    raise AlreadyStaff(f"{invitation.email} is already a member of the staff", param="email")
                user = StaffUser(new_id("st"), invitation.email, invitation.role, False, now)
                store.insert_user(tx, user, password_hash, invitation.id)
                if not store.accept_invitation(tx, invitation.id, user.id, epoch_us(now)):
                    raise StaffInvitationUnusable("this invitation was already accepted: sign in", reason="accepted")
                if previous is not None:
                    sessions_sql.delete_session(tx, store.DIRECTORY, digest(previous.token))
                ttl = min(SECOND_FACTOR_WINDOW, self._session_ttl)
                session = open_session(tx, user, "second_factor", None, now, ttl)
                after = {"email": user.email, "role": user.role.value, "invitation": invitation.id}
                audit.record(
                    tx, user.actor(address), "staff_invitation_accepted", SUBJECT, user.id, at=now, after=after
                )
        except INTEGRITY_ERRORS:
            raise AlreadyStaff("this address already belongs to a member of the staff", param="email") from None
        return session

    def invitations(self, by: StaffActor) -> builtins.list[StaffInvitation]:
        """The pending invitations, newest first."""
        by.require(Power.MANAGE_STAFF)
        with self._db.transaction(write=False) as tx:
            return store.pending_invitations(tx, epoch_us(self._clock()))

    def withdraw(self, invitation_id: str, *, by: StaffActor) -> StaffInvitation:
        """Withdraw a pending invitation: its link no longer works."""
        by.require(Power.MANAGE_STAFF)
        now = self._clock()
        with self._db.transaction() as tx:
            self._acting(tx, by)
            invitation = store.find_invitation(tx, invitation_id)
            if invitation is None or not store.withdraw_invitation(tx, invitation_id, epoch_us(now)):
                raise UnknownStaffUser(f"no pending invitation {invitation_id}")
            before = {"email": invitation.email, "role": invitation.role.value}
            audit.record(tx, by, "staff_invitation_withdrawn", INVITATION_SUBJECT, invitation_id, at=now, before=before)
        return invitation

    # People --------------------------------------------------------------------------------------------------------

    def list(self, by: StaffActor) -> builtins.list[StaffUser]:
        """Every staff user, the active ones first."""
        by.require(Power.MANAGE_STAFF)
        with self._db.transaction(write=False) as tx:
            return store.list_users(tx)

    def get(self, user_id: str) -> StaffUser:
        """One staff user, disabled or not."""
        with self._db.transaction(write=False) as tx:
            user = store.find_user(tx, user_id)
        if user is None:
            raise UnknownStaffUser(f"no staff user {user_id}")
        return user

    def find_by_email(self, email: str) -> StaffUser:
        """The active staff user with this email (``UnknownStaffUser`` if none)."""
        address = _check_email(email)
        with self._db.transaction(write=False) as tx:
            found = store.find_active_by_email(tx, address)
        if found is None:
            raise UnknownStaffUser(f"no active staff user {address}")
        return found[0]

    def change_role(self, user_id: str, role: str | Role, *, by: StaffActor) -> StaffUser:
        """Give a staff user another role; the last active admin keeps its role (``LastAdmin``)."""
        by.require(Power.MANAGE_STAFF)
        new_role = _check_role(role)
        now = self._clock()
        with self._db.transaction() as tx:
            store.lock_admins(tx)
            self._acting(tx, by)
            user = self._active(tx, user_id)
            if user.role == new_role:
                return user
            refusal = admin_change_refusal(store.count_active_admins(tx), user.role, new_role)
            if refusal is not None:
                raise LastAdmin(refusal, param="role")
            store.set_role(tx, user.id, new_role)
            before, after = {"role": user.role.value}, {"role": new_role.value}
            audit.record(tx, by, "staff_role_changed", SUBJECT, user.id, at=now, before=before, after=after)
        return replace(user, role=new_role)

    def disable(self, user_id: str, *, by: StaffActor) -> StaffUser:
        """Disable a staff user for good: its sessions end and it can no longer sign in (its past acts stay in the
        trail, under its id); the last active admin cannot be disabled (``LastAdmin``)."""
        by.require(Power.MANAGE_STAFF)
        now = self._clock()
        with self._db.transaction() as tx:
            store.lock_admins(tx)
            self._acting(tx, by)
            user = self._active(tx, user_id)
            refusal = admin_change_refusal(store.count_active_admins(tx), user.role, None)
            if refusal is not None:
                raise LastAdmin(refusal)
            store.disable_user(tx, user.id, epoch_us(now))
            before, after = {"status": "active"}, {"status": "disabled"}
            audit.record(tx, by, "staff_disabled", SUBJECT, user.id, at=now, before=before, after=after)
        return replace(user, disabled_at=now)

    # Helpers -------------------------------------------------------------------------------------------------------

    @staticmethod
    def _acting(tx: RawTx, by: StaffActor) -> None:
        """A console actor, re-read in this transaction: still active, and still in a role with the power."""
        if by.kind != "staff":
            return
        current = store.find_user(tx, by.id)
        if current is None or current.disabled_at is not None or not allows(current.role, Power.MANAGE_STAFF):
            raise RoleForbids("this person may no longer manage the staff")

    @staticmethod
    def _active(tx: RawTx, user_id: str) -> StaffUser:
        user = store.find_user(tx, user_id)
        if user is None:
            raise UnknownStaffUser(f"no staff user {user_id}")
        if user.disabled_at is not None:
            raise StaffUserDisabled(f"{user.email} is disabled already")
        return user
