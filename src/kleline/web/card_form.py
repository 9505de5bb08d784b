"""The add-a-card form, shared by the checkout and the wallet: what the customer typed, checked all at once by the
cards service (``RegisteredCards.problems``), then registered after its issuer's check.

What comes back to the page with its errors is the expiry and the holder's name, never the card number or the
security code (secrets), nor a refused name (it may be a card number typed in the wrong field).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from kleline.bootstrap import Kleline
from kleline.errors import KlelineError
from kleline.wallet.model import Card
from kleline.web.i18n import N_, Language
from kleline.web.refusals import PageError, in_form_order, page_error

__all__ = ["EMPTY_CARD_FORM", "CardEntry", "add_card_to_wallet", "card_refusal"]

EMPTY_CARD_FORM: Final = {"exp_month": "", "exp_year": "", "holder_name": ""}
_DIGITS_ONLY: Final = {
    "exp_month": N_("Enter the expiry month as digits"),
    "exp_year": N_("Enter the expiry year as digits"),
}
_FORM_ORDER: Final = ("number", "exp_month", "exp_year", "cvc", "holder_name")
_CARD_FIELDS: Final = {f: f for f in _FORM_ORDER}
# The service's sentence names the API's field ("holder_name: give 1 to 200 characters"): a person reads this instead.
_HOLDER_NAME: Final = N_("Enter the name printed on the card (letters, not its number)")


@dataclass
class CardEntry:
    """The outcome of the form: the card registered, or the errors and the values to show again."""

    card: Card | None
    form: dict[str, str] = field(default_factory=lambda: dict(EMPTY_CARD_FORM))
    errors: list[PageError] = field(default_factory=list)
    status: int = 200


def card_refusal(error: KlelineError, language: Language, messages: Mapping[str, str] | None = None) -> PageError:
    """A card's refusal as the form shows it, next to its field (the number when the service names none)."""
    shown = page_error(error, _CARD_FIELDS, language)
    wording = (messages or {}).get(error.code)
    if error.code == "validation_error" and error.param == "holder_name":
        wording = _HOLDER_NAME
    if wording:
        shown = PageError(language.gettext(wording), shown.code, shown.field)
    return shown if shown.field is not None else PageError(shown.message, shown.code, "number")


def _digits(text: str) -> int | None:
    """A month or year typed as (at most four) digits, else None."""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 4 else None


def _status_of(error: KlelineError) -> int:
    return error.status if 400 <= error.status < 500 else 400


def add_card_to_wallet(
    kleline: Kleline,
    customer_id: str,
    fields: Mapping[str, str],
    language: Language,
    messages: Mapping[str, str] | None = None,
) -> CardEntry:
    """Check every field of the form at once, then register the card in the customer's wallet."""
    shown = {name: fields.get(name, "").strip() for name in EMPTY_CARD_FORM}
    number, cvc = fields.get("number", "").strip(), fields.get("cvc", "").strip()
    expiry = {name: _digits(shown[name]) for name in _DIGITS_ONLY}
    errors = [
        PageError(language.gettext(message), "validation_error", name)
        for name, message in _DIGITS_ONLY.items()
        if expiry[name] is None
    ]
    problems = kleline.cards.problems(number, expiry["exp_month"], expiry["exp_year"], cvc, shown["holder_name"])
    errors += [card_refusal(problem, language, messages) for problem in problems]
    if errors:
        if any(error.field == "holder_name" for error in errors):
            shown["holder_name"] = ""
        return CardEntry(None, shown, in_form_order(errors, _FORM_ORDER), 400)
    month, year = expiry["exp_month"], expiry["exp_year"]
    assert month is not None and year is not None  # else an error was shown
    try:
        card = kleline.cards.register(customer_id, number, month, year, cvc, shown["holder_name"])
    except KlelineError as error:
        return CardEntry(None, shown, [card_refusal(error, language, messages)], _status_of(error))
    return CardEntry(card, shown)
