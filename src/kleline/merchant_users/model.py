"""Merchant users as plain values, and the rules that need nothing but the standard library (and ``Money``,
``mask_iban``).

Roles and what each may do are one table, ``PERMISSIONS``, read through ``can(role, action)``; every page and
service asks it, none keeps its own list::

    action        owner  accountant  support
    read            x        x          x      the dashboard's pages, the list of users
    statements      x        x                 monthly statements and invoices
    exports         x        x                 CSV, FEC exports
    refund          x                   x      support: up to its refund limit per payment (``may_refund``)
    capture         x                          capture or cancel an authorised payment (all of it: no limit applies)
    invite          x                          invite a person
    manage_users    x                          change a role or a refund limit, remove a user, withdraw an invitation
    keys            x                          API keys and webhook endpoints
    settings        x                          bank account, public profile
    activity        x                          the audit trail
    offers          x                          estimate audiences and send offers (spends the privacy budget)

A merchant always keeps an owner: the last one can be neither removed nor demoted (``team_change_refusal``).

Signing in takes two steps, the password and then the second factor (``step_after_password``). A second factor is
an authenticator app (a confirmed TOTP secret) or a passkey, or both: a user with one gives it (a code, or the
passkey); an owner without any must set one up before reaching the dashboard; the other roles, without one, are
signed in by their password alone. A sensitive act (a refund, a new API key, a new bank account) asks for the second
factor again once the last one is older than ``REAUTHENTICATION`` (``needs_second_factor_again``), and so does a
change of the second factors themselves, unless the user has none yet (``may_change_second_factors``). An owner
keeps at least one (``second_factor_removal_refusal``).

A new bank account is a ``BankAccountChange``: an owner asks for it, and it only takes effect once an operator
re-checks and approves it (``pending`` → ``approved``, or ``rejected`` with a reason; an owner may withdraw it while
it is pending). A merchant has one pending change at a time: a second request is refused (``BankChangePending``)
rather than replacing the first, so that the account every owner was told of, and the operator is checking, is the
one that is decided; a mistaken request is withdrawn first. Owners are told of a change while it is pending and for
``ANNOUNCED_FOR`` after its decision (``is_announced``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Final, Literal, get_args

from kleline.identity.passkey_model import CeremonyPurpose, Passkey, PasskeyCeremony
from kleline.merchants.model import mask_iban
from kleline.money import Money

__all__ = [
    "ACTIONS",
    "ANNOUNCED_FOR",
    "INVITATION_LIFETIME",
    "PERMISSIONS",
    "REAUTHENTICATION",
    "REFUND_LIMIT_CURRENCY",
    "ROLES",
    "Action",
    "AuditRecord",
    "BankAccountChange",
    "BankChangeStatus",
    "CeremonyPurpose",
    "Invitation",
    "InvitationState",
    "MerchantPasskey",
    "MerchantUser",
    "PasskeyCeremony",
    "Role",
    "SignInStep",
    "can",
    "decision_refusal",
    "invitation_state",
    "is_announced",
    "may_change_second_factors",
    "may_refund",
    "needs_second_factor_again",
    "second_factor_removal_refusal",
    "step_after_password",
    "team_change_refusal",
]

Role = Literal["owner", "accountant", "support"]
Action = Literal[
    "read",
    "statements",
    "exports",
    "refund",
    "capture",
    "invite",
    "manage_users",
    "keys",
    "settings",
    "activity",
    "offers",
]
ROLES: Final[tuple[Role, ...]] = get_args(Role)
ACTIONS: Final[tuple[Action, ...]] = get_args(Action)

PERMISSIONS: Final[Mapping[str, frozenset[Action]]] = MappingProxyType(
    {
        "owner": frozenset(ACTIONS),
        "accountant": frozenset({"read", "statements", "exports"}),
        "support": frozenset({"read", "refund"}),
    }
)

INVITATION_LIFETIME: Final = timedelta(hours=72)
REAUTHENTICATION: Final = timedelta(minutes=15)
REFUND_LIMIT_CURRENCY: Final = "EUR"

ANNOUNCED_FOR: Final = timedelta(days=14)
"""How long owners' pages still tell of a bank account change once it is decided."""

SignInStep = Literal["verify", "enrol", "done"]
BankChangeStatus = Literal["pending", "approved", "rejected", "withdrawn"]
InvitationState = Literal["pending", "accepted", "withdrawn", "expired"]


def can(role: str, action: str) -> bool:
    """Whether ``role`` may do ``action`` (False for a role that is not one); an unknown action is a programming
    error (``ValueError``), never a silent refusal."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}: one of {', '.join(ACTIONS)}")
    return action in PERMISSIONS.get(role, frozenset())


@dataclass(frozen=True, slots=True)
class MerchantUser:
    """A person of a merchant; ``refund_limit`` (EUR minor units) only for ``support``; ``authenticator`` says
    whether an authenticator app is set up and confirmed, ``passkey`` whether it has at least one passkey."""

    id: str
    merchant_id: str
    email: str
    name: str
    role: Role
    refund_limit: int | None
    authenticator: bool
    created_at: datetime
    removed_at: datetime | None = None
    passkey: bool = False

    def can(self, action: Action) -> bool:
        """Whether this user's role allows ``action``."""
        return can(self.role, action)

    @property
    def has_second_factor(self) -> bool:
        """Whether the user has a second factor: a confirmed authenticator app or a passkey."""
        return self.authenticator or self.passkey


MerchantPasskey = Passkey
"""A merchant user's registered WebAuthn credential: a back-office person's (``kleline.identity.passkey_model``)."""


@dataclass(frozen=True, slots=True)
class Invitation:
    """A link to join ``merchant_id`` as ``role``; its token is shown once, when it is made, and stored hashed."""

    id: str
    merchant_id: str
    email: str
    role: Role
    refund_limit: int | None
    invited_by: str | None
    created_at: datetime
    expires_at: datetime
    accepted_at: datetime | None = None
    withdrawn_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One action of a person on a merchant's dashboard: who (``user_id``; None for an operator), when, what, on
    which object, with which details, from which address."""

    id: str
    merchant_id: str
    user_id: str | None
    at: datetime
    action: str
    object_id: str | None
    detail: Mapping[str, object]
    address: str | None
    user_name: str | None = None
    user_email: str | None = None


@dataclass(frozen=True, slots=True)
class BankAccountChange:
    """A request to pay the merchant's payouts into another account: ``iban`` and ``bic`` as checked, who asked
    (``requested_by``, an owner's user id) and when; where it stands, when and by whom it was decided (an operator
    key or the command line, as text), why it was rejected, and, once approved, the account it replaced.

    ``iban`` is the full number: the interfaces mask it (``masked_iban``), except in the answer to the owner who
    typed it and to operators, who check it."""

    id: str
    merchant_id: str
    iban: str
    bic: str
    status: BankChangeStatus
    requested_by: str
    requested_at: datetime
    decided_by: str | None = None
    decided_at: datetime | None = None
    reason: str | None = None
    previous_iban: str | None = None
    previous_bic: str | None = None
    requested_by_name: str | None = None

    @property
    def masked_iban(self) -> str:
        """The IBAN with all but its country code and last four characters starred."""
        return mask_iban(self.iban)

    @property
    def masked_previous_iban(self) -> str | None:
        """The replaced account's IBAN, masked (None until approved)."""
        return None if self.previous_iban is None else mask_iban(self.previous_iban)


def decision_refusal(status: str, decision: Literal["approved", "rejected", "withdrawn"]) -> str | None:
    """Why a change in ``status`` cannot be ``decision`` now, or None when it can (from ``pending``) or already was
    (the same decision again changes nothing, so that a retried call is harmless)."""
    if status in ("pending", decision):
        return None
    return f"this bank account change is already {status}: it can no longer be {decision}"


def is_announced(change: BankAccountChange, now: datetime) -> bool:
    """Whether owners' pages still tell of ``change``: while it is pending, and for ``ANNOUNCED_FOR`` after its
    decision."""
    return change.decided_at is None or now - change.decided_at < ANNOUNCED_FOR


def invitation_state(invitation: Invitation, now: datetime) -> InvitationState:
    """Where an invitation stands: accepted, withdrawn, expired (72 hours after it was made) or still pending."""
    if invitation.accepted_at is not None:
        return "accepted"
    if invitation.withdrawn_at is not None:
        return "withdrawn"
    if now >= invitation.expires_at:
        return "expired"
    return "pending"


def may_refund(role: str, refund_limit: int | None, amount: Money) -> bool:
    """Whether a user may refund ``amount`` of a payment: an owner any amount, a support user up to its refund limit
    (in EUR: an amount in another currency is refused, limits are never converted), no other role."""
    if not can(role, "refund"):
        return False
    if role == "owner":
        return True
    return amount.currency == REFUND_LIMIT_CURRENCY and 0 < amount.minor <= (refund_limit or 0)


def step_after_password(role: str, has_second_factor: bool) -> SignInStep:
    """What a sign-in asks once the password is right: to verify a second factor (a code or a passkey), to set one
    up (mandatory for an owner), or nothing more."""
    if has_second_factor:
        return "verify"
    return "enrol" if role == "owner" else "done"


def needs_second_factor_again(second_factor_at: datetime | None, now: datetime) -> bool:
    """Whether a sensitive act must ask for the second factor again: none was given in this session, or the last
    one is older than ``REAUTHENTICATION``."""
    return second_factor_at is None or now - second_factor_at > REAUTHENTICATION


def may_change_second_factors(has_second_factor: bool, second_factor_at: datetime | None, now: datetime) -> bool:
    """Whether a session may add, replace or remove a second factor: the user has none yet (there is nothing to
    prove with), or gave one less than ``REAUTHENTICATION`` ago. Otherwise whoever took over a session left open
    could swap in a factor of their own, or take the owner's away."""
    return not has_second_factor or not needs_second_factor_again(second_factor_at, now)


def second_factor_removal_refusal(role: str, factors_left: int) -> str | None:
    """Why removing a second factor is refused, or None: an owner keeps at least one (``factors_left``: how many the
    user would still have, its authenticator app and passkeys counted)."""
    if role == "owner" and factors_left < 1:
        return (
            "an owner keeps at least one second factor: add a passkey or an authenticator app before removing "
            "the last one"
        )
    return None


def team_change_refusal(owners: int, current_role: str, new_role: str | None) -> str | None:
    """Why a change of a user's role (``new_role``; None: the user is removed) is refused, or None: the merchant's
    only owner can be neither removed nor demoted, or nobody would be left to manage the merchant."""
    leaves_the_owners = current_role == "owner" and new_role != "owner"
    if leaves_the_owners and owners <= 1:
        return "the merchant's last owner can be neither removed nor given another role: make someone else owner first"
    return None
