"""A merchant's monthly statement as plain values: the month, each movement of its balance, the totals.

Everything is read from the merchant's point of view, in minor units, signed as its balance at Kleline moves:

- a **payment** captured: ``gross`` = what the customer paid (positive), ``commission`` = Kleline's fee (negative),
  ``net`` = what the balance gained;
- a **refund**: ``gross`` negative, ``commission`` positive (the fee Kleline gives back), ``net`` negative;
- a **payout** sent to the merchant's bank: ``gross`` = ``net`` negative, no commission; a **payout_returned** by the
  merchant's bank comes back positive;
- an **adjustment**: any other entry on the balance (an operator's correction), ``gross`` = ``net``.

A payment by a customer an offer introduced (issue 15) also carries an ``introduction`` fee, signed as the
commission (negative on the payment, positive on its refunds) and kept apart from it, on its own line of every
document. So ``net = gross + commission + introduction`` on every line, and the month's identity reads
``closing = opening + turnover - refunds - commission - introductions - payouts + payouts_returned + adjustments``.

Standard library only (plus ``money``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Final, Literal

from kleline.money import Money

__all__ = [
    "KINDS",
    "Invoice",
    "Issuer",
    "MerchantStatement",
    "Month",
    "Movement",
    "MovementKind",
    "StatementParty",
    "classify",
]

MovementKind = Literal["payment", "refund", "payout", "payout_returned", "adjustment"]
KINDS: Final = ("payment", "refund", "payout", "payout_returned", "adjustment")
_MONTH: Final = re.compile(r"^([0-9]{4})-(0[1-9]|1[0-2])$")


@dataclass(frozen=True, slots=True, order=True)
class Month:
    """A calendar month in UTC (every Kleline time is UTC, so a month's edges are UTC midnights)."""

    year: int
    month: int

    def __post_init__(self) -> None:
        if not (1970 <= self.year <= 9998 and 1 <= self.month <= 12):
            raise ValueError(f"no month {self.year}-{self.month}")

    @classmethod
    def parse(cls, text: str) -> Month:
        """``"2026-01"`` as a month; anything else is a ``ValueError``."""
        match = _MONTH.match(text.strip()) if isinstance(text, str) else None
        if match is None:
            raise ValueError(f"{text!r} is not a month written YYYY-MM")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def of(cls, moment: datetime) -> Month:
        """The month ``moment`` falls in."""
        utc = moment.astimezone(UTC)
        return cls(utc.year, utc.month)

    @property
    def start(self) -> datetime:
        """Its first instant."""
        return datetime(self.year, self.month, 1, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        """The first instant of the next month (the period is ``[start, end)``)."""
        return self.next().start

    @property
    def first_day(self) -> date:
        """Its first day."""
        return self.start.date()

    @property
    def last_day(self) -> date:
        """Its last day."""
        return (self.end - timedelta(days=1)).date()

    def next(self) -> Month:
        """The month after."""
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    def previous(self) -> Month:
        """The month before."""
        return Month(self.year - (self.month == 1), (self.month - 2) % 12 + 1)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


@dataclass(frozen=True, slots=True)
class StatementParty:
    """The merchant a statement is for, as its documents name it."""

    id: str
    name: str
    email: str
    siret: str | None


@dataclass(frozen=True, slots=True)
class Issuer:
    """Kleline as its documents name it: the company and where to find it."""

    name: str
    website: str


@dataclass(frozen=True, slots=True)
class Movement:
    """One movement of the merchant's balance (see the module docstring for the signs)."""

    posted_at: datetime
    kind: MovementKind
    object_id: str
    """The payment, refund or payout it books (``pay_``, ``re_``, ``po_``), or the entry itself for an adjustment."""
    entry_id: str
    payment_id: str | None
    reference: str | None
    """The merchant's own order reference of the payment, when it gave one."""
    description: str
    gross: int
    commission: int
    net: int
    balance_after: int
    fee_bps: int | None = None
    introduction: int = 0
    """The introduction fee, signed as ``commission`` (0 when no offer introduced the payment's customer)."""
    intro_fee_bps: int = 0


@dataclass(frozen=True, slots=True)
class Invoice:
    """A commission invoice as issued: its number in the year's sequence (``KL-2026-000001``), the merchant and
    month it bills, when it was issued, the total it states (commission and introduction fees) and the SHA-256 of
    its PDF."""

    number: str
    merchant_id: str
    month: Month
    issued_at: datetime
    commission: int
    currency: str
    sha256: str


@dataclass(frozen=True, slots=True)
class MerchantStatement:
    """A merchant's month: opening balance, every movement, closing balance; ``closed`` once the month is over (and
    a few minutes more, for its last postings to commit); ``invoice`` once its commission invoice has been issued."""

    merchant: StatementParty
    month: Month
    currency: str
    opening_balance: int
    closing_balance: int
    movements: tuple[Movement, ...]
    closed: bool
    invoice: Invoice | None = None

    def _sum(self, kind: MovementKind, field: Literal["gross", "commission", "introduction", "net"]) -> int:
        return sum(getattr(m, field) for m in self.movements if m.kind == kind)

    @property
    def turnover(self) -> int:
        """What customers paid: every capture, gross."""
        return self._sum("payment", "gross")

    @property
    def refunds(self) -> int:
        """What was given back to customers, gross (a positive number)."""
        return -self._sum("refund", "gross")

    @property
    def commission_charged(self) -> int:
        """Kleline's commission on the month's captures."""
        return -self._sum("payment", "commission")

    @property
    def commission_returned(self) -> int:
        """The commission refunds gave back."""
        return self._sum("refund", "commission")

    @property
    def commission(self) -> int:
        """The commission the month cost, net of what refunds returned."""
        return self.commission_charged - self.commission_returned

    @property
    def introductions_charged(self) -> int:
        """Kleline's introduction fees on the month's captures."""
        return -self._sum("payment", "introduction")

    @property
    def introductions_returned(self) -> int:
        """The introduction fees refunds gave back."""
        return self._sum("refund", "introduction")

    @property
    def introductions(self) -> int:
        """The introduction fees the month cost, net of what refunds returned."""
        return self.introductions_charged - self.introductions_returned

    @property
    def payouts(self) -> int:
        """What was sent to the merchant's bank (a positive number)."""
        return -self._sum("payout", "net")

    @property
    def payouts_returned(self) -> int:
        """Payouts the merchant's bank sent back."""
        return self._sum("payout_returned", "net")

    @property
    def adjustments(self) -> int:
        """Every other movement, signed."""
        return self._sum("adjustment", "net")

    @property
    def invoiceable(self) -> bool:
        """True when the month has commission or introduction fees to invoice: some charged or given back, even if
        they cancel out."""
        return any(
            (self.commission_charged, self.commission_returned, self.introductions_charged, self.introductions_returned)
        )

    def count(self, kind: MovementKind) -> int:
        """How many movements of ``kind``."""
        return sum(1 for m in self.movements if m.kind == kind)

    def money(self, minor: int) -> Money:
        """``minor`` in the statement's currency."""
        return Money(minor, self.currency)

    @property
    def balanced(self) -> bool:
        """True when the totals lead from the opening to the closing balance and each line's net adds up."""
        flows = (
            self.turnover
            - self.refunds
            - self.commission
            - self.introductions
            - self.payouts
            + self.payouts_returned
            + self.adjustments
        )
        lines_ok = all(m.net == m.gross + m.commission + m.introduction for m in self.movements)
        running = self.opening_balance
        for m in self.movements:
            running += m.net
            lines_ok = lines_ok and m.balance_after == running
        return lines_ok and self.opening_balance + flows == self.closing_balance == running


@dataclass(frozen=True, slots=True)
class Classified:
    """What an entry on the merchant's balance is, and its gross, commission and introduction fee seen by the
    merchant."""

    kind: MovementKind
    object_id: str
    payment_id: str | None
    gross: int
    commission: int
    introduction: int = 0


def classify(
    entry_id: str,
    metadata: Mapping[str, object],
    move: int,
    commission_move: int,
    only_bank: bool,
    introduction_move: int = 0,
) -> Classified:
    """Name an entry by what the payments and settlement code write in its metadata.

    ``move`` is the change of the merchant's balance (its normal side), ``commission_move`` the change of Kleline's
    commission account in the same entry (positive when Kleline earned), ``only_bank`` true when every other leg
    is on one of Kleline's bank accounts (how a payout looks whatever its metadata calls it), ``introduction_move``
    the change of Kleline's introductions account in the same entry.
    """
    fees = commission_move + introduction_move
    payment = _text(metadata.get("payment"))
    refund = _text(metadata.get("refund"))
    payout = _text(metadata.get("payout")) or _text(metadata.get("payout_id"))
    if refund is not None and move != 0:
        # The merchant gives back its share and Kleline its fees: together, what the customer gets. (A share below
        # zero, a cent refunded that returns a cent of each fee, credits the balance: still the refund's line.)
        return Classified("refund", refund, payment, move + fees, -commission_move, -introduction_move)
    if payment is not None and move > 0:
        return Classified("payment", payment, payment, move + fees, -commission_move, -introduction_move)
    if payout is not None or only_bank:
        kind: MovementKind = "payout" if move < 0 else "payout_returned"
        return Classified(kind, payout or entry_id, None, move, 0)
    return Classified("adjustment", entry_id, payment, move, 0)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
