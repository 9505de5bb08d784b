"""Staff users as plain values, and the rules that need nothing but the standard library and the roles.

What a role may do is ``kleline.staff.roles`` (one table of powers); a staff user acts as a ``StaffActor`` of kind
``staff`` (``StaffUser.actor``), checked against a power and recorded in the staff audit trail under that name.

Signing in takes two steps, always: the password, then the second factor, mandatory for every staff user
(``step_after_password``): an authenticator app's code or a passkey; a person with neither (just invited, or whose
app was never confirmed) sets one up (either) before anything else.

The staff always keeps an admin: the last active one can be neither disabled nor given another role
(``admin_change_refusal``), whoever asks (an admin, or the command line).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Literal

from kleline.staff.actor import StaffActor
from kleline.staff.roles import Role

__all__ = [
    "INVITATION_LIFETIME",
    "SECOND_FACTOR_FRESH",
    "InvitationState",
    "SignInStep",
    "StaffInvitation",
    "StaffStatus",
    "StaffUser",
    "admin_change_refusal",
    "invitation_state",
    "second_factor_fresh",
    "step_after_password",
]

INVITATION_LIFETIME: Final = timedelta(hours=72)
"""How long an invitation link works (once)."""

SECOND_FACTOR_FRESH: Final = timedelta(minutes=15)
"""How recently a signed-in session's second factor must have been given to add a second factor or remove a
passkey: whoever took over a console session left open must not swap in one of their own."""

StaffStatus = Literal["active", "disabled"]
SignInStep = Literal["verify", "enrol", "done"]
InvitationState = Literal["pending", "accepted", "withdrawn", "expired"]


@dataclass(frozen=True, slots=True)
class StaffUser:
    """A person of Kleline's staff: ``authenticator`` says whether its authenticator app is set up and confirmed,
    ``passkey`` whether it has at least one passkey; ``disabled_at`` when it was disabled (it can no longer sign in;
    its row stays for the audit trail)."""

    id: str
    email: str
    role: Role
    authenticator: bool
    created_at: datetime
    disabled_at: datetime | None = None
    passkey: bool = False

    @property
    def has_second_factor(self) -> bool:
        """Whether the person has a second factor: a confirmed authenticator app or a passkey."""
        return self.authenticator or self.passkey

    @property
    def status(self) -> StaffStatus:
        """``active``, or ``disabled`` for good."""
        return "active" if self.disabled_at is None else "disabled"

    def actor(self, address: str | None) -> StaffActor:
        """This person acting in the console, from ``address``."""
        return StaffActor("staff", self.id, self.role, address)


@dataclass(frozen=True, slots=True)
class StaffInvitation:
    """A link to join the staff as ``role``; its token is shown once, when it is made, and stored hashed.
    ``invited_by`` is the inviting actor's label (``staff st_...``, ``cli name``)."""

    id: str
    email: str
    role: Role
    invited_by: str
    created_at: datetime
    expires_at: datetime
    accepted_at: datetime | None = None
    withdrawn_at: datetime | None = None


def invitation_state(invitation: StaffInvitation, now: datetime) -> InvitationState:
    """Where an invitation stands: accepted, withdrawn, expired (``INVITATION_LIFETIME`` after it was made) or still
    pending."""
    if invitation.accepted_at is not None:
        return "accepted"
    if invitation.withdrawn_at is not None:
        return "withdrawn"
    if now >= invitation.expires_at:
        return "expired"
    return "pending"


def step_after_password(has_second_factor: bool) -> SignInStep:
    """What a sign-in asks once the password is right: a second factor (an authenticator app's code or a passkey),
    or (none yet) setting one up. Never nothing: the second factor is mandatory for staff."""
    return "verify" if has_second_factor else "enrol"


def admin_change_refusal(active_admins: int, current_role: Role, new_role: Role | None) -> str | None:
    """Why changing a staff user's role to ``new_role`` (None: disabling it) is refused, or None: the last active
    admin can be neither disabled nor demoted, or nobody would be left to manage the staff."""
    if current_role == Role.ADMIN and new_role != Role.ADMIN and active_admins <= 1:
        return "the staff's last admin can be neither disabled nor given another role: make someone else admin first"
    return None


def second_factor_fresh(second_factor_at: datetime | None, now: datetime) -> bool:
    """Whether a session's second factor was given recently enough (``SECOND_FACTOR_FRESH``) to change the
    person's second factors."""
    return second_factor_at is not None and now < second_factor_at + SECOND_FACTOR_FRESH
