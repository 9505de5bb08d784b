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
- ``MerchantPasskeys`` (``passkeys``): a user's passkeys, and signing in or confirming it is them with one;
- ``MerchantSecurity`` (``security``): a user's own authenticator app, password, sessions and last sign-ins;
- ``Actor`` (``audit``): who acts, and from where;
- the errors of ``errors``.
"""

from kleline.merchant_users.audit import Actor
from kleline.merchant_users.errors import (
    AlreadyAMember,
    InvalidMerchantUser,
    InvitationUnusable,
    LastOwner,
    LastSecondFactor,
    NoAuthenticator,
    NotAllowed,
    SecondFactorRequired,
    SignInStepMissing,
    UnknownMerchantUser,
)
from kleline.merchant_users.model import (
    ACTIONS,
    PERMISSIONS,
    REAUTHENTICATION,
    ROLES,
    Action,
    AuditRecord,
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
    "PERMISSIONS",
    "REAUTHENTICATION",
    "ROLES",
    "Action",
    "Actor",
    "AlreadyAMember",
    "AuditRecord",
    "DashboardSession",
    "InvalidMerchantUser",
    "Invitation",
    "InvitationUnusable",
    "LastOwner",
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
    "UnknownMerchantUser",
    "acceptance_problems",
    "can",
    "invitation_problems",
    "may_change_second_factors",
    "may_refund",
    "needs_second_factor_again",
    "password_change_problems",
]
