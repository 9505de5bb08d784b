"""Card details checked before any bank call: number (Luhn and brand), expiry and security code.

A full card number (PAN) is the most dangerous value Kleline handles, so it lives in one type, ``CardNumber``, whose
``repr``, ``str`` and errors show at most the first six and last four digits (what PCI DSS allows to display). The
security code is checked and forgotten: ``check_cvc`` keeps no reference to it and no error repeats it.

Errors, each with a stable ``code`` and the ``param`` it blames::

    KlelineError
     └── ValidationError
          └── CardError                 root of the card refusals
               ├── InvalidCardNumber    not 12-19 digits, fails the Luhn check, wrong length for its brand
               ├── UnsupportedCardBrand the number is valid but belongs to no brand Kleline accepts
               ├── InvalidExpiryMonth   the month is not an int from 1 to 12
               ├── InvalidExpiryYear    the year is not four digits, or too far in the future
               ├── ExpiredCard          the last day of the expiry month is past
               └── InvalidCvc           the security code is not 3 digits (4 for American Express)

Standard library and python-stdnum only: no database, no bank.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Final

from stdnum import luhn
from stdnum.util import clean

from kleline.errors import ValidationError

__all__ = [
    "CardBrand",
    "CardError",
    "CardNumber",
    "ExpiredCard",
    "InvalidCardNumber",
    "InvalidCvc",
    "InvalidExpiryMonth",
    "InvalidExpiryYear",
    "UnsupportedCardBrand",
    "check_cvc",
    "check_expiry",
    "detect_brand",
    "parse_card_number",
]

MIN_LENGTH: Final = 12  # ISO/IEC 7812: a PAN has 12 to 19 digits
MAX_LENGTH: Final = 19
MAX_YEARS_AHEAD: Final = 20  # issuers do not print cards valid longer; a later year is a typo (2205 for 2025)


class CardError(ValidationError):
    """Root of the card refusals: card details break a rule before any bank is asked."""

    code = "invalid_card"


class InvalidCardNumber(CardError):
    """The number is not 12-19 digits, fails the Luhn check, or has the wrong length for its brand."""

    code = "invalid_card_number"


class UnsupportedCardBrand(CardError):
    """The number is well formed but belongs to no brand Kleline accepts."""

    code = "unsupported_card_brand"


class InvalidExpiryMonth(CardError):
    """The expiry month is not an int from 1 to 12."""

    code = "invalid_expiry_month"


class InvalidExpiryYear(CardError):
    """The expiry year is not a four-digit int, or lies more than ``MAX_YEARS_AHEAD`` years ahead."""

    code = "invalid_expiry_year"


class ExpiredCard(CardError):
    """The card's expiry month is over (a card is valid through the last day of that month)."""

    code = "expired_card"


class InvalidCvc(CardError):
    """The security code is not 3 digits (4 for American Express)."""

    code = "invalid_cvc"


class CardBrand(StrEnum):
    """The card schemes Kleline accepts; the value is the stable name used in the API and the database."""

    VISA = "visa"
    MASTERCARD = "mastercard"
    AMEX = "amex"
    DISCOVER = "discover"
    DINERS = "diners"
    JCB = "jcb"
    UNIONPAY = "unionpay"


# python-stdnum checks Luhn but has no issuer (IIN) table, so this is ours, from the schemes' published ranges.
# A number belongs to a range when its leading digits, as many as the bounds have, fall between the bounds.
# The ranges do not overlap, so the first match is the only one. Maestro, Mir, RuPay and domestic-only schemes
# are not accepted yet: accepting one is a row here and a set of lengths below.
_IIN_RANGES: Final[tuple[tuple[str, str, CardBrand], ...]] = (
    ("4", "4", CardBrand.VISA),
    ("51", "55", CardBrand.MASTERCARD),
    ("2221", "2720", CardBrand.MASTERCARD),
    ("34", "34", CardBrand.AMEX),
    ("37", "37", CardBrand.AMEX),
    ("6011", "6011", CardBrand.DISCOVER),
    ("644", "649", CardBrand.DISCOVER),
    ("65", "65", CardBrand.DISCOVER),
    ("300", "305", CardBrand.DINERS),
    ("3095", "3095", CardBrand.DINERS),
    ("36", "36", CardBrand.DINERS),
    ("38", "39", CardBrand.DINERS),
    ("3528", "3589", CardBrand.JCB),
    ("62", "62", CardBrand.UNIONPAY),
)

_LENGTHS: Final[dict[CardBrand, frozenset[int]]] = {
    CardBrand.VISA: frozenset({13, 16, 19}),
    CardBrand.MASTERCARD: frozenset({16}),
    CardBrand.AMEX: frozenset({15}),
    CardBrand.DISCOVER: frozenset(range(16, 20)),
    CardBrand.DINERS: frozenset(range(14, 20)),
    CardBrand.JCB: frozenset(range(16, 20)),
    CardBrand.UNIONPAY: frozenset(range(16, 20)),
}


def detect_brand(digits: str) -> CardBrand | None:
    """The brand whose IIN range the leading digits fall in, or ``None`` if Kleline accepts no such card."""
    for low, high, brand in _IIN_RANGES:
        if low <= digits[: len(low)] <= high:
            return brand
    return None


def _check_digits(digits: str) -> CardBrand:
    """Check a cleaned number and return its brand; messages state lengths, never digits."""
    if not digits:
        raise InvalidCardNumber("a card number is required", param="number")
    if not (digits.isascii() and digits.isdigit()):
        raise InvalidCardNumber("a card number has only digits, spaces and dashes", param="number")
    if not MIN_LENGTH <= len(digits) <= MAX_LENGTH:
        raise InvalidCardNumber(
            f"a card number has {MIN_LENGTH} to {MAX_LENGTH} digits, got {len(digits)}", param="number"
        )
    if not luhn.is_valid(digits):
        raise InvalidCardNumber("the card number is mistyped (its check digit does not match)", param="number")
    brand = detect_brand(digits)
    if brand is None:
        accepted = ", ".join(known.value for known in CardBrand)
        raise UnsupportedCardBrand(f"this card's brand is not accepted (accepted: {accepted})", param="number")
    if len(digits) not in _LENGTHS[brand]:
        lengths = ", ".join(str(n) for n in sorted(_LENGTHS[brand]))
        raise InvalidCardNumber(f"a {brand.value} card number has {lengths} digits, got {len(digits)}", param="number")
    return brand


@dataclass(frozen=True, slots=True, repr=False)
class CardNumber:
    """A checked card number; shows only ``first6`` and ``last4``. Build it with ``parse_card_number``."""

    digits: str = field(repr=False)  # the full PAN: for the vault and the bank message, never for display or logs
    brand: CardBrand

    def __post_init__(self) -> None:
        # Constructing directly must not bypass the checks, nor pair a number with another brand.
        if not isinstance(self.digits, str) or _check_digits(self.digits) is not self.brand:
            raise InvalidCardNumber("the card number does not match its brand", param="number")

    @property
    def first6(self) -> str:
        """The first six digits (the issuer's BIN), safe to display and store."""
        return self.digits[:6]

    @property
    def last4(self) -> str:
        """The last four digits, safe to display and store."""
        return self.digits[-4:]

    @property
    def masked(self) -> str:
        """The number with everything but the first six and last four digits starred, length preserved."""
        return self.first6 + "*" * (len(self.digits) - 10) + self.last4

    def __repr__(self) -> str:
        return f"CardNumber(brand={self.brand.value!r}, masked={self.masked!r})"

    def __str__(self) -> str:
        return self.masked


def parse_card_number(text: str) -> CardNumber:
    """Clean a typed card number, check its digits, Luhn digit and brand, and wrap it.

    Spaces and dashes are dropped; python-stdnum's ``clean`` also folds look-alikes (full-width digits typed with an
    East Asian input method, typographic dashes) to ASCII, so a number pasted from anywhere is read as typed.
    """
    if not isinstance(text, str):
        raise InvalidCardNumber("a card number is a string of digits", param="number")
    digits = clean(text.strip(), " -")
    return CardNumber(digits, _check_digits(digits))


def _check_int(value: object, error: type[CardError], param: str, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise error(f"the expiry {what} must be an integer", param=param)
    return value


def check_expiry(exp_month: int, exp_year: int, today: date) -> None:
    """Refuse a malformed or past expiry; a card is valid through the last day of its expiry month.

    ``exp_year`` has four digits: a two-digit year is refused rather than guessed, since the century is the
    caller's to decide (a form may show ``MM/YY``; it converts before calling). ``today`` is a date (from the
    clock); an aware datetime is read in UTC and a naive one is refused, like everywhere in Kleline.
    """
    month = _check_int(exp_month, InvalidExpiryMonth, "exp_month", "month")
    year = _check_int(exp_year, InvalidExpiryYear, "exp_year", "year")
    if isinstance(today, datetime):
        if today.tzinfo is None:
            raise ValueError("naive datetimes are refused: every Kleline time is UTC")
        today = today.astimezone(UTC).date()
    if not 1 <= month <= 12:
        raise InvalidExpiryMonth(f"the expiry month must be from 1 to 12, got {month}", param="exp_month")
    if not 1000 <= year <= 9999:
        raise InvalidExpiryYear(f"the expiry year must have four digits (such as 2030), got {year}", param="exp_year")
    if year > today.year + MAX_YEARS_AHEAD:
        raise InvalidExpiryYear(f"the expiry year {year} is more than {MAX_YEARS_AHEAD} years ahead", param="exp_year")
    if (year, month) < (today.year, today.month):
        param = "exp_year" if year < today.year else "exp_month"
        raise ExpiredCard(f"the card expired at the end of {year:04d}-{month:02d}", param=param)


def check_cvc(cvc: str, brand: CardBrand) -> None:
    """Check the security code's shape for ``brand`` (3 digits, 4 for American Express); it is never kept.

    Nothing here stores, logs or echoes the code: it goes to the issuer in the authorization request and is then
    dropped (PCI DSS forbids keeping it after authorization, even encrypted).
    """
    size = 4 if brand is CardBrand.AMEX else 3
    if not isinstance(cvc, str) or len(cvc) != size or not (cvc.isascii() and cvc.isdigit()):
        raise InvalidCvc(f"the security code of a {brand.value} card has {size} digits", param="cvc")
