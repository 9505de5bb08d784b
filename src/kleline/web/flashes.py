"""The one-time confirmation a page shows after a form succeeded ("Your card was added"), as post/redirect/get
allows: the post answers with a redirect and leaves a note in a short-lived cookie, and the next page shows it once.

The note names only what happened and, where it needs one, an object's id (``card_added:card_...``), never text to
show: the page words it in its language, and only from objects the visitor may see (a card of the signed-in
customer's own wallet), so that a planted cookie can neither inject text nor reveal anyone else's card.
"""

from __future__ import annotations

import re
from typing import Final

from starlette.requests import Request
from starlette.responses import Response

from kleline.errors import NotFound
from kleline.web.i18n import N_, language_of
from kleline.web.sessions import FLASH_COOKIE
from kleline.web.visits import Visit, web_of

__all__ = [
    "AUTHENTICATOR_READY",
    "BANK_ACCOUNT_ADDED",
    "BANK_ACCOUNT_REMOVED",
    "CARD_ADDED",
    "CARD_REMOVED",
    "CONSENT_GRANTED",
    "CONSENT_WITHDRAWN",
    "DEBT_REPAID",
    "PASSKEY_ADDED",
    "PASSKEY_REMOVED",
    "PASSWORD_CHANGED",
    "SIGNED_OUT",
    "SIGNED_OUT_EVERYWHERE",
    "TOPPED_UP",
    "WALLET_ERASED",
    "WALLET_OPENED",
    "announcement",
    "leave",
]

CARD_ADDED: Final = "card_added"
WALLET_OPENED: Final = "wallet_opened"
SIGNED_OUT: Final = "signed_out"
# The wallet's pages (kleline.web.wallet, wallet_forms, top_up).
CARD_REMOVED: Final = "card_removed"
BANK_ACCOUNT_ADDED: Final = "bank_account_added"
BANK_ACCOUNT_REMOVED: Final = "bank_account_removed"
TOPPED_UP: Final = "topped_up"
DEBT_REPAID: Final = "debt_repaid"
# The security page's notes (kleline.web.security).
AUTHENTICATOR_READY: Final = "authenticator_ready"
PASSKEY_ADDED: Final = "passkey_added"
PASSKEY_REMOVED: Final = "passkey_removed"
PASSWORD_CHANGED: Final = "password_changed"
SIGNED_OUT_EVERYWHERE: Final = "signed_out_everywhere"
WALLET_ERASED: Final = "wallet_erased"
# The privacy page's notes (kleline.web.privacy).
CONSENT_GRANTED: Final = "consent_granted"
CONSENT_WITHDRAWN: Final = "consent_withdrawn"
_PLAIN_NOTES: Final = {
    CONSENT_GRANTED: N_("Your consent is recorded. You can withdraw it here at any time."),
    CONSENT_WITHDRAWN: N_("Your consent is withdrawn: it no longer applies, from now on."),
    AUTHENTICATOR_READY: N_("Your authenticator app is set up: its codes now confirm your payments."),
    PASSKEY_REMOVED: N_("The passkey was removed from your wallet."),
    PASSWORD_CHANGED: N_("Your password was changed, and every other session of your wallet was signed out."),
}
_KINDS: Final = (
    CARD_ADDED,
    WALLET_OPENED,
    SIGNED_OUT,
    CARD_REMOVED,
    BANK_ACCOUNT_ADDED,
    BANK_ACCOUNT_REMOVED,
    TOPPED_UP,
    DEBT_REPAID,
    AUTHENTICATOR_READY,
    PASSKEY_ADDED,
    PASSKEY_REMOVED,
    PASSWORD_CHANGED,
    SIGNED_OUT_EVERYWHERE,
    CONSENT_GRANTED,
    CONSENT_WITHDRAWN,
    WALLET_ERASED,
)
_NOTE: Final = re.compile(rf"({'|'.join(_KINDS)})(?::([A-Za-z0-9_]{{1,64}}))?")


def leave(request: Request, response: Response, kind: str, object_id: str = "") -> Response:
    """Have the next page confirm ``kind`` (about ``object_id``); ``response`` is the redirect to it."""
    web_of(request).cookies.flash(response, f"{kind}:{object_id}" if object_id else kind)
    return response


def announcement(request: Request, visit: Visit | None) -> str | None:
    """The confirmation the page shows this visit, in its language, or None (no note, or not this visitor's)."""
    found = _NOTE.fullmatch(request.cookies.get(FLASH_COOKIE, ""))
    if found is None or request.method != "GET" or visit is None:
        return None
    kind, object_id = found.group(1), found.group(2)
    _ = language_of(request).gettext
    customer = visit.customer
    if kind == SIGNED_OUT:
        return _("You are signed out.") if customer is None else None
    if kind == SIGNED_OUT_EVERYWHERE:
        return (
            _("Your wallet is signed out everywhere: on every device, and for every app.") if customer is None else None
        )
    if kind == WALLET_ERASED:
        return (
            _("Your wallet is closed and you are signed out. Your data is locked away and will be destroyed.")
            if customer is None
            else None
        )
    if customer is None:
        return None
    if kind in _PLAIN_NOTES:
        return _(_PLAIN_NOTES[kind])
    if kind == PASSKEY_ADDED:
        added = [p for p in web_of(request).kleline.passkeys.list(customer.id) if p.id == object_id]
        return (
            _("Your passkey “%(name)s” was added: use it to sign in and to confirm payments.") % {"name": added[0].name}
            if added
            else None
        )
    if kind == WALLET_OPENED:
        return _("Your wallet is open. Welcome, %(name)s!") % {"name": customer.name}
    if kind in _WALLET_NOTES:
        return _wallet_note(request, customer.id, kind, object_id)
    if object_id is None:
        return None
    try:
        card = web_of(request).kleline.cards.get(customer.id, object_id)
    except NotFound:
        return None
    if request.url.path.startswith("/wallet"):
        message = _("Your %(brand)s card ending %(last4)s was added to your wallet.")
    else:
        message = _("Your %(brand)s card ending %(last4)s was added to your wallet, and is chosen to pay.")
    return message % {"brand": card.brand.capitalize(), "last4": card.last4}


_WALLET_NOTES: Final = frozenset({CARD_REMOVED, BANK_ACCOUNT_ADDED, BANK_ACCOUNT_REMOVED, TOPPED_UP, DEBT_REPAID})


def _wallet_note(request: Request, customer_id: str, kind: str, object_id: str | None) -> str | None:
    """The wallet's confirmations, each read from the customer's own objects."""
    language = language_of(request)
    _ = language.gettext
    kleline = web_of(request).kleline
    if kind == CARD_REMOVED:
        return _("The card was removed from your wallet.")
    if kind == BANK_ACCOUNT_REMOVED:
        return _("The bank account was removed and its direct debit mandate revoked.")
    if kind == DEBT_REPAID:
        owed = kleline.collections.debts.owed(customer_id)
        if owed.minor == 0:
            return _("Your debt is repaid: top-ups by direct debit work again.")
        return _("Part of your debt was repaid from your purse: you still owe %(amount)s.") % {
            "amount": language.money(owed)
        }
    if object_id is None:
        return None
    try:
        if kind == BANK_ACCOUNT_ADDED:
            account = kleline.collections.bank_accounts.get(customer_id, object_id)
            message = _("Your bank account %(iban)s was added, and its direct debit mandate %(mandate)s is signed.")
            shown = f"{account.masked_iban[:4]}\u00a0••••\u00a0{account.masked_iban[-4:]}"
            return message % {"iban": shown, "mandate": account.mandate_id}
        top_up = kleline.top_ups.get(customer_id, object_id)
    except NotFound:
        return None
    if top_up.status != "succeeded":
        return None
    if top_up.bank_account_id is not None:
        message = _("%(amount)s was added to your purse. Your bank account will be debited in the next few days.")
    else:
        message = _("%(amount)s was added to your purse from your card.")
    return message % {"amount": language.money(top_up.amount)}
