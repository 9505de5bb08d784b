"""The double-entry ledger: knows accounts, entries, holds and balances, nothing of shops or customers.

Public surface: ``Ledger`` (the one door for writes) and the values of ``ledger.model``.
"""

from kleline.ledger.errors import (
    AccountConflict,
    CurrencyMismatch,
    EntryConflict,
    HoldCommitTooLarge,
    HoldNotPending,
    InsufficientFunds,
    InvalidEntry,
    LedgerError,
    UnknownAccount,
    UnknownHold,
)
from kleline.ledger.model import (
    Account,
    Balance,
    BatchResult,
    Entry,
    EntryRequest,
    Hold,
    HoldRequest,
    HoldStatus,
    NormalSide,
    Posting,
    credit,
    debit,
)
from kleline.ledger.service import HistoryLine, HistoryQuery, Ledger

__all__ = [
    "Account",
    "AccountConflict",
    "Balance",
    "BatchResult",
    "CurrencyMismatch",
    "Entry",
    "EntryConflict",
    "EntryRequest",
    "HistoryLine",
    "HistoryQuery",
    "Hold",
    "HoldCommitTooLarge",
    "HoldNotPending",
    "HoldRequest",
    "HoldStatus",
    "InsufficientFunds",
    "InvalidEntry",
    "Ledger",
    "LedgerError",
    "NormalSide",
    "Posting",
    "UnknownAccount",
    "UnknownHold",
    "credit",
    "debit",
]
