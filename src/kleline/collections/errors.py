"""What direct debits refuse, each with a stable code.

KlelineError
 ├── ValidationError ──── InvalidBankAccount       validation_error: holder name missing or too long
 │                    ├── MandateRequired          mandate_required: the customer did not accept the mandate
 │                    ├── AmountExceedsDebt        amount_exceeds_debt: more asked cleared than the customer owes
 │                    └── (merchants.errors) InvalidIban, InvalidBic: the IBAN or BIC is refused
 ├── NotFound ─────────── UnknownBankAccount       no such bank account (or another customer's)
 │                    ├── UnknownCollection        no such collection
 │                    ├── UnknownCollectionRun     no such collection run
 │                    └── NoCollectionFile         the run found nothing to collect, so it has no file
 ├── Conflict ─────────── BankAccountExists        the customer already registered this IBAN
 │                    ├── CollectionsPending       the bank account still has collections waiting for a run
 │                    ├── CollectionRunOpen        the run's file is not written yet (a crash interrupted it)
 │                    ├── CollectionNotSubmitted   a statement line names a collection never sent to the bank
 │                    ├── CollectionAlreadySettled the collection was already confirmed or returned by another line
 │                    ├── NothingOwed              a repayment or write-off for a customer who owes nothing
 │                    ├── DebtChanged              a write-off approved for a debt that has changed since
 │                    └── PurseEmpty               a repayment from a purse with nothing available
 └── ReceivableOutstanding                         422: a returned collection left a debt: no more direct debits
"""

from __future__ import annotations

from kleline.errors import Conflict, KlelineError, NotFound, ValidationError

__all__ = [
    "AmountExceedsDebt",
    "BankAccountExists",
    "CollectionAlreadySettled",
    "CollectionNotSubmitted",
    "CollectionRunOpen",
    "CollectionsPending",
    "DebtChanged",
    "InvalidBankAccount",
    "MandateRequired",
    "NoCollectionFile",
    "NothingOwed",
    "PurseEmpty",
    "ReceivableOutstanding",
    "UnknownBankAccount",
    "UnknownCollection",
    "UnknownCollectionRun",
]


class InvalidBankAccount(ValidationError):
    """A bank account's field is missing, malformed or too long."""


class MandateRequired(ValidationError):
    """The customer did not accept the direct debit mandate, without which Kleline may not debit the account."""

    code = "mandate_required"


class AmountExceedsDebt(ValidationError):
    """A repayment or write-off may clear at most what the customer owes."""

    code = "amount_exceeds_debt"


class UnknownBankAccount(NotFound):
    """No such bank account, or one that belongs to another customer, or one that was removed."""


class UnknownCollection(NotFound):
    """No such collection."""


class UnknownCollectionRun(NotFound):
    """No such collection run."""


class NoCollectionFile(NotFound):
    """The run found no collection to send, so there is no pain.008 file to fetch."""

    code = "no_file"


class BankAccountExists(Conflict):
    """The customer already has this IBAN registered, under a mandate that still holds."""

    code = "bank_account_exists"


class CollectionsPending(Conflict):
    """The bank account has collections not yet sent: removing it would revoke the mandate they rely on."""

    code = "collections_pending"


class CollectionRunOpen(Conflict):
    """The run took its collections but its file is not written yet: a crash interrupted it, and only a run (not a
    read) finishes it."""

    code = "collection_run_open"


class CollectionNotSubmitted(Conflict):
    """A statement line names a collection that was never sent to the bank (it is still ``pending``)."""

    code = "collection_not_submitted"


class CollectionAlreadySettled(Conflict):
    """The collection was already confirmed or returned by another statement line: this one is a duplicate."""

    code = "collection_already_settled"


class NothingOwed(Conflict):
    """The customer owes nothing (never did, or the debt is already cleared): there is nothing to repay or write off."""

    code = "nothing_owed"


class DebtChanged(Conflict):
    """A write-off decided on a debt of one amount finds another (a repayment or a new return came in between)."""

    code = "debt_changed"


class PurseEmpty(Conflict):
    """The customer owes money but the purse has nothing available to repay it with (write it off, or wait)."""

    code = "purse_empty"


class ReceivableOutstanding(KlelineError):
    """A direct debit of this customer came back unpaid and the debt is not cleared: no new direct debit."""

    code = "receivable_outstanding"
    status = 422
