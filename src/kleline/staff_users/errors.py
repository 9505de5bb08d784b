"""What the console's people refuse, each with a stable code.

Sign-in refusals are the customers' own (``kleline.wallet.customers``: ``AuthenticationFailed``, ``SignInLocked``,
one sentence for an unknown email, a wrong password or a locked account), wrong codes the strong authentication's
(``kleline.wallet.sca``: ``CodeInvalid``, ``AuthenticationBlocked``), and a role without the power an act needs is
``kleline.staff.actor.RoleForbids`` (403). The rest::

    KlelineError
     ├── ValidationError ── InvalidStaffUser          email, role or password refused
     ├── NotFound ───────── UnknownStaffUser          no such staff user (or invitation)
     │                 └─── StaffInvitationUnusable   an invitation link unknown, used, withdrawn or expired
     ├── Conflict ───────── AlreadyStaff              the address already belongs to an active staff user
     │                 ├─── LastAdmin                 the last active admin can be neither disabled nor demoted
     │                 ├─── StaffUserDisabled         the staff user is disabled already
     │                 └─── LastSecondFactor          a staff user's last second factor cannot be removed
     ├── SecondFactorStale                            403: adding or removing a passkey wants a fresh second factor
     └── ConsoleStepMissing                           401: the session is not at the step this asks for
"""

from __future__ import annotations

from typing import Literal

from kleline.errors import Conflict, KlelineError, NotFound, ValidationError

__all__ = [
    "AlreadyStaff",
    "ConsoleStepMissing",
    "InvalidStaffUser",
    "LastAdmin",
    "LastSecondFactor",
    "SecondFactorStale",
    "StaffInvitationUnusable",
    "StaffUserDisabled",
    "UnknownStaffUser",
]


class InvalidStaffUser(ValidationError):
    """A staff user's or invitation's field is missing or malformed (email, role, password)."""


class UnknownStaffUser(NotFound):
    """No such staff user or invitation."""


class StaffInvitationUnusable(NotFound):
    """The invitation link is unknown, already used, withdrawn or expired; ``reason`` says which (only the link's
    holder, who has the token, ever learns it)."""

    code = "invitation_unusable"

    def __init__(self, detail: str, *, reason: Literal["unknown", "accepted", "withdrawn", "expired"]) -> None:
        super().__init__(detail)
        self.reason = reason


class AlreadyStaff(Conflict):
    """The email address already belongs to an active staff user."""

    code = "already_staff"


class LastAdmin(Conflict):
    """The change would leave the staff without an active admin."""

    code = "last_admin"


class StaffUserDisabled(Conflict):
    """The staff user is disabled already: nothing more can change it."""

    code = "staff_user_disabled"


class LastSecondFactor(Conflict):
    """The change would leave a staff user without a second factor (mandatory for staff)."""

    code = "last_second_factor"


class SecondFactorStale(KlelineError):
    """Adding or removing a passkey wants a second factor given less than ``SECOND_FACTOR_FRESH`` ago: whoever took
    over a console session left open must not swap in a passkey of their own."""

    code = "second_factor_stale"
    status = 403


class ConsoleStepMissing(KlelineError):
    """The session is not at the sign-in step this asks for (signed out, or expired meanwhile)."""

    code = "sign_in_required"
    status = 401
