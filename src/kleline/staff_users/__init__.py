"""Kleline's staff users: the people who sign in to the operator console (``/console``), their invitations, their
sessions and their own security.

A package of its own beside ``merchant_users`` in the layers: it builds on ``kleline.staff`` (roles and powers, the
acting ``StaffActor``, the append-only audit trail every act is written to) and on ``kleline.identity`` (the password
step, lockout, authenticator apps and sessions every kind of back-office person shares).

Public surface:

- ``model``: ``StaffUser``, ``StaffInvitation``, the mandatory second factor (``step_after_password``), the last
  admin rule (``admin_change_refusal``);
- ``StaffTeam`` (``team``): invite (an admin, or the command line for the first admin), accept, list, change a
  role, disable, withdraw an invitation;
- ``StaffSignIn`` (``sign_in``): the console's sessions (``ConsoleSession``), the password then the authenticator
  app's code (or setting one up), sign-out;
- ``StaffSecurity`` (``security``): a person's authenticator replaced, password, sessions and last sign-ins;
- the errors of ``errors``.

- ``StaffPasskeys`` (``passkeys``): a person's passkeys (on ``kleline.identity.passkeys``, shared with the merchant
  users), registered as a first second factor or beside the app, and given at the sign-in's second step;
"""

from kleline.staff_users.errors import (
    AlreadyStaff,
    ConsoleStepMissing,
    InvalidStaffUser,
    LastAdmin,
    LastSecondFactor,
    SecondFactorStale,
    StaffInvitationUnusable,
    StaffUserDisabled,
    UnknownStaffUser,
)
from kleline.staff_users.model import StaffInvitation, StaffUser, admin_change_refusal, step_after_password
from kleline.staff_users.passkeys import StaffPasskeys
from kleline.staff_users.security import StaffSecurity, password_change_problems
from kleline.staff_users.sessions import ConsoleSession
from kleline.staff_users.sign_in import StaffSignIn
from kleline.staff_users.team import NewStaffInvitation, StaffTeam, acceptance_problems, invitation_problems

__all__ = [
    "AlreadyStaff",
    "ConsoleSession",
    "ConsoleStepMissing",
    "InvalidStaffUser",
    "LastAdmin",
    "LastSecondFactor",
    "NewStaffInvitation",
    "StaffInvitation",
    "SecondFactorStale",
    "StaffInvitationUnusable",
    "StaffPasskeys",
    "StaffSecurity",
    "StaffSignIn",
    "StaffTeam",
    "StaffUser",
    "StaffUserDisabled",
    "UnknownStaffUser",
    "acceptance_problems",
    "admin_change_refusal",
    "invitation_problems",
    "password_change_problems",
    "step_after_password",
]
