"""What the dashboard's people refuse, each with a stable code.

Sign-in refusals are the customers' own (``kleline.wallet.customers``: ``AuthenticationFailed``, ``SignInLocked``,
one sentence for an unknown email, a wrong password or a locked account), and wrong codes the strong
authentication's (``kleline.wallet.sca``: ``CodeInvalid``, ``AuthenticationBlocked``), so that both kinds of people
are refused in the same words. The rest::

    KlelineError
     ├── ValidationError ── InvalidMerchantUser     email, name, password, role or refund limit refused
     ├── NotFound ───────── UnknownMerchantUser     no such user (or invitation) at this merchant
     │                 ├─── InvitationUnusable      an invitation link unknown, used, withdrawn or expired
     │                 └─── NoAuthenticator         no authenticator app to remove
     ├── Conflict ───────── AlreadyAMember          the address already has a dashboard account
     │                 ├─── LastOwner               the last owner can be neither removed nor demoted
     │                 └─── LastSecondFactor        an owner's last second factor cannot be removed
     ├── NotAllowed                                 403: the user's role does not allow this
     ├── SecondFactorRequired                       403: give the second factor again before changing them
     └── SignInStepMissing                          401: the session is not at the step this asks for

Passkeys are refused with the customers' passkey errors (``kleline.wallet.passkey``: ``PasskeyResponseInvalid``,
``CeremonyUnknown``, ...), worded alike on every page.
"""

from __future__ import annotations

from typing import Literal

from kleline.errors import Conflict, KlelineError, NotFound, ValidationError

__all__ = [
    "AlreadyAMember",
    "InvalidMerchantUser",
    "InvitationUnusable",
    "LastOwner",
    "LastSecondFactor",
    "NoAuthenticator",
    "NotAllowed",
    "SecondFactorRequired",
    "SignInStepMissing",
    "UnknownMerchantUser",
]


class InvalidMerchantUser(ValidationError):
    """A merchant user's or invitation's field is missing, malformed or out of range."""


class UnknownMerchantUser(NotFound):
    """No such user or invitation at this merchant, or not one the caller may see."""


class InvitationUnusable(NotFound):
    """The invitation link is unknown, already used, withdrawn or expired; ``reason`` says which (only the link's
    holder, who has the token, ever learns it)."""

    code = "invitation_unusable"

    def __init__(self, detail: str, *, reason: Literal["unknown", "accepted", "withdrawn", "expired"]) -> None:
        super().__init__(detail)
        self.reason = reason


class NoAuthenticator(NotFound):
    """The user has no authenticator app set up (to remove)."""

    code = "authenticator_not_found"


class AlreadyAMember(Conflict):
    """The email address already belongs to a dashboard user (of this merchant or, for an invitation being
    accepted, of any)."""

    code = "already_a_member"


class LastOwner(Conflict):
    """The change would leave the merchant without an owner."""

    code = "last_owner"


class LastSecondFactor(Conflict):
    """The change would leave an owner without any second factor (authenticator app or passkey)."""

    code = "last_second_factor"


class SecondFactorRequired(KlelineError):
    """A second factor is added, replaced or removed in a session whose last one is older than 15 minutes: give
    it again first."""

    code = "second_factor_required"
    status = 403


class NotAllowed(KlelineError):
    """The signed-in user's role does not allow this action."""

    code = "permission_denied"
    status = 403


class SignInStepMissing(KlelineError):
    """The session is not at the sign-in step this asks for (signed out, or expired meanwhile)."""

    code = "sign_in_required"
    status = 401
