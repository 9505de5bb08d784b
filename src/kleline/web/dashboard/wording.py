"""How the dashboard words things: its people's refusals, roles, audit actions, and its one-time notes.

Refusals the shopper's pages already word (a wrong email or password, a wrong code with the attempts left, too many
attempts) keep that wording (``kleline.web.refusals.page_error``), so that both kinds of people read the same
sentence; the dashboard's own codes, and the few that must speak of an account rather than a wallet, are worded
here, in every language (the services' English sentences name roles and ids for developers).

The one-time notes follow ``kleline.web.flashes``: a post answers with a redirect and leaves the note's kind in the
short-lived cookie, never text, and the next dashboard page words it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from starlette.requests import Request
from starlette.responses import Response

from kleline.errors import KlelineError
from kleline.merchant_users import InvitationUnusable
from kleline.wallet.sca import CodeInvalid
from kleline.web.i18n import ENGLISH, N_, Language, language_of
from kleline.web.refusals import PageError, page_error
from kleline.web.sessions import FLASH_COOKIE
from kleline.web.visits import web_of

__all__ = [
    "ACTION_NAMES",
    "CATEGORY_NAMES",
    "NOTES",
    "ROLE_NAMES",
    "STATUS_NAMES",
    "ROLE_DUTIES",
    "SIGN_IN_METHODS",
    "dashboard_error",
    "invitation_problem",
    "leave_note",
    "note_of",
]

ROLE_NAMES: Final = {
    "owner": N_("Owner"),
    "accountant": N_("Accountant"),
    "support": N_("Support"),
}
ROLE_DUTIES: Final = {
    "owner": N_("everything: sales, refunds, statements, keys, settings, and the team"),
    "accountant": N_("sales, statements and exports, read only"),
    "support": N_("sales, and refunds up to a limit an owner sets"),
}
STATUS_NAMES: Final = {
    "pending": N_("Awaiting approval"),
    "active": N_("Active"),
    "suspended": N_("Suspended"),
    "refused": N_("Refused"),
}
CATEGORY_NAMES: Final = {
    "books": N_("Books"),
    "clothing": N_("Clothing and shoes"),
    "beauty": N_("Beauty and health"),
    "electronics": N_("Electronics and computers"),
    "grocery": N_("Food and drink"),
    "hardware": N_("Tools and garden"),
    "home": N_("Home and furniture"),
    "music": N_("Music, films and games"),
    "sports": N_("Sports and outdoors"),
    "stationery": N_("Stationery and arts"),
    "toys": N_("Toys and children"),
    "services": N_("Services"),
    "other": N_("Something else"),
}
"""The join form's categories (``kleline.merchants.CATEGORIES``) as people read them."""
ACTION_NAMES: Final = {
    "merchant_joined": N_("Sent the shop's application to join Kleline"),
    "signed_in": N_("Signed in"),
    "signed_out": N_("Signed out"),
    "second_factor_confirmed": N_("Confirmed it was them"),
    "authenticator_set_up": N_("Set up an authenticator app"),
    "authenticator_replaced": N_("Replaced their authenticator app"),
    "authenticator_removed": N_("Removed their authenticator app"),
    "passkey_added": N_("Added a passkey"),
    "passkey_removed": N_("Removed a passkey"),
    "password_changed": N_("Changed their password"),
    "signed_out_everywhere": N_("Signed out everywhere"),
    "invitation_created": N_("Invited a person"),
    "invitation_withdrawn": N_("Withdrew an invitation"),
    "invitation_accepted": N_("Accepted an invitation"),
    "user_role_changed": N_("Changed a user's role"),
    "user_removed": N_("Removed a user"),
    "api_key_created": N_("Created an API key"),
    "api_key_revoked": N_("Revoked an API key"),
    "webhook_endpoint_added": N_("Added a webhook endpoint"),
    "webhook_endpoint_disabled": N_("Disabled a webhook endpoint"),
    "webhook_endpoint_enabled": N_("Enabled a webhook endpoint"),
    "webhook_secret_rotated": N_("Gave a webhook endpoint a new signing secret"),
    "webhook_test_sent": N_("Sent a test event"),
    "webhook_delivery_resent": N_("Sent an event again"),
    "statement_downloaded": N_("Downloaded a statement"),
    "payment_captured": N_("Captured a payment"),
    "payment_canceled": N_("Canceled a payment"),
    "refund_created": N_("Refunded a payment"),
    "payments_exported": N_("Exported payments as CSV"),
    "bank_account_change_requested": N_("Asked for a new bank account"),
    "bank_account_change_withdrawn": N_("Withdrew a bank account change"),
    "bank_account_changed": N_("Approved the new bank account"),
    "bank_account_change_rejected": N_("Rejected the new bank account"),
    "profile_changed": N_("Changed the shop's public profile"),
    "audience_estimated": N_("Estimated an audience"),
    "offer_sent": N_("Sent an offer"),
}

SIGN_IN_METHODS: Final = {
    "password": N_("with the password alone"),
    "authenticator": N_("with a code from the authenticator app"),
    "passkey": N_("with a passkey"),
}
"""How a person signed in or confirmed it was them (the audit trail's ``detail.method``)."""

_MESSAGES: Final[dict[tuple[str, str | None], str]] = {
    ("permission_denied", None): N_("Your role in this shop does not allow this. Ask an owner."),
    ("last_owner", None): N_(
        "The shop's last owner can be neither removed nor given another role: make someone else owner first"
    ),
    ("already_a_member", None): N_("This email address already has a Kleline dashboard account"),
    ("not_found", None): N_("There is no such person or invitation in your team"),
    ("sign_in_required", None): N_("Your sign-in has expired: sign in again"),
    ("sca_blocked", None): N_("Too many wrong codes: signing in is locked for a while. Try again later"),
    ("sca_already_enrolled", None): N_("An authenticator app is already set up for your account"),
    # The security page (kleline.web.dashboard.security) and the passkeys' posts.
    ("last_second_factor", None): N_(
        "As an owner, you keep at least one way to confirm it is you: add a passkey or an authenticator app before "
        "removing this one"
    ),
    ("second_factor_required", None): N_("Confirm it is you first: your last confirmation was over 15 minutes ago"),
    ("passkey_not_found", None): N_("There is no such passkey in your account"),
    ("authenticator_not_found", None): N_("No authenticator app is set up for your account"),
    ("validation_error", "passkeys"): N_("Your account holds 10 passkeys, the most it may: remove one first"),
    ("validation_error", "current_password"): N_("Enter your current password"),
    ("validation_error", "new_password_again"): N_("The two new passwords differ: type the same one twice"),
    ("validation_error", "name"): N_("Enter your name (1 to 200 characters)"),
    ("validation_error", "email"): N_("Enter a valid email address, such as name@example.org"),
    ("validation_error", "role"): N_("Choose a role: owner, accountant or support"),
    ("validation_error", "refund_limit"): N_(
        "Enter a refund limit in euros from 0 to 1,000,000, only for the support role (for example 50.00)"
    ),
}
_INVITATIONS: Final = {
    "unknown": N_("This invitation link does not work: check that it was copied whole, or ask for a new one."),
    "accepted": N_("This invitation was already accepted: sign in with its email address and your password."),
    "withdrawn": N_("This invitation was withdrawn by the shop: ask an owner for a new one."),
    "expired": N_("This invitation has expired (they last 72 hours): ask an owner for a new one."),
}


def dashboard_error(
    error: KlelineError, fields: Mapping[str, str] | None = None, language: Language = ENGLISH
) -> PageError:
    """A service's refusal as a dashboard page shows it, in ``language``; ``fields`` maps a ``param`` to the form's
    input."""
    field = fields.get(error.param) if (fields is not None and error.param is not None) else None
    if isinstance(error, InvitationUnusable):
        return PageError(language.gettext(_INVITATIONS[error.reason]), error.code, field)
    if not isinstance(error, CodeInvalid):
        wording = _MESSAGES.get((error.code, error.param)) or _MESSAGES.get((error.code, None))
        if wording is not None:
            return PageError(language.gettext(wording), error.code, field)
    return page_error(error, fields, language)


def invitation_problem(error: InvitationUnusable, language: Language) -> str:
    """Why an invitation link does not work, in ``language``."""
    return language.gettext(_INVITATIONS[error.reason])


NOTES: Final = {
    "dashboard_signed_out": N_("You are signed out of the dashboard."),
    "dashboard_application_sent": N_(
        "Your shop's application is sent: Kleline will check it. Set up your authenticator app now to reach your "
        "dashboard, where you will see where it stands."
    ),
    "dashboard_account_ready": N_("Welcome to the team: your account is ready, and you are signed in."),
    "dashboard_account_ready_set_up": N_(
        "Your account is ready. As an owner, set up your authenticator app now to reach the dashboard."
    ),
    "dashboard_authenticator_ready": N_("Your authenticator app is set up: its codes now confirm it is you."),
    "dashboard_authenticator_replaced": N_("Your new authenticator app is set up: the old one's codes no longer work."),
    "dashboard_authenticator_removed": N_("Your authenticator app was removed: its codes no longer work."),
    "dashboard_passkey_ready": N_("Your passkey is added: it now confirms it is you."),
    "dashboard_passkey_added": N_("Your passkey was added."),
    "dashboard_passkey_removed": N_("The passkey was removed: it no longer signs you in."),
    "dashboard_password_changed": N_("Your password was changed: your other sessions have ended."),
    "dashboard_signed_out_everywhere": N_("You are signed out everywhere: sign in again to go on."),
    "dashboard_role_changed": N_("The role was changed."),
    "dashboard_user_removed": N_("The person was removed from the team: their sessions have ended."),
    "dashboard_invitation_withdrawn": N_("The invitation was withdrawn: its link no longer works."),
    "dashboard_key_already_created": N_(
        "That form was already sent: its key was created then, and its secret shown that once. If you did not "
        "keep it, revoke the key and create another."
    ),
    "dashboard_endpoint_already_added": N_(
        "That form was already sent: the endpoint was added then, and its signing secret shown that once. If you "
        "did not keep it, make a new signing secret below."
    ),
    "dashboard_key_revoked": N_("The API key was revoked: requests signed with it are now refused."),
    "dashboard_endpoint_disabled": N_("The endpoint was disabled: nothing is sent to it until you enable it again."),
    "dashboard_endpoint_enabled": N_("The endpoint was enabled: the next events are sent to it."),
    "dashboard_test_sent": N_("A test event is on its way: its delivery appears below within a minute."),
    "dashboard_event_resent": N_("The event will be sent again within a minute, to every enabled endpoint."),
    # The payment's page (kleline.web.dashboard.payments).
    "dashboard_refunded": N_("The refund is made: the customer has the money back."),
    "dashboard_refund_pending": N_("The refund was sent to the card's bank: it shows here once the bank confirms it."),
    "dashboard_refund_failed": N_(
        "The refund could not be made: your shop's balance does not cover it. Nothing left your balance."
    ),
    "dashboard_captured": N_("The payment is captured: the money is yours, less the commission."),
    "dashboard_canceled": N_("The payment is canceled: the authorisation was released to the customer."),
    "dashboard_bank_change_withdrawn": N_("The bank account change was withdrawn: your shop keeps its account."),
    "dashboard_profile_saved": N_("Your shop's public profile was saved: the malls' pages show it now."),
}


_SIGNED_OUT_NOTES: Final = frozenset(
    {
        "dashboard_signed_out",
        "dashboard_account_ready_set_up",
        "dashboard_signed_out_everywhere",
        "dashboard_application_sent",
    }
)


def leave_note(request: Request, response: Response, kind: str) -> Response:
    """Have the next dashboard page confirm ``kind`` (one of ``NOTES``); ``response`` is the redirect to it."""
    assert kind in NOTES
    web_of(request).cookies.flash(response, kind)
    return response


def note_of(request: Request, *, signed_in: bool) -> str | None:
    """The note the page shows this visit, in its language, or None; the sign-out's only to a signed-out visitor,
    the others only to a signed-in one (except those for an owner on the page where it sets up an authenticator:
    the application's and the new account's)."""
    kind = request.cookies.get(FLASH_COOKIE, "")
    if kind not in NOTES or request.method != "GET":
        return None
    if (kind in _SIGNED_OUT_NOTES) == signed_in:
        return None
    return language_of(request).gettext(NOTES[kind])
