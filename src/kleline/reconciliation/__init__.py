"""Reconciliation: Kleline's bank statements (camt.053) checked line by line against its books.

Each line is matched by end-to-end id, amount and direction to what it confirms (a payout leaving, a direct debit
collected, a card network settling captures or refunds) or reverses (a returned payout or collection), and the
confirming entry is posted; whatever the books cannot explain is booked to ``kleline:suspense`` and queued for an
operator, who later says where it belongs.

Public surface: ``Reconciliation`` (imports), ``SuspenseQueue`` (the operator's queue), ``Counterparts`` (what
both use to find and confirm a line's object), the values of ``reconciliation.model`` and the errors of
``reconciliation.errors``.
"""

from kleline.reconciliation.counterparts import Counterparts
from kleline.reconciliation.errors import (
    InvalidResolution,
    ReconciliationError,
    ResolutionRefused,
    StatementConflict,
    StatementNotFound,
    StatementTooLarge,
    StoredDocumentDamaged,
    SuspenseItemNotFound,
    SuspenseItemResolved,
    UnknownBankAccount,
)
from kleline.reconciliation.model import (
    Action,
    ImportResult,
    LineOutcome,
    LineStatus,
    Resolution,
    StatementImport,
    SuspenseItem,
    SuspenseReason,
    Target,
)
from kleline.reconciliation.service import Reconciliation
from kleline.reconciliation.suspense import RESOLUTION_KINDS, ResolutionRequest, SuspenseQueue

__all__ = [
    "RESOLUTION_KINDS",
    "Action",
    "Counterparts",
    "ImportResult",
    "InvalidResolution",
    "LineOutcome",
    "LineStatus",
    "Reconciliation",
    "ReconciliationError",
    "Resolution",
    "ResolutionRefused",
    "ResolutionRequest",
    "StatementConflict",
    "StatementImport",
    "StatementNotFound",
    "StatementTooLarge",
    "StoredDocumentDamaged",
    "SuspenseItem",
    "SuspenseItemNotFound",
    "SuspenseItemResolved",
    "SuspenseQueue",
    "SuspenseReason",
    "Target",
    "UnknownBankAccount",
]
