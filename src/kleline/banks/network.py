"""What Kleline asks of card issuers, and what they answer, whatever carries the messages.

``BankNetwork`` is the one interface the payment services see: verify a card (a zero-amount authorisation),
authorise, capture, reverse, refund. Its answers are values: a declined card is ``Authorization(approved=False,
code="51")``, not an exception, because a decline is an ordinary outcome the caller must show to a customer. Only
broken rules (a malformed message, an unknown authorisation) raise ``kleline.banks.errors.BankError``.

``Transport`` is the seam below it: bytes in, bytes out. The in-process sandbox and the TCP link both implement it,
so that the ISO 8583 encoding is exercised identically whichever one runs.

A card's security code (CVC) travels only inside ``CardDetails`` and the request message: it is masked in every
``repr`` and appears in no result, so that no log line or stored object can leak it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Protocol

from kleline.banks.errors import InvalidCardDetails
from kleline.money import Money

__all__ = [
    "APPROVAL_CODES",
    "Authorization",
    "BankNetwork",
    "Capture",
    "CardDetails",
    "CardRefund",
    "CvcResult",
    "ResponseCode",
    "Reversal",
    "Transport",
]

_PAN: Final = re.compile(r"^[0-9]{12,19}$")
_CVC: Final = re.compile(r"^[0-9]{3,4}$")


class ResponseCode(StrEnum):
    """The ISO 8583 field 39 codes the sandbox issuers answer (a real network may answer others: codes stay str)."""

    APPROVED = "00"
    DO_NOT_HONOUR = "05"
    INVALID_TRANSACTION = "12"
    INVALID_AMOUNT = "13"
    INVALID_CARD_NUMBER = "14"
    NO_SUCH_ISSUER = "15"
    UNKNOWN_RECORD = "25"
    FORMAT_ERROR = "30"
    INSUFFICIENT_FUNDS = "51"
    EXPIRED_CARD = "54"
    DUPLICATE_TRANSMISSION = "94"
    CVC_FAILED = "N7"
    SCA_REQUIRED = "1A"


# "85" is how some networks approve a zero-amount verification ("no reason to decline").
APPROVAL_CODES: Final = frozenset({ResponseCode.APPROVED.value, "85"})


class CvcResult(StrEnum):
    """What the issuer made of the security code: the result is kept, never the code itself."""

    MATCH = "M"
    NO_MATCH = "N"
    NOT_CHECKED = "P"


@dataclass(frozen=True, slots=True, repr=False)
class CardDetails:
    """A card as the customer typed it; ``repr`` shows only the first six and last four digits, never the CVC."""

    number: str
    exp_month: int
    exp_year: int
    cvc: str | None = None

    def __post_init__(self) -> None:
        # Customers type spaces and dashes between digit groups; the network wants bare digits.
        number = self.number.replace(" ", "").replace("-", "") if isinstance(self.number, str) else ""
        if not _PAN.match(number):
            raise InvalidCardDetails("a card number is 12 to 19 digits", param="number")
        object.__setattr__(self, "number", number)
        for name, value, low, high in (("exp_month", self.exp_month, 1, 12), ("exp_year", self.exp_year, 2000, 2099)):
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise InvalidCardDetails(f"{name} must be an int from {low} to {high}", param=name)
        if self.cvc is not None and (not isinstance(self.cvc, str) or not _CVC.match(self.cvc)):
            raise InvalidCardDetails("a security code is 3 or 4 digits", param="cvc")

    @property
    def masked(self) -> str:
        """The number as receipts print it: first six digits (the BIN), stars, last four."""
        return self.number[:6] + "*" * (len(self.number) - 10) + self.number[-4:]

    @property
    def last4(self) -> str:
        """The last four digits, which customers recognise their card by."""
        return self.number[-4:]

    def __repr__(self) -> str:
        cvc = "None" if self.cvc is None else "'***'"
        return f"CardDetails(number='{self.masked}', exp_month={self.exp_month}, exp_year={self.exp_year}, cvc={cvc})"

    __str__ = __repr__


@dataclass(frozen=True, slots=True)
class Authorization:
    """An issuer's answer to an authorisation or verification: approved with an id to capture, or declined with a code.

    ``code`` is the ISO 8583 response code ("00" approved, "05" do not honour, "51" insufficient funds, "54" expired,
    "N7" security code failed, "1A" strong customer authentication required). A declined authorisation has no id.
    """

    approved: bool
    code: str
    authorization_id: str | None
    requires_sca: bool
    amount: Money
    approval_code: str | None = None
    cvc_result: CvcResult = CvcResult.NOT_CHECKED

    def __post_init__(self) -> None:
        if self.approved != (self.code in APPROVAL_CODES):
            raise ValueError(f"approved={self.approved} contradicts response code {self.code!r}")
        if self.requires_sca != (self.code == ResponseCode.SCA_REQUIRED):
            raise ValueError(f"requires_sca={self.requires_sca} contradicts response code {self.code!r}")
        if self.approved != (self.authorization_id is not None):
            raise ValueError("an authorisation has an id exactly when it is approved")


@dataclass(frozen=True, slots=True)
class Capture:
    """A capture the issuer accepted: ``amount`` is taken from the cardholder, any rest of the hold is released."""

    authorization_id: str
    amount: Money
    code: str = ResponseCode.APPROVED.value


@dataclass(frozen=True, slots=True)
class CardRefund:
    """A refund the issuer credited to the cardholder: ``reference`` (the refund's id) names it for good."""

    authorization_id: str
    amount: Money
    reference: str
    code: str = ResponseCode.APPROVED.value


@dataclass(frozen=True, slots=True)
class Reversal:
    """A reversal the issuer accepted: the authorisation's hold is released (again, harmlessly, on a repeat)."""

    authorization_id: str
    code: str = ResponseCode.APPROVED.value


class BankNetwork(Protocol):
    """The card issuers as the payment services see them, whatever transport carries the messages."""

    def verify_card(self, card: CardDetails, *, currency: str = "EUR") -> Authorization:
        """Check that a card exists and may be charged, with a zero-amount authorisation that holds nothing."""
        ...

    def authorize(
        self, card: CardDetails, amount: Money, reference: str, *, authenticated: bool = False
    ) -> Authorization:
        """Ask the issuer to hold ``amount``; a retry with the same ``reference`` gets the same answer, once held.
        ``authenticated``: the cardholder passed strong authentication for this payment (an issuer that asked
        for it with 1A then decides on its other rules)."""
        ...

    def capture(self, authorization_id: str, amount: Money) -> Capture:
        """Take at most the authorised amount; the rest of the hold goes back to the cardholder."""
        ...

    def reverse(self, authorization_id: str) -> Reversal:
        """Release an authorisation that will not be captured; reversing twice is harmless."""
        ...

    def refund(self, authorization_id: str, amount: Money, reference: str) -> CardRefund:
        """Credit ``amount`` of a captured authorisation back to the cardholder; the same ``reference`` again is
        answered with the first answer, never credited twice."""
        ...


class Transport(Protocol):
    """Carries one encoded request to the issuers and brings back their encoded response."""

    def exchange(self, request: bytes) -> bytes:
        """Send ``request`` and return the response bytes."""
        ...
