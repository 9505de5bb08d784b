"""Purse top-ups by SEPA direct debit: customers' bank accounts and mandates, top-ups credited at once, collection
runs that send one pain.008 file each, and the bank's answer (collected, or returned: the top-up reversed and any
shortfall owed by the customer).

Public surface: ``Collections`` (the use cases, and what reconciliation calls), the values of
``collections.model`` and the errors of ``collections.errors``.
"""

from kleline.collections.direct_debits import DirectDebitTopUp
from kleline.collections.errors import (
    BankAccountExists,
    CollectionAlreadySettled,
    CollectionNotSubmitted,
    CollectionsPending,
    InvalidBankAccount,
    MandateRequired,
    NoCollectionFile,
    ReceivableOutstanding,
    UnknownBankAccount,
    UnknownCollection,
    UnknownCollectionRun,
)
from kleline.collections.model import (
    BankAccount,
    Collection,
    CollectionRun,
    CollectionStatus,
    Receivable,
    RunStatus,
    receivable_code,
)
from kleline.collections.service import Collections

__all__ = [
    "BankAccount",
    "BankAccountExists",
    "Collection",
    "CollectionAlreadySettled",
    "CollectionNotSubmitted",
    "CollectionRun",
    "CollectionStatus",
    "Collections",
    "CollectionsPending",
    "DirectDebitTopUp",
    "InvalidBankAccount",
    "MandateRequired",
    "NoCollectionFile",
    "Receivable",
    "ReceivableOutstanding",
    "RunStatus",
    "UnknownBankAccount",
    "UnknownCollection",
    "UnknownCollectionRun",
    "receivable_code",
]
