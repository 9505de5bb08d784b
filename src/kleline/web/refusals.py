"""A service's refusal as a page shows it: one sentence in the page's language, the stable code, the input it is about.

Services word their errors in English for developers (the API's problem JSON shows them as they are). An English
page shows that sentence, which is the most precise. Another language cannot translate a sentence built at run
time, so it shows the page's own wording for the refusal's ``code`` (and ``param``, for a generic validation error)
from ``_MESSAGES``; a code missing there falls back to the service's sentence, still with its code beside it.
A card's decline is worded by the page in every language, English included (``kleline.web.declines``): the
service's sentence speaks of "the cardholder" to a developer. A refusal that counts something (attempts left) is
worded by the page in every language, English included, with
``ngettext``: plural rules differ between languages (French says "1 essai", "0 essai"), so no sentence built with
"(s)" or an English rule will do.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from kleline.errors import KlelineError
from kleline.ratelimit import RateLimited
from kleline.wallet.customers import MAX_PASSWORD, MIN_PASSWORD
from kleline.wallet.registered_cards import CardDeclined
from kleline.wallet.sca import CodeInvalid
from kleline.web.declines import NO_ANSWER, REASONS, decline_reason
from kleline.web.i18n import ENGLISH, N_, Language

__all__ = ["PageError", "because", "in_form_order", "page_error"]


@dataclass(frozen=True, slots=True)
class PageError:
    """One problem to show in a page's error summary: ``field`` names the input it links to, if any."""

    message: str
    code: str
    field: str | None = None


def in_form_order(errors: Sequence[PageError], fields: Sequence[str]) -> list[PageError]:
    """``errors`` in the order their inputs come in the form (``fields``), those about no input of it last: a
    summary that reads the form from the top. A service finds problems in its own order (a card's number after its
    expiry), which is not the page's."""
    place = {name: index for index, name in enumerate(fields)}
    return sorted(errors, key=lambda error: place.get(error.field or "", len(place)))


# Keyed by (code, param); (code, None) serves every param of the code.
_MESSAGES: Final[dict[tuple[str, str | None], str]] = {
    ("invalid_credentials", None): N_(
        "Wrong email or password, or too many failed sign-ins: check them, or try again later"
    ),
    ("email_taken", None): N_("A wallet already exists for this email address: sign in instead"),
    ("validation_error", "email"): N_("Enter a valid email address, such as name@example.org"),
    ("validation_error", "name"): N_("Enter your name (1 to 200 characters)"),
    ("validation_error", "holder_name"): N_("Enter the name printed on the card (letters, not its number)"),
    ("invalid_card", None): N_("Check the card's details"),
    ("invalid_card_number", None): N_("Check the card number: it is not a valid card number"),
    ("unsupported_card_brand", None): N_("This card's brand is not accepted: use another card"),
    ("invalid_expiry_month", None): N_("Enter the expiry month as a number from 1 to 12"),
    ("invalid_expiry_year", None): N_("Enter the expiry year with four digits, such as 2030"),
    ("expired_card", None): N_("This card has expired"),
    ("invalid_cvc", None): N_("Check the security code: it does not have the right number of digits"),
    ("card_already_registered", None): N_("This card is already in your wallet"),
    ("insufficient_funds", None): N_("There is not enough money to cover this payment"),
    ("limit_exceeded", None): N_("This payment is above your wallet's limits"),
    ("sca_code_invalid", None): N_("The code is wrong: enter the code your app shows now"),
    ("sca_challenge_used", None): N_("This code was used already: enter the code your app shows now"),
    ("sca_challenge_mismatch", None): N_("The code does not match this payment: reload the page and try again"),
    ("sca_blocked", None): N_("Too many wrong codes: strong authentication is blocked for a while"),
    ("sca_challenge_not_found", None): N_("There is no code to check for this payment: reload the page"),
    ("issuer_unavailable", None): N_("The card's bank did not answer: try again in a moment"),
    # The security page and the passkey forms (kleline.web.security).
    ("wrong_password", None): N_("The current password is wrong, or too many failed attempts: try again later"),
    ("sca_already_enrolled", None): N_("An authenticator app is already set up for this wallet"),
    ("passkey_response_invalid", None): N_("The passkey's answer could not be verified: try again"),
    ("passkey_sign_count_regressed", None): N_(
        "This passkey's counter went backwards, as a copied passkey's would: it was refused. Use another one, or a code"
    ),
    ("passkey_ceremony_not_found", None): N_("This passkey request was used already: try again"),
    ("passkey_ceremony_expired", None): N_("This passkey request expired: try again"),
    ("passkey_not_found", None): N_("There is no such passkey in your wallet"),
    ("passkey_already_registered", None): N_("This passkey is already registered"),
    ("validation_error", "new_password_again"): N_("The two new passwords differ: type the same one twice"),
}


def _sentence(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:] if text else text


def _translated(error: KlelineError, language: Language) -> str | None:
    if isinstance(error, RateLimited):
        return _wait(error.retry_after, language)
    if error.code == "validation_error" and error.param == "password":
        message = N_("Choose a password of %(least)d to %(most)d characters (a passphrase is best)")
        return language.gettext(message) % {"least": MIN_PASSWORD, "most": MAX_PASSWORD}
    wording = _MESSAGES.get((error.code, error.param)) or _MESSAGES.get((error.code, None))
    return language.gettext(wording) if wording else None


def _wait(seconds: int, language: Language) -> str:
    """How long a rate-limited person waits, as people count it: seconds up to two minutes, whole minutes after
    (rounded up: never sooner than the limit allows)."""
    if seconds < 120:
        message = N_("Too many attempts from your connection: try again in %(seconds)d seconds")
        return language.gettext(message) % {"seconds": seconds}
    minutes = -(-seconds // 60)
    return language.ngettext(
        "Too many attempts from your connection: try again in %(minutes)d minute",
        "Too many attempts from your connection: try again in %(minutes)d minutes",
        minutes,
    ) % {"minutes": minutes}


def because(language: Language, refusal: str, reason: str) -> str:
    """A refusal and its reason in one sentence, with the language's punctuation."""
    return language.gettext(N_("%(refusal)s: %(reason)s")) % {"refusal": refusal, "reason": reason}


def _declined(error: KlelineError, language: Language) -> str | None:
    """A card's decline at its check, in the shopper's words; None for any other refusal."""
    if not isinstance(error, CardDeclined):
        return None
    if error.decline_code == NO_ANSWER:
        return language.gettext(N_("The card's bank did not answer: try again in a moment"))
    reason = decline_reason(error.decline_code, language) or language.gettext(REASONS["generic_decline"])
    return because(language, language.gettext(N_("The card's bank declined this card")), reason)


def _counted(error: KlelineError, language: Language) -> str | None:
    if isinstance(error, CodeInvalid):
        count = error.attempts_left
        message = language.ngettext(
            "The code is wrong: enter the code your app shows now (%(count)d attempt left)",
            "The code is wrong: enter the code your app shows now (%(count)d attempts left)",
            count,
        )
        return message % {"count": count}
    return None


def page_error(error: KlelineError, fields: Mapping[str, str] | None = None, language: Language = ENGLISH) -> PageError:
    """A refusal of a service as a page in ``language`` shows it; ``fields`` maps a service's ``param`` to the
    form's input."""
    field = None
    if error.param is not None and fields is not None:
        field = fields.get(error.param)
    message = _declined(error, language) or _counted(error, language)
    message = message or _translated(error, language)
    return PageError(message or _sentence(error.detail), error.code, field)
