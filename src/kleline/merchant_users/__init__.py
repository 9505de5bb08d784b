"""Merchant users: the people of a merchant who sign in to its dashboard, their roles, invitations and audit trail.

A package of its own, beside ``payments`` in the layers, because it builds on both ``merchants`` (whose users they
are) and ``wallet`` (whose password rules, lockout, sealing and TOTP functions it reuses, so that customers and
merchant users are held to the same rules), which may not import each other.

Public surface:

- ``model``: the roles and the permission table (``can``), the refund rule (``may_refund``), the sign-in steps and
  the re-authentication rule (``needs_second_factor_again``), the values (``MerchantUser``, ``Invitation``,
  ``AuditRecord``);
- ``MerchantUsers`` (``team``): invite, accept, list, change roles, remove, withdraw, read and append the trail;
- ``MerchantSignIn`` (``sign_in``): the dashboard's sessions (``DashboardSession``), password then second factor,
  authenticators, re-authentication;
- ``BankAccountChanges`` (``bank_changes``): a new bank account asked for by an owner, approved or rejected by an
  operator, announced to every owner;
- ``MerchantJoining`` (``joining``): the join form's use case, a shop's application and its first owner at once;
- ``MerchantPasskeys`` (``passkeys``): a user's passkeys, and signing in or confirming it is them with one;
- ``MerchantSecurity`` (``security``): a user's own authenticator app, password, sessions and last sign-ins;
- ``Actor`` (``audit``): who acts, and from where;
- the errors of ``errors``.
"""

from kleline.merchant_users.audit import Actor
from kleline.merchant_users.bank_changes import (
    BANK_CHANGE_EVENTS,
    BankAccountChanges,
    BankAccountState,
    bank_change_problems,
    change_json,
    check_reason,
)
from kleline.merchant_users.errors import (
    AlreadyAMember,
    BankChangeDecided,
    BankChangePending,
    InvalidBankChange,
    InvalidMerchantUser,
    InvitationUnusable,
    LastOwner,
    LastSecondFactor,
    NoAuthenticator,
    NotAllowed,
    SecondFactorRequired,
    SignInStepMissing,
    UnknownBankChange,
    UnknownMerchantUser,
)
from kleline.merchant_users.joining import JOINING_REQUIRES, Joined, MerchantJoining
from kleline.merchant_users.model import (
    ACTIONS,
    PERMISSIONS,
    REAUTHENTICATION,
    ROLES,
    Action,
    AuditRecord,
    BankAccountChange,
    BankChangeStatus,
    Invitation,
    MerchantPasskey,
    MerchantUser,
    Role,
    can,
    may_change_second_factors,
    may_refund,
    needs_second_factor_again,
)
from kleline.merchant_users.passkeys import MerchantPasskeys
from kleline.merchant_users.security import MerchantSecurity, password_change_problems
from kleline.merchant_users.sign_in import DashboardSession, MerchantSignIn
from kleline.merchant_users.team import MerchantUsers, NewInvitation, acceptance_problems, invitation_problems

__all__ = [
    "ACTIONS",
    "BANK_CHANGE_EVENTS",
    "JOINING_REQUIRES",
    "PERMISSIONS",
    "REAUTHENTICATION",
    "ROLES",
    "Action",
    "Actor",
    "AlreadyAMember",
    "AuditRecord",
    "BankAccountChange",
    "BankAccountChanges",
    "BankAccountState",
    "BankChangeDecided",
    "BankChangePending",
    "BankChangeStatus",
    "DashboardSession",
    "InvalidBankChange",
    "InvalidMerchantUser",
    "Invitation",
    "InvitationUnusable",
    "Joined",
    "LastOwner",
    "MerchantJoining",
    "LastSecondFactor",
    "MerchantPasskey",
    "MerchantPasskeys",
    "MerchantSecurity",
    "MerchantSignIn",
    "MerchantUser",
    "MerchantUsers",
    "NewInvitation",
    "NoAuthenticator",
    "NotAllowed",
    "Role",
    "SecondFactorRequired",
    "SignInStepMissing",
    "UnknownBankChange",
    "UnknownMerchantUser",
    "acceptance_problems",
    "bank_change_problems",
    "can",
    "change_json",
    "check_reason",
    "invitation_problems",
    "may_change_second_factors",
    "may_refund",
    "needs_second_factor_again",
    "password_change_problems",
]
