"""Direct debits' plain values: bank accounts with their mandates, collections, collection runs, receivables.

A customer registers a bank account and signs a SEPA Core mandate in the same step; each direct-debit top-up
credits the purse at once and leaves a *collection* to send. A collection run gathers every collection still
``pending`` into one pain.008 file; the bank statement later says ``collected`` or returns it (``returned``),
which takes the money back from the purse and books what the purse could not cover as the customer's debt.

Standard library only (plus ``money``).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Final, Literal

from kleline.money import Money
from kleline.sepa.model import sepa_reference

__all__ = [
    "BAD_DEBT_ACCOUNT",
    "MAX_HOLDER_NAME",
    "REMITTANCE",
    "BankAccount",
    "Collection",
    "CollectionRun",
    "CollectionStatus",
    "Receivable",
    "ReceivableSettlement",
    "RunStatus",
    "collection_date_after",
    "mask_iban",
    "new_mandate_id",
    "receivable_code",
]

MAX_HOLDER_NAME: Final = 70  # a SEPA party name (Nm) is at most 70 characters
REMITTANCE: Final = "Kleline purse top-up"
"""What the customer's bank statement shows for a collection."""
BAD_DEBT_ACCOUNT: Final = "kleline:bad-debt"
"""Kleline's loss on debts it gave up collecting (debit-normal, an expense): where a write-off moves a debt."""


def receivable_code(customer_id: str) -> str:
    """The ledger account of what a customer owes Kleline after a direct debit came back unpaid (debit-normal)."""
    return f"customer:{customer_id}:receivable"


def new_mandate_id() -> str:
    """A unique mandate reference: 35 characters (the SEPA maximum) from the rulebook's restricted set, with no
    underscore, which some banks refuse in identifiers."""
    return "KLM" + secrets.token_hex(16).upper()


def mask_iban(iban: str) -> str:
    """An IBAN as the API shows it: country, check digits and the last four characters (``FR76****0167``)."""
    return f"{iban[:4]}{'*' * max(len(iban) - 8, 0)}{iban[-4:]}"


def collection_date_after(moment: datetime) -> date:
    """The date a run asks the bank to collect on: the next weekday after ``moment``'s UTC date.

    SEPA Core accepts collections presented one business day ahead; TARGET2 holidays are left to the bank, which
    moves a collection falling on one to the next business day."""
    day = moment.date() + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


class CollectionStatus(StrEnum):
    """Where a collection is: waiting for a run, in a file sent to the bank, confirmed by a statement, returned."""

    PENDING = "pending"
    SUBMITTED = "submitted"
    COLLECTED = "collected"
    RETURNED = "returned"


class RunStatus(StrEnum):
    """A run is ``open`` from the moment it takes its collections until its file is stored, then ``complete``."""

    OPEN = "open"
    COMPLETE = "complete"


@dataclass(frozen=True, slots=True)
class BankAccount:
    """A customer's bank account and the mandate that lets Kleline debit it (the IBAN is never shown whole)."""

    id: str
    customer_id: str
    iban: str
    bic: str | None
    holder_name: str
    mandate_id: str
    mandate_signed_at: datetime
    created_at: datetime

    @property
    def masked_iban(self) -> str:
        """The IBAN as the API shows it."""
        return mask_iban(self.iban)


@dataclass(frozen=True, slots=True)
class Collection:
    """One direct debit of a customer's account for a top-up already credited to the purse.

    ``id`` (``dd_...``) is also the end-to-end id the bank returns on statement lines. ``shortfall`` is what the
    purse could not give back when the collection was returned: the customer's debt."""

    id: str
    top_up_id: str
    customer_id: str
    bank_account_id: str
    amount: Money
    status: CollectionStatus
    run_id: str | None
    sequence: str | None
    created_at: datetime
    submitted_at: datetime | None = None
    collected_at: datetime | None = None
    collected_line_ref: str | None = None
    returned_at: datetime | None = None
    returned_line_ref: str | None = None
    return_reason: str | None = None
    shortfall: Money | None = None

    @property
    def end_to_end_id(self) -> str:
        """The reference the collection carries in the pain.008 file and comes back with: its id, in SEPA's
        character set."""
        return sepa_reference(self.id)

    @property
    def entry_id(self) -> str:
        """The ledger entry that credited the purse (in-transit Dr / purse Cr): the top-up's id."""
        return self.top_up_id

    @property
    def collected_entry_id(self) -> str:
        """The entry that confirms the money arrived (safeguarding Dr / in-transit Cr)."""
        return f"{self.id}:collected"

    @property
    def returned_entry_id(self) -> str:
        """The entry that reverses the top-up when the bank returns the collection."""
        return f"{self.id}:returned"


@dataclass(frozen=True, slots=True)
class CollectionRun:
    """One pain.008 file's worth of collections; ``has_file`` is False for a run that found nothing to send."""

    id: str
    status: RunStatus
    collection_date: date
    collection_count: int
    total: Money
    created_at: datetime
    completed_at: datetime | None
    has_file: bool


@dataclass(frozen=True, slots=True)
class Receivable:
    """What a customer still owes after returned collections: the ledger balance of their receivable account."""

    customer_id: str
    outstanding: Money
    returned_collections: int
    last_returned_at: datetime | None


@dataclass(frozen=True, slots=True)
class ReceivableSettlement:
    """One movement that cleared (part of) a customer's debt: ``repayment`` (from the purse) or ``write_off`` (to
    Kleline's loss). ``id`` is its ledger entry; ``outstanding`` what the customer still owes after it."""

    id: str
    customer_id: str
    kind: Literal["repayment", "write_off"]
    amount: Money
    outstanding: Money
    created_at: datetime
