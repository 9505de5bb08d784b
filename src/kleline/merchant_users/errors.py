"""What the dashboard's people refuse, each with a stable code.

Sign-in refusals are the customers' own (``kleline.wallet.customers``: ``AuthenticationFailed``, ``SignInLocked``,
one sentence for an unknown email, a wrong password or a locked account), and wrong codes the strong
authentication's (``kleline.wallet.sca``: ``CodeInvalid``, ``AuthenticationBlocked``), so that both kinds of people
are refused in the same words. The rest::

    KlelineError
     ├── ValidationError ── InvalidMerchantUser     email, name, password, role or refund limit refused
     │                 └─── InvalidBankChange       the new account is the current one, or a rejection has no reason
     ├── NotFound ───────── UnknownMerchantUser     no such user (or invitation) at this merchant
     │                 ├─── UnknownBankChange       no such bank account change at this merchant
     │                 ├─── InvitationUnusable      an invitation link unknown, used, withdrawn or expired
     │                 └─── NoAuthenticator         no authenticator app to remove
     ├── Conflict ───────── AlreadyAMember          the address already has a dashboard account
     │                 ├─── LastOwner               the last owner can be neither removed nor demoted
     │                 ├─── LastSecondFactor        an owner's last second factor cannot be removed
     │                 ├─── BankChangePending       a bank account change is already waiting for an operator
     │                 └─── BankChangeDecided       the change was decided otherwise already
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
    "BankChangeDecided",
    "BankChangePending",
    "InvalidBankChange",
    "InvalidMerchantUser",
    "InvitationUnusable",
    "LastOwner",
    "LastSecondFactor",
    "NoAuthenticator",
    "NotAllowed",
    "SecondFactorRequired",
    "SignInStepMissing",
    "UnknownBankChange",
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


class InvalidBankChange(ValidationError):
    """A bank account change's request or decision breaks a rule (the account is already the merchant's, a
    rejection gives no reason)."""


class UnknownBankChange(NotFound):
    """No such bank account change at this merchant (another merchant's is not found either)."""


class BankChangePending(Conflict):
    """The merchant already has a bank account change waiting for an operator: it must be decided or withdrawn
    before another is asked for."""

    code = "bank_account_change_pending"

    def __init__(self, detail: str, *, change_id: str) -> None:
        super().__init__(detail)
        self.change_id = change_id

    def extensions(self) -> dict[str, object]:
        """The pending change's id, so that a client can look at it."""
        return {"change_id": self.change_id}


class BankChangeDecided(Conflict):
    """The bank account change was already decided otherwise (approving a rejected one, rejecting an approved one,
    withdrawing either)."""

    code = "bank_account_change_decided"

    def __init__(self, detail: str, *, status: str) -> None:
        super().__init__(detail)
        self.status_now = status

    def extensions(self) -> dict[str, object]:
        """Where the change stands, so that a client can tell what happened without another call."""
        return {"change_status": self.status_now}
