"""Purse top-ups by SEPA direct debit: customers' bank accounts and mandates, top-ups credited at once, collection
runs that send one pain.008 file each, and the bank's answer (collected, or returned: the top-up reversed and any
shortfall owed by the customer), and clearing that debt (repaid from the purse, or written off).

Public surface: ``Collections`` (the use cases, and what reconciliation calls), the values of
``collections.model`` and the errors of ``collections.errors``.
"""

from kleline.collections.direct_debits import DirectDebitTopUp
from kleline.collections.errors import (
    AmountExceedsDebt,
    BankAccountExists,
    CollectionAlreadySettled,
    CollectionNotSubmitted,
    CollectionRunOpen,
    CollectionsPending,
    DebtChanged,
    InvalidBankAccount,
    MandateRequired,
    NoCollectionFile,
    NothingOwed,
    PurseEmpty,
    ReceivableOutstanding,
    UnknownBankAccount,
    UnknownCollection,
    UnknownCollectionRun,
)
from kleline.collections.model import (
    BAD_DEBT_ACCOUNT,
    BankAccount,
    Collection,
    CollectionRun,
    CollectionStatus,
    Receivable,
    ReceivableSettlement,
    RunStatus,
    receivable_code,
)
from kleline.collections.service import Collections

__all__ = [
    "BAD_DEBT_ACCOUNT",
    "AmountExceedsDebt",
    "BankAccount",
    "BankAccountExists",
    "Collection",
    "CollectionAlreadySettled",
    "CollectionNotSubmitted",
    "CollectionRun",
    "CollectionRunOpen",
    "CollectionStatus",
    "Collections",
    "CollectionsPending",
    "DebtChanged",
    "DirectDebitTopUp",
    "InvalidBankAccount",
    "MandateRequired",
    "NoCollectionFile",
    "NothingOwed",
    "PurseEmpty",
    "Receivable",
    "ReceivableOutstanding",
    "ReceivableSettlement",
    "RunStatus",
    "UnknownBankAccount",
    "UnknownCollection",
    "UnknownCollectionRun",
    "receivable_code",
]
