"""Money as an integer count of minor units plus an ISO 4217 currency.

Why integers: a cent is indivisible in the books, and float arithmetic cannot represent 0.10 exactly. Floats and
Decimals are refused outright (a ``TypeError``) so that no rounding happens by accident; the one rounding rule,
half-up, is named and used explicitly (``round_half_up``, ``Money.share_bps``).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from decimal import Decimal

from babel import Locale
from babel.numbers import format_currency
from iso4217 import Currency

from kleline.errors import ValidationError

__all__ = ["Money", "UnknownCurrency", "currency_exponent", "round_half_up", "check_minor"]

BPS_PER_UNIT = 10_000
_DECIMAL_TEXT = re.compile(r"^([+-]?)([0-9]+)(?:\.([0-9]+))?$")


class UnknownCurrency(ValidationError, ValueError):
    """The code is not an ISO 4217 currency with minor units (funds and metals such as XAU have none).

    A ``ValidationError`` (400, ``param`` ``currency``), so that a code that slips past an interface's own check is
    still answered as bad input, never as a server error; and still a ``ValueError`` for the parsers that read
    amounts from files and report any unreadable one the same way.
    """

    def __init__(self, detail: str, *, param: str | None = "currency") -> None:
        super().__init__(detail, param=param)


@functools.cache
def currency_exponent(currency: str) -> int:
    """Number of minor-unit digits of an ISO 4217 currency (EUR 2, JPY 0, BHD 3)."""
    if not isinstance(currency, str) or len(currency) != 3 or not currency.isupper():
        raise UnknownCurrency(f"currency must be an upper-case ISO 4217 code, got {currency!r}")
    try:
        exponent = Currency(currency).exponent
    except ValueError:
        raise UnknownCurrency(f"unknown ISO 4217 currency {currency!r}") from None
    if exponent is None:
        raise UnknownCurrency(f"{currency} has no minor unit and cannot be booked")
    return exponent


def check_minor(value: object) -> int:
    """Return ``value`` if it is an int amount; refuse floats, Decimals, bools and strings with a ``TypeError``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"an amount is an int count of minor units, not {type(value).__name__}")
    return value


def round_half_up(numerator: int, denominator: int) -> int:
    """Divide two integers, rounding halves away from zero (the commercial rule: 0.5 cent becomes 1 cent)."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    quotient, remainder = divmod(abs(numerator), denominator)
    if 2 * remainder >= denominator:
        quotient += 1
    return quotient if numerator >= 0 else -quotient


@dataclass(frozen=True, slots=True)
class Money:
    """An amount of one currency, in minor units (``Money(1250, "EUR")`` is 12.50 EUR)."""

    minor: int
    currency: str

    def __post_init__(self) -> None:
        check_minor(self.minor)
        currency_exponent(self.currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        """No money of ``currency``."""
        return cls(0, currency)

    @classmethod
    def parse(cls, text: str, currency: str) -> Money:
        """Read a decimal amount as files write it (``"12.50"``, ``"-3"``) exactly; more decimals than the currency
        has, or anything but digits with one optional point, is a ``ValueError`` (never a silent rounding)."""
        exponent = currency_exponent(currency)
        match = _DECIMAL_TEXT.match(text.strip()) if isinstance(text, str) else None
        if match is None:
            raise ValueError(f"not a decimal amount: {text!r}")
        sign, units, fraction = match.group(1), match.group(2), match.group(3) or ""
        if len(fraction) > exponent:
            raise ValueError(f"{text!r} has more than {exponent} decimals, the precision of {currency}")
        minor = int(units + fraction.ljust(exponent, "0"))
        return cls(-minor if sign == "-" else minor, currency)

    def _same(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise ValueError(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor - other.minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.minor, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.minor < other.minor

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.minor <= other.minor

    def __gt__(self, other: Money) -> bool:
        self._same(other)
        return self.minor > other.minor

    def __ge__(self, other: Money) -> bool:
        self._same(other)
        return self.minor >= other.minor

    def __mul__(self, factor: int) -> Money:
        return Money(self.minor * check_minor(factor), self.currency)

    __rmul__ = __mul__

    def share_bps(self, bps: int) -> Money:
        """``bps`` basis points of this amount, rounded half-up once (350 bps of 12.50 EUR is 0.44 EUR)."""
        return Money(round_half_up(self.minor * check_minor(bps), BPS_PER_UNIT), self.currency)

    def allocate(self, weights: list[int]) -> list[Money]:
        """Split into parts proportional to ``weights`` that add up exactly (largest remainders get the cents)."""
        if not weights or any(check_minor(w) < 0 for w in weights) or sum(weights) == 0:
            raise ValueError("weights must be non-negative ints with a positive sum")
        total = sum(weights)
        sign = -1 if self.minor < 0 else 1
        magnitude = abs(self.minor)
        parts = [magnitude * w // total for w in weights]
        order = sorted(range(len(weights)), key=lambda i: (-(magnitude * weights[i] % total), i))
        for i in order[: magnitude - sum(parts)]:
            parts[i] += 1
        return [Money(sign * p, self.currency) for p in parts]

    @property
    def exponent(self) -> int:
        """Digits after the decimal point for this currency."""
        return currency_exponent(self.currency)

    def to_decimal(self) -> Decimal:
        """The amount in major units, exact (for display and export only, never for arithmetic)."""
        return Decimal(self.minor).scaleb(-self.exponent)

    def format(self, locale: str = "en_GB") -> str:
        """Format for people, per locale: ``Money(1250, "EUR").format("fr_FR") == "12,50\\xa0€"``."""
        return str(format_currency(self.to_decimal(), self.currency, locale=_locale(locale)))

    def __str__(self) -> str:
        return f"{self.to_decimal():f} {self.currency}"


@functools.lru_cache(maxsize=64)
def _locale(identifier: str) -> Locale:
    """Babel's locale data for ``identifier``, parsed once: a page formats a dozen amounts in the same locale."""
    return Locale.parse(identifier)
