"""What the sandbox issuers keep, and the store interface that keeps it: in memory, or in Kleline's database.

The issuers' rules (``kleline.banks.sandbox``) are pure: they read and change plain records through one request's
``SandboxBooks`` and never see where the records live. A ``SandboxStore`` runs each request in a session of its own:
exclusive (no other request of any process sharing the store runs meanwhile) and atomic (every change the request
made is kept when it ends normally, none when it raises). The books load only the records the request asks for,
each once, hand out working copies, and give the store back exactly what changed (``SandboxChanges``).

Two stores keep the same records the same way: ``MemorySandboxStore`` here, for a process that is its own
durability (the bank simulator replays its journal into it) and for unit tests of the rules; and
``kleline.banks.sandbox_db.DatabaseSandboxStore``, what ``KLELINE_BANK_URL=sandbox:`` uses, so that authorisations
survive a restart and every Kleline process on one database sees the same issuers.

Cardholders are named by a key the store derives from the card number (``card_key``): the database store keeps
keyed hashes, never numbers.
"""

from __future__ import annotations

import dataclasses
import threading
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from kleline.banks.cardholders import CardholderAccount
from kleline.banks.network import CvcResult
from kleline.money import Money

__all__ = [
    "AuthorizationState",
    "MemorySandboxStore",
    "RrnRecord",
    "SandboxAnswer",
    "SandboxAuthorization",
    "SandboxBooks",
    "SandboxChanges",
    "SandboxRefund",
    "SandboxStore",
]


class AuthorizationState(StrEnum):
    OPEN = "open"
    CAPTURED = "captured"
    REVERSED = "reversed"


@dataclass(frozen=True, slots=True)
class SandboxAnswer:
    """The first answer to an authorisation, and what it was asked (``card``: the card's key), for repeats."""

    card: str
    amount: Money
    code: str
    approval_code: str | None
    cvc_result: CvcResult


@dataclass(slots=True)
class SandboxAuthorization:
    """An approved authorisation: the cardholder (key) it holds funds of, and what became of it."""

    account: str
    amount: Money
    state: AuthorizationState = AuthorizationState.OPEN
    captured: Money | None = None
    refunded: int = 0


@dataclass(slots=True)
class RrnRecord:
    """Everything the issuers remember of one RRN, forgotten together ``retention`` after ``last_seen``."""

    rrn: str
    last_seen: datetime
    answer: SandboxAnswer | None = None
    authorization: SandboxAuthorization | None = None
    reversed_early: bool = False  # a reversal came before any authorisation: a late one is refused

    def copy(self) -> RrnRecord:
        """A working copy, changed without touching this one."""
        held = self.authorization
        return dataclasses.replace(self, authorization=None if held is None else dataclasses.replace(held))


@dataclass(frozen=True, slots=True)
class SandboxRefund:
    """A refund credited, by its reference: a repeat is answered without crediting again."""

    reference: str
    rrn: str
    amount: Money


@dataclass(slots=True)
class SandboxChanges:
    """What one request changed: accounts and RRN records to write, RRNs forgotten (with their refunds, and to be
    applied before the rest), refunds credited."""

    accounts: dict[str, CardholderAccount] = field(default_factory=dict)
    new_accounts: set[str] = field(default_factory=set)
    records: dict[str, RrnRecord] = field(default_factory=dict)
    new_records: set[str] = field(default_factory=set)
    forgotten: list[str] = field(default_factory=list)
    refunds: list[SandboxRefund] = field(default_factory=list)


def copy_account(account: CardholderAccount) -> CardholderAccount:
    """A working copy of a cardholder's account."""
    return dataclasses.replace(account, posted=dict(account.posted), held=dict(account.held))


class SandboxBooks(ABC):
    """One request's view of the issuers' records: each loaded once, handed out as a working copy to change."""

    def __init__(self) -> None:
        self._accounts: dict[str, CardholderAccount | None] = {}
        self._accounts_read: dict[str, CardholderAccount | None] = {}
        self._records: dict[str, RrnRecord | None] = {}
        self._records_read: dict[str, RrnRecord | None] = {}
        self._refunds: dict[str, SandboxRefund | None] = {}
        self._new_refunds: list[SandboxRefund] = []
        self._forgotten: set[str] = set()  # RRNs forgotten by this request (one may be remembered anew after)

    @abstractmethod
    def card_key(self, number: str) -> str:
        """The key the store names a card's holder by."""

    @abstractmethod
    def _load_account(self, key: str) -> CardholderAccount | None: ...

    @abstractmethod
    def _load_record(self, rrn: str) -> RrnRecord | None: ...

    @abstractmethod
    def _load_refund(self, reference: str) -> SandboxRefund | None: ...

    @abstractmethod
    def _load_stale(self, horizon: datetime) -> list[RrnRecord]:
        """The records last seen at or before ``horizon``."""

    def account(self, key: str) -> CardholderAccount | None:
        """The cardholder's account, or None when it was never opened."""
        if key not in self._accounts:
            loaded = self._load_account(key)
            self._accounts_read[key] = loaded
            self._accounts[key] = None if loaded is None else copy_account(loaded)
        return self._accounts[key]

    def open_account(self, key: str, account: CardholderAccount) -> None:
        """Open a cardholder's account (one ``account`` found none for)."""
        if self.account(key) is not None:
            raise ValueError("this cardholder's account is open already")
        self._accounts[key] = account

    def record(self, rrn: str) -> RrnRecord | None:
        """What the issuers remember of ``rrn``, or None."""
        if rrn not in self._records:
            self._remember_read(rrn, self._load_record(rrn))
        return self._records[rrn]

    def add_record(self, record: RrnRecord) -> None:
        """Remember a new RRN."""
        if self.record(record.rrn) is not None:
            raise ValueError("this RRN is remembered already")
        self._records[record.rrn] = record

    def refund(self, reference: str) -> SandboxRefund | None:
        """The refund credited under ``reference``, or None."""
        if reference not in self._refunds:
            self._refunds[reference] = self._load_refund(reference)
        return self._refunds[reference]

    def add_refund(self, refund: SandboxRefund) -> None:
        """Record a refund credited (its RRN must be remembered: it is forgotten with it)."""
        if self.refund(refund.reference) is not None:
            raise ValueError("this refund reference is used already")
        self._refunds[refund.reference] = refund
        self._new_refunds.append(refund)

    def stale(self, horizon: datetime) -> list[RrnRecord]:
        """The records last seen at or before ``horizon``, as this request sees them."""
        for loaded in self._load_stale(horizon):
            if loaded.rrn not in self._records:
                self._remember_read(loaded.rrn, loaded)
        return [r for r in self._records.values() if r is not None and r.last_seen <= horizon]

    def forget(self, rrn: str) -> None:
        """Forget ``rrn`` and the refunds made under it."""
        self.record(rrn)
        self._records[rrn] = None
        self._forgotten.add(rrn)
        for reference, refund in self._refunds.items():
            if refund is not None and refund.rrn == rrn:
                self._refunds[reference] = None
        self._new_refunds = [r for r in self._new_refunds if r.rrn != rrn]

    def changes(self) -> SandboxChanges:
        """Everything this request changed, for its store to keep."""
        changes = SandboxChanges(refunds=list(self._new_refunds))
        for key, account in self._accounts.items():
            if account is not None and account != self._accounts_read[key]:
                changes.accounts[key] = account
                if self._accounts_read.get(key) is None:
                    changes.new_accounts.add(key)
        for rrn, record in self._records.items():
            read = self._records_read.get(rrn)
            gone = read is not None and rrn in self._forgotten
            if gone:
                changes.forgotten.append(rrn)  # applied first: a record remembered anew is then new
            if record is not None and (gone or record != read):
                changes.records[rrn] = record
                if gone or read is None:
                    changes.new_records.add(rrn)
        return changes

    def _remember_read(self, rrn: str, loaded: RrnRecord | None) -> None:
        self._records_read[rrn] = loaded
        self._records[rrn] = None if loaded is None else loaded.copy()


class SandboxStore(Protocol):
    """Where the issuers' records live; each request runs in one exclusive, atomic session."""

    def session(self) -> AbstractContextManager[SandboxBooks]:
        """The books of one request: its changes are kept if the block ends normally, dropped if it raises."""
        ...

    def remembered(self) -> int:
        """How many RRNs are remembered (bounded by the issuers' retention)."""
        ...


class MemorySandboxStore:
    """The issuers' records in this process's memory, behind one lock: lost with the process.

    For what is durable by other means (the bank simulator, whose journal replays every request into it) and for unit
    tests of the rules; ``KLELINE_BANK_URL=sandbox:`` keeps its records in the database instead."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._accounts: dict[str, CardholderAccount] = {}
        self._records: dict[str, RrnRecord] = {}
        self._by_last_seen: OrderedDict[str, datetime] = OrderedDict()  # the least recently seen first
        self._refunds: dict[str, SandboxRefund] = {}
        self._refunds_of: dict[str, list[str]] = {}  # RRN -> references of its refunds

    @contextmanager
    def session(self) -> Iterator[SandboxBooks]:
        """The books of one request, under the store's lock; the changes are applied when the block ends."""
        with self._lock:
            books = _MemoryBooks(self)
            yield books
            self._apply(books.changes())

    def remembered(self) -> int:
        """How many RRNs are remembered."""
        with self._lock:
            return len(self._records)

    def sizes(self) -> dict[str, int]:
        """How many entries each collection holds (tests check that retention bounds them)."""
        with self._lock:
            return {
                "records": len(self._records),
                "by_last_seen": len(self._by_last_seen),
                "refunds": len(self._refunds),
                "refunds_of": len(self._refunds_of),
            }

    def _apply(self, changes: SandboxChanges) -> None:
        self._accounts.update(changes.accounts)
        for rrn in changes.forgotten:
            del self._records[rrn]
            self._by_last_seen.pop(rrn, None)
            for reference in self._refunds_of.pop(rrn, ()):
                self._refunds.pop(reference, None)
        for rrn, record in changes.records.items():
            self._records[rrn] = record
            self._by_last_seen[rrn] = record.last_seen
            self._by_last_seen.move_to_end(rrn)
        for refund in changes.refunds:
            self._refunds[refund.reference] = refund
            self._refunds_of.setdefault(refund.rrn, []).append(refund.reference)


class _MemoryBooks(SandboxBooks):
    def __init__(self, store: MemorySandboxStore) -> None:
        super().__init__()
        self._store = store

    def card_key(self, number: str) -> str:
        return number  # never leaves the process

    def _load_account(self, key: str) -> CardholderAccount | None:
        return self._store._accounts.get(key)

    def _load_record(self, rrn: str) -> RrnRecord | None:
        return self._store._records.get(rrn)

    def _load_refund(self, reference: str) -> SandboxRefund | None:
        return self._store._refunds.get(reference)

    def _load_stale(self, horizon: datetime) -> list[RrnRecord]:
        stale = []
        for rrn, seen in self._store._by_last_seen.items():
            if seen > horizon:
                break
            stale.append(self._store._records[rrn])
        return stale
