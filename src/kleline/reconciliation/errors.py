"""What importing a statement or resolving a suspense item may refuse.

    KlelineError
     └── ReconciliationError
          ├── UnknownBankAccount       the statement is of an account that is not Kleline's (400)
          ├── StatementConflict        a statement id already imported with other content (409)
          ├── StatementNotFound        no such imported statement (404)
          ├── StatementTooLarge        a document larger than the import accepts (413)
          ├── StoredDocumentDamaged    a kept document no longer matches its digest (500; the worker logs it)
          ├── SuspenseItemNotFound     no such suspense item (404)
          ├── SuspenseItemResolved     the item was already resolved, otherwise (409)
          ├── ResolutionRefused        the resolution does not fit the line: amount, direction, currency (409)
          └── InvalidResolution        the request names no target, or several (400)

A malformed document is ``kleline.sepa.MalformedStatement`` (400), raised before anything is written.
"""

from __future__ import annotations

from kleline.errors import KlelineError

__all__ = [
    "InvalidResolution",
    "ReconciliationError",
    "ResolutionRefused",
    "StatementConflict",
    "StatementNotFound",
    "StatementTooLarge",
    "StoredDocumentDamaged",
    "SuspenseItemNotFound",
    "SuspenseItemResolved",
    "UnknownBankAccount",
]


class ReconciliationError(KlelineError):
    """The root of reconciliation's refusals."""

    code = "reconciliation_error"
    status = 400


class UnknownBankAccount(ReconciliationError):
    """The statement describes an account other than Kleline's safeguarding account."""

    code = "unknown_bank_account"
    status = 400


class StatementConflict(ReconciliationError):
    """A statement with this account and statement id was imported before, and said something else."""

    code = "statement_conflict"
    status = 409


class StatementNotFound(ReconciliationError):
    """No imported statement has this id."""

    code = "not_found"
    status = 404


class StatementTooLarge(ReconciliationError):
    """The document is larger than an import accepts (refused before it is read whole)."""

    code = "statement_too_large"
    status = 413


class StoredDocumentDamaged(ReconciliationError):
    """The document kept to finish an interrupted import no longer decompresses to the bytes it was stored as."""

    code = "stored_document_damaged"
    status = 500


class SuspenseItemNotFound(ReconciliationError):
    """No suspense item has this id."""

    code = "not_found"
    status = 404


class SuspenseItemResolved(ReconciliationError):
    """The suspense item was already resolved, in another way than the one asked now."""

    code = "suspense_item_resolved"
    status = 409


class ResolutionRefused(ReconciliationError):
    """The line cannot belong where the operator says: another amount, direction or currency, or already settled."""

    code = "resolution_refused"
    status = 409


class InvalidResolution(ReconciliationError):
    """A resolution names exactly one target (an object or an account), or none to dismiss a line never posted."""

    code = "invalid_resolution"
    status = 400
