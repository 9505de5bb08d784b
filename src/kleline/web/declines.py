"""Why a card's bank declined it, as the person holding the card reads it: one reason per stable ``decline_code``.

The service's sentence (``kleline.banks.declines``) is written for a merchant's developer: it speaks of "the issuer"
and of "the cardholder" in the third person ("the cardholder should contact their bank"). The shopper's pages show
these reasons instead, in every language, English included, after a sentence of their own that says what was
declined: a card being added (the card form), a top-up, a payment (the checkout). One wording per code, so the
three pages give the same reason for the same decline.

``issuer_unavailable`` has no reason here: the bank did not answer, which is not a decline, and each page says so in
its own words (try again in a moment).
"""

from __future__ import annotations

from typing import Final

from kleline.web.i18n import N_, Language

__all__ = ["NO_ANSWER", "REASONS", "decline_reason"]

NO_ANSWER: Final = "issuer_unavailable"
"""The ``decline_code`` of a bank that did not answer."""

REASONS: Final[dict[str, str]] = {
    "do_not_honor": N_("the bank gave no reason"),
    "generic_decline": N_("the bank gave no reason"),
    "transaction_not_allowed": N_("this card may not be used here"),
    "invalid_amount": N_("the bank refused the amount"),
    "invalid_card_number": N_("the bank knows no card with this number"),
    "unknown_issuer": N_("no bank could be found for this card number"),
    "insufficient_funds": N_("your card's account does not hold enough"),
    "expired_card": N_("the card has expired"),
    "incorrect_cvc": N_("the security code does not match the card"),
    "card_velocity_exceeded": N_("the card's spending limit is reached"),
    "restricted_card": N_("the bank restricts where this card may be used"),
    "authentication_required": N_("the bank asks for strong authentication"),
}
"""Every ``decline_code`` of ``kleline.banks.declines`` but ``issuer_unavailable``, with its reason (a test checks
that none is missing)."""


def decline_reason(code: str | None, language: Language) -> str | None:
    """The reason a shopper reads for ``decline_code`` ``code`` in ``language``; None when ``code`` is no decline."""
    reason = REASONS.get(code or "")
    return language.gettext(reason) if reason else None
