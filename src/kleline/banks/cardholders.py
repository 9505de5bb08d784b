"""The sandbox issuers' cardholders: card ranges, the public test cards and how they behave, balances.

Routing is by card range (BIN): one Visa issuer (4...), one Mastercard issuer (51-55, 2221-2720). The public test
cards behave as everywhere: 4242 4242 4242 4242 and 5555 5555 5555 4444 approve; 4000 0000 0000 0002 declines (05);
4000 0000 0000 9995 has no funds (51); 4000 0000 0000 0069 is expired (54); 4000 0000 0000 0127 fails its security
code (N7); 4000 0025 0000 3155 requires strong customer authentication (1A). Any other Luhn-valid number in a range
is an ordinary cardholder with a generous balance.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from kleline.money import Money

__all__ = [
    "DEFAULT_BALANCE",
    "DEFAULT_ISSUERS",
    "TEST_CARDS",
    "BinRange",
    "CardholderAccount",
    "CardholderBalance",
    "CardProfile",
    "SandboxIssuer",
]

DEFAULT_BALANCE: Final = 10_000_000  # minor units per currency: 100,000.00 EUR


@dataclass(frozen=True, slots=True)
class BinRange:
    """Card numbers whose leading digits lie between ``low`` and ``high`` (as many digits as ``low``)."""

    low: str
    high: str

    def __contains__(self, number: object) -> bool:
        return isinstance(number, str) and self.low <= number[: len(self.low)] <= self.high


@dataclass(frozen=True, slots=True)
class SandboxIssuer:
    """A simulated bank that issues the cards of its ranges; identified by its BIC like a real one."""

    name: str
    bic: str
    ranges: tuple[BinRange, ...]


@dataclass(frozen=True, slots=True)
class CardProfile:
    """How a cardholder's account behaves: its opening balance (None: the default) and any fixed refusal."""

    balance: int | None = None
    declines: bool = False
    expired: bool = False
    cvc_fails: bool = False
    requires_sca: bool = False


@dataclass(frozen=True, slots=True)
class CardholderBalance:
    """A cardholder's account in one currency: posted, held by open authorisations, and what remains available."""

    posted: Money
    held: Money

    @property
    def available(self) -> Money:
        """What the next authorisation may hold."""
        return self.posted - self.held


DEFAULT_ISSUERS: Final = (
    SandboxIssuer("Kleline Sandbox Visa Bank", "KLSVFRP1", (BinRange("4", "4"),)),
    SandboxIssuer("Kleline Sandbox Mastercard Bank", "KLSMFRP1", (BinRange("51", "55"), BinRange("2221", "2720"))),
)

TEST_CARDS: Final[Mapping[str, CardProfile]] = {
    "4242424242424242": CardProfile(),
    "5555555555554444": CardProfile(),
    "4000000000000002": CardProfile(declines=True),
    "4000000000009995": CardProfile(balance=0),
    "4000000000000069": CardProfile(expired=True),
    "4000000000000127": CardProfile(cvc_fails=True),
    "4000002500003155": CardProfile(requires_sca=True),
}


@dataclass(slots=True)
class CardholderAccount:
    """A cardholder's books at the issuer: posted balances and amounts held, per currency (opened at ``opening``).

    How the account behaves (its ``CardProfile``) follows from the card number, so the books do not keep it."""

    opening: int
    posted: dict[str, int] = field(default_factory=dict)
    held: dict[str, int] = field(default_factory=dict)

    def balance(self, currency: str) -> CardholderBalance:
        """The balance in ``currency``, opening it if it is the first use."""
        posted = self.posted.setdefault(currency, self.opening)
        return CardholderBalance(Money(posted, currency), Money(self.held.get(currency, 0), currency))

    def hold(self, amount: Money, sign: int) -> None:
        """Hold (``sign`` +1) or release (-1) ``amount``."""
        self.held[amount.currency] = self.held.get(amount.currency, 0) + sign * amount.minor
