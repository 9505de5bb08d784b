"""How the console words things: roles, powers, its people's refusals, audit actions, and its one-time notes.

Refusals the shopper's and the dashboard's pages already word (a wrong email or password, a wrong code with the
attempts left, too many attempts) keep that wording (``kleline.web.refusals.page_error``), so that everyone reads the
same sentence; the console's own codes are worded here, in every language (the services' English sentences name ids
for developers).

The one-time notes follow ``kleline.web.flashes``: a post answers with a redirect and leaves the note's kind in the
short-lived cookie, never text, and the next console page words it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from starlette.requests import Request
from starlette.responses import Response

from kleline.errors import KlelineError
from kleline.staff.roles import Power, Role
from kleline.staff_users import StaffInvitationUnusable, UnknownStaffUser
from kleline.wallet.sca import CodeInvalid
from kleline.web.i18n import ENGLISH, N_, Language, language_of
from kleline.web.refusals import PageError, page_error
from kleline.web.sessions import FLASH_COOKIE
from kleline.web.visits import web_of

__all__ = [
    "NOTES",
    "POWER_NAMES",
    "ROLE_DUTIES",
    "ROLE_NAMES",
    "console_error",
    "invitation_problem",
    "leave_note",
    "note_of",
]

ROLE_NAMES: Final[Mapping[Role, str]] = {
    Role.ADMIN: N_("Admin"),
    Role.COMPLIANCE: N_("Compliance"),
    Role.FINANCE: N_("Finance"),
    Role.SUPPORT: N_("Support"),
}
ROLE_DUTIES: Final[Mapping[Role, str]] = {
    Role.ADMIN: N_("Kleline's staff and settings, and reading everything"),
    Role.COMPLIANCE: N_("merchants' approval and suspension, customers' verification, and reading everything"),
    Role.FINANCE: N_("settlements, collections, statements, suspense, receivables and exports, and reading everything"),
    Role.SUPPORT: N_("reading customers, merchants and payments; no money movement"),
}
POWER_NAMES: Final[Mapping[Power, str]] = {
    Power.READ: N_("Read customers, merchants, payments, the books and the audit trail"),
    Power.MANAGE_STAFF: N_("Manage the staff"),
    Power.MANAGE_SETTINGS: N_("Manage malls and Kleline's settings"),
    Power.DECIDE_MERCHANTS: N_("Approve, refuse and suspend merchants"),
    Power.VERIFY_CUSTOMERS: N_("Change a customer's verification level"),
    Power.RUN_MONEY: N_("Run settlements and collections, import bank statements"),
    Power.RESOLVE_SUSPENSE: N_("Resolve suspense lines"),
    Power.MANAGE_RECEIVABLES: N_("Write receivables off"),
    Power.EXPORT: N_("Download the books' exports"),
}

_MESSAGES: Final[dict[tuple[str, str | None], str]] = {
    ("forbidden", None): N_("Your role does not allow this. Ask an admin."),
    ("already_staff", None): N_("This email address already belongs to a member of Kleline's staff"),
    ("last_admin", None): N_(
        "The staff's last admin can be neither disabled nor given another role: make someone else admin first"
    ),
    ("staff_user_disabled", None): N_("This person is disabled already"),
    ("last_second_factor", None): N_(
        "This is your only second factor: add another passkey or keep your authenticator app before removing it"
    ),
    ("second_factor_stale", None): N_(
        "To change your second factors, sign in again: your last sign-in was more than 15 minutes ago"
    ),
    ("validation_error", "passkeys"): N_("Your account holds 10 passkeys, the most it may: remove one first"),
    ("passkey_not_found", None): N_("This passkey is not one of yours, or was removed already"),
    ("passkey_already_registered", None): N_("This passkey is already registered"),
    ("not_found", None): N_("There is nothing at this address: check the link, or go back to the list"),
    ("sign_in_required", None): N_("Your sign-in has expired: sign in again"),
    ("sca_blocked", None): N_("Too many wrong codes: signing in is locked for a while. Try again later"),
    ("sca_already_enrolled", None): N_("An authenticator app is already set up for your account"),
    ("no_file", None): N_("This run found nothing to collect: it has no file"),
    ("collection_run_open", None): N_(
        "A crash interrupted this run before its file was written: start a collection run to finish it, then "
        "download the file"
    ),
    ("nothing_owed", None): N_("This customer owes nothing now: there is no debt to write off"),
    ("amount_exceeds_debt", None): N_("The amount is more than the customer owes: enter at most the debt"),
    ("validation_error", "email"): N_("Enter a valid email address, such as name@example.org"),
    ("validation_error", "role"): N_("Choose a role: admin, compliance, finance or support"),
    ("validation_error", "current_password"): N_("Enter your current password"),
    ("validation_error", "new_password_again"): N_("The two new passwords differ: type the same one twice"),
}
_NO_SUCH_STAFF: Final = N_("There is no such person or invitation on the staff")
_INVITATIONS: Final = {
    "unknown": N_("This invitation link does not work: check that it was copied whole, or ask an admin for a new one."),
    "accepted": N_("This invitation was already accepted: sign in with its email address and your password."),
    "withdrawn": N_("This invitation was withdrawn: ask an admin for a new one."),
    "expired": N_("This invitation has expired (they last 72 hours): ask an admin for a new one."),
}


def console_error(
    error: KlelineError, fields: Mapping[str, str] | None = None, language: Language = ENGLISH
) -> PageError:
    """A service's refusal as a console page shows it, in ``language``; ``fields`` maps a ``param`` to the form's
    input."""
    field = fields.get(error.param) if (fields is not None and error.param is not None) else None
    if isinstance(error, StaffInvitationUnusable):
        return PageError(language.gettext(_INVITATIONS[error.reason]), error.code, field)
    if isinstance(error, UnknownStaffUser):
        return PageError(language.gettext(_NO_SUCH_STAFF), error.code, field)
    if not isinstance(error, CodeInvalid):
        wording = _MESSAGES.get((error.code, error.param)) or _MESSAGES.get((error.code, None))
        if wording is not None:
            return PageError(language.gettext(wording), error.code, field)
    return page_error(error, fields, language)


def invitation_problem(error: StaffInvitationUnusable, language: Language) -> str:
    """Why an invitation link does not work, in ``language``."""
    return language.gettext(_INVITATIONS[error.reason])


NOTES: Final = {
    "console_signed_out": N_("You are signed out of the console."),
    "console_authenticator_ready": N_("Your authenticator app is set up: its codes now confirm it is you."),
    "console_passkey_ready": N_("Your passkey is set up: it now confirms it is you when you sign in."),
    "console_passkey_added": N_("The passkey was added: you may use it the next time you sign in."),
    "console_passkey_removed": N_("The passkey was removed: it no longer signs you in."),
    "console_authenticator_replaced": N_("Your new authenticator app is set up: the old one's codes no longer work."),
    "console_password_changed": N_("Your password was changed: your other sessions have ended."),
    "console_signed_out_everywhere": N_("You are signed out everywhere: sign in again to go on."),
    "console_role_changed": N_("The role was changed: it counts from the person's next page."),
    "console_disabled": N_("The person was disabled: their sessions have ended and they can no longer sign in."),
    "console_invitation_withdrawn": N_("The invitation was withdrawn: its link no longer works."),
    "console_merchant_approved": N_("The merchant was approved: it may take payments now."),
    "console_merchant_refused": N_("The application was refused: the merchant reads the reason on its dashboard."),
    "console_merchant_suspended": N_("The merchant was suspended: it takes no payment until reactivated."),
    "console_merchant_reactivated": N_("The merchant was reactivated: it may take payments again."),
    "console_run_started": N_("Today's settlement run is done: its payouts and its file are below."),
    "console_resolution_proposed": N_("Your resolution is proposed: it applies once a second person approves it."),
    "console_proposal_approved": N_("The proposal is approved: its resolution applied."),
    "console_proposal_rejected": N_("The proposal is rejected: it will never apply."),
    "console_statement_imported": N_("The statement is imported: each line below is matched or held in suspense."),
    "console_statement_again": N_("This statement was imported before: nothing changed."),
    "console_proposal_withdrawn": N_("Your proposal is withdrawn: it will never apply."),
    "console_collection_run_done": N_("The collection run is done: its collections and its file are below."),
    "console_write_off_proposed": N_("The write-off is proposed: nothing moves until a second person approves it."),
    "console_integrity_checked": N_("The integrity check ran: its result is below."),
    "console_rate_proposed": N_("The new commission rate is proposed: it applies once a second person approves it."),
    "console_bank_change_proposed": N_(
        "The new bank account is proposed: the merchant's payouts go there once a second person approves it."
    ),
    "console_bank_change_rejected": N_(
        "The new bank account was rejected: the merchant keeps its account, and its owners are told why."
    ),
    "console_intro_rate_proposed": N_(
        "The new introduction fee rate is proposed: it applies once a second person approves it."
    ),
    "console_level_set": N_("The verification level is set: the audit trail keeps your reason."),
    "console_level_unchanged": N_(
        "The customer was already at this level: nothing changed, and the audit trail records nothing."
    ),
}
_SIGNED_OUT_NOTES: Final = frozenset({"console_signed_out", "console_signed_out_everywhere"})


def leave_note(request: Request, response: Response, kind: str) -> Response:
    """Have the next console page confirm ``kind`` (one of ``NOTES``); ``response`` is the redirect to it."""
    assert kind in NOTES
    web_of(request).cookies.flash(response, kind)
    return response


def note_of(request: Request, *, signed_in: bool) -> str | None:
    """The note the page shows this visit, in its language, or None: the sign-outs' only to a signed-out visitor,
    the others only to a signed-in one."""
    kind = request.cookies.get(FLASH_COOKIE, "")
    if kind not in NOTES or request.method != "GET":
        return None
    if (kind in _SIGNED_OUT_NOTES) == signed_in:
        return None
    return language_of(request).gettext(NOTES[kind])
