"""Settlement runs and payouts as plain values, with the rules that need no database.

A **run** settles one period (a UTC date): every active or suspended merchant whose available balance reaches the
minimum gets one **payout** of that balance, sent as one SEPA credit transfer in the run's pain.001 file. A run is
``running`` while it pays merchants, ``complete`` once its file is stored; the same period again is the same run. A
run that met a fault it cannot get past by retrying (one of Kleline's own accounts missing) is ``failed``, with the
reason; running the period again once the fault is fixed resumes it.

A payout's life (DESIGN.md section 3, "Money flows"):

    in_transit --statement debit line--> paid --return credit line (R-transaction)--> failed

``in_transit``: the merchant's balance was debited and the transfer is in the file; ``paid``: the bank statement
shows the money leaving Kleline's account; ``failed``: the merchant's bank sent it back, and the merchant's balance
holds it again. A return always follows the debit it returns (the bank debited us first), so only a paid payout
can fail.

Ids: a payout's id is derived from its run and its merchant (``payout_id``), so that one merchant has exactly one
possible payout per run whatever crashes in between; it is also the transfer's end-to-end id, which comes back on
the statement line (``po_`` and 32 hex digits: 35 characters, SEPA's limit for an end-to-end id).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final, Literal

from kleline.money import Money
from kleline.sepa.model import sepa_reference

__all__ = [
    "PAYOUT_STATUSES",
    "RUN_STATUSES",
    "Creditor",
    "Payout",
    "PayoutFacts",
    "PayoutOutlook",
    "PayoutStatus",
    "RunStatus",
    "SettlementRun",
    "payout_id",
    "remittance",
]

PayoutStatus = Literal["in_transit", "paid", "failed"]
RunStatus = Literal["running", "complete", "failed"]
PAYOUT_STATUSES: Final = ("in_transit", "paid", "failed")
RUN_STATUSES: Final = ("running", "complete", "failed")


def payout_id(run_id: str, merchant_id: str) -> str:
    """The one payout a merchant can have in a run: a digest of both ids, in the form ``ids.new_id`` gives."""
    return "po_" + hashlib.sha256(f"{run_id}:{merchant_id}".encode()).hexdigest()[:32]


def remittance(period: date) -> str:
    """What the merchant's bank statement shows beside the transfer."""
    return f"Kleline payout {period.isoformat()}"


@dataclass(frozen=True, slots=True)
class Creditor:
    """Who a payout goes to, as the merchant's record said when the run paid it."""

    name: str
    iban: str
    bic: str


@dataclass(frozen=True, slots=True)
class Payout:
    """One merchant's share of a run: its balance, sent by credit transfer, until the statement settles it."""

    id: str
    merchant_id: str
    settlement_run_id: str
    amount: Money
    status: PayoutStatus
    creditor: Creditor
    created_at: datetime
    paid_at: datetime | None = None
    booked_on: date | None = None
    paid_line_ref: str | None = None
    failed_at: datetime | None = None
    failure_reason: str | None = None
    return_line_ref: str | None = None

    @property
    def end_to_end_id(self) -> str:
        """The reference the transfer carries and the statement line brings back: the payout's id, in SEPA's
        character set."""
        return sepa_reference(self.id)

    @property
    def currency(self) -> str:
        """The payout's ISO 4217 currency."""
        return self.amount.currency


@dataclass(frozen=True, slots=True)
class SettlementRun:
    """One period's settlement: how many payouts, how much in all, and whether its file is ready."""

    id: str
    period: date
    currency: str
    status: RunStatus
    payout_count: int
    total: int
    created_at: datetime
    completed_at: datetime | None
    failure_reason: str | None = None  # why a failed run stopped

    @property
    def execution_date(self) -> date:
        """The day the bank is asked to execute the transfers: the day the run started (UTC), fixed with it, so
        that the file rebuilt after a crash is the same file."""
        return self.created_at.date()

    @property
    def has_file(self) -> bool:
        """True when the run is complete and paid someone (a run that paid nobody has no file)."""
        return self.status == "complete" and self.payout_count > 0


@dataclass(frozen=True, slots=True)
class PayoutOutlook:
    """What a merchant can expect from settlement: the next run's payout of its available balance, and the last
    payout sent and not yet seen paid.

    A run pays the whole available balance of the moment it runs, once it reaches the minimum: ``next_on`` is the
    day of the run expected to pay it (today's, unless today's run is over; tomorrow's then), ``next_amount`` the
    balance now, which sales and refunds until then change; both say nothing is due (None, 0) under the minimum."""

    currency: str
    minimum: int
    next_amount: int
    next_on: date | None
    in_transit: Payout | None


@dataclass(frozen=True, slots=True)
class PayoutFacts:
    """What settlement knows of a merchant's next payout before its balance is known: the currency and minimum,
    today, the status of today's run (None before it started) and the last payout in transit."""

    currency: str
    minimum: int
    today: date
    run: str | None
    in_transit: Payout | None

    def given(self, available: int) -> PayoutOutlook:
        """The outlook once the balance is known to be ``available``."""
        if available < self.minimum:
            return PayoutOutlook(self.currency, self.minimum, 0, None, self.in_transit)
        # A run under way may still pay this merchant; once complete, the next one is tomorrow's.
        on = self.today + timedelta(days=1) if self.run == "complete" else self.today
        return PayoutOutlook(self.currency, self.minimum, available, on, self.in_transit)
