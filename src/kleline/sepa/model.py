"""The values SEPA files carry, independent of any XML: who pays whom, how much, under which reference.

Kleline writes two kinds of file to its bank (credit transfers, pain.001, to pay merchants out; direct debits,
pain.008, to collect purse top-ups from customers' accounts) and reads one kind back (account statements,
camt.053). These dataclasses are what the rest of Kleline sees; ``kleline.sepa.pain001``, ``pain008`` and
``camt053`` turn them into bytes and back, and nothing else touches XML.

Amounts are ``Money`` (integer minor units): a statement's "12.50" becomes ``Money(1250, "EUR")`` by exact decimal
parsing, never through a float. A statement line's amount is always positive; ``direction`` says which way it went.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from kleline.money import Money

__all__ = [
    "BankStatement",
    "CreditTransfer",
    "DirectDebit",
    "Direction",
    "OwnAccount",
    "StatementLine",
    "object_id",
    "sepa_reference",
]


@dataclass(frozen=True, slots=True)
class OwnAccount:
    """Kleline's own (safeguarding) account: the debtor of payouts, the creditor of collections."""

    iban: str
    bic: str
    name: str
    creditor_id: str  # SEPA creditor identifier, carried by direct debits

    @property
    def safeguarding_code(self) -> str:
        """The ledger account that mirrors this bank account."""
        return f"bank:{self.bic}:safeguarding"

    @property
    def in_transit_code(self) -> str:
        """The ledger clearing account for payouts and collections sent but not yet on a statement."""
        return f"bank:{self.bic}:in-transit"


@dataclass(frozen=True, slots=True)
class CreditTransfer:
    """One payout in a pain.001 file: ``amount`` to ``name``'s account, traced by ``end_to_end_id``."""

    end_to_end_id: str  # the payout id (po_...): comes back on the statement line
    amount: Money
    name: str
    iban: str
    bic: str
    remittance: str  # what the merchant's statement shows, e.g. "Kleline payout 2026-01-15"


@dataclass(frozen=True, slots=True)
class DirectDebit:
    """One collection in a pain.008 file: ``amount`` from ``name``'s account under mandate ``mandate_id``."""

    end_to_end_id: str  # the collection id: comes back on the statement line (and on its return)
    amount: Money
    name: str
    iban: str
    bic: str | None
    mandate_id: str
    mandate_signed_on: date
    sequence: str  # "FRST", "RCUR" (a mandate's first collection, then the others), or "OOFF"
    remittance: str


class Direction(StrEnum):
    """Which way a statement line moved money, seen from Kleline's account."""

    CREDIT = "credit"  # money came in
    DEBIT = "debit"  # money went out


@dataclass(frozen=True, slots=True)
class StatementLine:
    """One booked entry of a statement (``Ntry``), with the transaction reference it carried."""

    entry_ref: str  # the bank's reference of the entry (NtryRef / AcctSvcrRef): unique within the account
    amount: Money  # positive
    direction: Direction
    booking_date: date
    end_to_end_id: str | None  # what Kleline put on the payment (payout id, collection id) or the card network's
    return_reason: str | None  # an R-transaction's ISO reason code (AC04, AM04, MD06, ...); None for an ordinary line
    counterparty_name: str | None
    counterparty_iban: str | None
    remittance: str | None


@dataclass(frozen=True, slots=True)
class BankStatement:
    """A camt.053 statement of one account: its lines and the balances the bank reports around them."""

    message_id: str
    statement_id: str
    account_iban: str
    currency: str
    created_at: datetime
    opening_balance: Money | None  # signed: negative when the bank reports a debit balance
    closing_balance: Money | None
    lines: tuple[StatementLine, ...]
    sequence_number: int | None = None  # ElctrncSeqNb: the bank numbers an account's statements 1, 2, 3...


def sepa_reference(object_id: str) -> str:
    """An id (``po_3f…``) as the reference a SEPA file carries (``po-3f…``): the EPC's restricted character set,
    which many banks enforce on end-to-end and message ids, has no underscore, while the XSD alone would allow it."""
    return object_id.replace("_", "-")


def object_id(reference: str, prefix: str) -> str | None:
    """The id of kind ``prefix`` (``"po"``) that a SEPA reference names, whichever separator came back; None when
    the reference is not of that kind."""
    for separator in ("-", "_"):
        if reference.startswith(prefix + separator):
            return f"{prefix}_{reference[len(prefix) + 1 :]}"
    return None
