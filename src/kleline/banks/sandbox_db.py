"""The sandbox issuers' records in Kleline's database: what ``KLELINE_BANK_URL=sandbox:`` runs on.

Kept in memory, the records died with the process (a ``kill -9`` between an authorisation and its capture left a
capture the issuer refused) and each process had issuers of its own (the worker could not capture what an API worker
had authorised). Here they are rows (tables ``sandbox_*``, migration 0019), so they survive a restart and every
process on the database shares them, as it shares the rest of Kleline's state.

Each request is one write transaction that loads only the rows it names, and writes back only what it changed
(``SandboxBooks.changes``). Requests run one at a time, across processes: on PostgreSQL under a transaction-scoped
advisory lock taken first (the issuers' rules read a balance, then hold against it, and forgetting an RRN releases a
hold on another cardholder's account, so row locks would have to be taken in an order no request knows in advance);
SQLite's write transactions already run one at a time. A sandbox request is a few small statements, so the queue
is short.

Card numbers never reach the database: a cardholder is its number's HMAC-SHA256 under a key derived from the vault's
fingerprint key (which never rotates, so the keys stay stable for the life of the database), with a purpose label of
its own so that a sandbox key never equals a vault fingerprint.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Final

from kleline.banks.cardholders import CardholderAccount
from kleline.banks.network import CvcResult
from kleline.banks.sandbox_books import (
    AuthorizationState,
    RrnRecord,
    SandboxAnswer,
    SandboxAuthorization,
    SandboxBooks,
    SandboxChanges,
    SandboxRefund,
)
from kleline.clock import epoch_us, from_epoch_us
from kleline.db.engine import Database, RawTx
from kleline.money import Money

__all__ = ["DatabaseSandboxStore"]

# First key of the PostgreSQL advisory lock that serialises sandbox requests (ASCII "sbox"), in the two-key form
# the other advisory locks of Kleline use with first keys of their own.
_LOCK_SPACE: Final = 0x73626F78
_CARD_KEY_PURPOSE: Final = b"kleline-sandbox-cardholder-v1"
_RRN_COLUMNS: Final = (
    "rrn, last_seen, reversed_early, card_key, amount, currency, code, approval_code, cvc_result, state, captured, "
    "refunded"
)


class DatabaseSandboxStore:
    """The sandbox issuers' records in the database; one transaction per request, one request at a time."""

    def __init__(self, db: Database, fingerprint_key: bytes) -> None:
        self._db = db
        self._key = hmac.new(fingerprint_key, _CARD_KEY_PURPOSE, hashlib.sha256).digest()

    @contextmanager
    def session(self) -> Iterator[SandboxBooks]:
        """The books of one request in one write transaction, committed with its changes when the block ends."""
        with self._db.transaction() as tx:
            if tx.is_postgres:
                tx.execute("SELECT pg_advisory_xact_lock(:space, 0)", {"space": _LOCK_SPACE})
            books = _DatabaseBooks(tx, self._key)
            yield books
            _write(tx, books.changes())

    def remembered(self) -> int:
        """How many RRNs the issuers remember."""
        with self._db.transaction(write=False) as tx:
            return int(tx.fetchone("SELECT COUNT(*) FROM sandbox_rrns")[0])

    def sizes(self) -> dict[str, int]:
        """How many rows each table of what is forgotten holds (retention bounds them; cardholders stay)."""
        with self._db.transaction(write=False) as tx:
            rrns = int(tx.fetchone("SELECT COUNT(*) FROM sandbox_rrns")[0])
            refunds = int(tx.fetchone("SELECT COUNT(*) FROM sandbox_refunds")[0])
        return {"sandbox_rrns": rrns, "sandbox_refunds": refunds}


class _DatabaseBooks(SandboxBooks):
    def __init__(self, tx: RawTx, key: bytes) -> None:
        super().__init__()
        self._tx = tx
        self._key = key

    def card_key(self, number: str) -> str:
        return hmac.new(self._key, number.encode(), hashlib.sha256).hexdigest()

    def _load_account(self, key: str) -> CardholderAccount | None:
        row = self._tx.fetchone("SELECT opening FROM sandbox_cardholders WHERE card_key = :key", {"key": key})
        if row is None:
            return None
        account = CardholderAccount(int(row[0]))
        for currency, posted, held in self._tx.fetchall(
            "SELECT currency, posted, held FROM sandbox_balances WHERE card_key = :key", {"key": key}
        ):
            account.posted[currency] = int(posted)
            if held:
                account.held[currency] = int(held)
        return account

    def _load_record(self, rrn: str) -> RrnRecord | None:
        row = self._tx.fetchone(f"SELECT {_RRN_COLUMNS} FROM sandbox_rrns WHERE rrn = :rrn", {"rrn": rrn})
        return None if row is None else _record(row)

    def _load_refund(self, reference: str) -> SandboxRefund | None:
        row = self._tx.fetchone(
            "SELECT reference, rrn, amount, currency FROM sandbox_refunds WHERE reference = :reference",
            {"reference": reference},
        )
        return None if row is None else SandboxRefund(row[0], row[1], Money(int(row[2]), row[3]))

    def _load_stale(self, horizon: datetime) -> list[RrnRecord]:
        rows = self._tx.fetchall(
            f"SELECT {_RRN_COLUMNS} FROM sandbox_rrns WHERE last_seen <= :horizon ORDER BY last_seen, rrn",
            {"horizon": epoch_us(horizon)},
        )
        return [_record(row) for row in rows]


def _record(row: Any) -> RrnRecord:
    record = RrnRecord(row[0], from_epoch_us(int(row[1])), reversed_early=bool(row[2]))
    if row[6] is not None:
        amount = Money(int(row[4]), row[5])
        record.answer = SandboxAnswer(row[3], amount, row[6], row[7], CvcResult(row[8]))
        if row[9] is not None:
            captured = None if row[10] is None else Money(int(row[10]), row[5])
            state = AuthorizationState(row[9])
            record.authorization = SandboxAuthorization(row[3], amount, state, captured, int(row[11]))
    return record


def _write(tx: RawTx, changes: SandboxChanges) -> None:
    tx.executemany(
        "INSERT INTO sandbox_cardholders (card_key, opening) VALUES (:key, :opening)",
        [{"key": key, "opening": changes.accounts[key].opening} for key in sorted(changes.new_accounts)],
    )
    balances = []
    for key, account in sorted(changes.accounts.items()):
        for currency in sorted(account.posted.keys() | account.held.keys()):
            posted, held = account.posted.get(currency, account.opening), account.held.get(currency, 0)
            balances.append({"key": key, "currency": currency, "posted": posted, "held": held})
    tx.executemany(
        "INSERT INTO sandbox_balances (card_key, currency, posted, held) VALUES (:key, :currency, :posted, :held) "
        "ON CONFLICT (card_key, currency) DO UPDATE SET posted = excluded.posted, held = excluded.held",
        balances,
    )
    forgotten = [{"rrn": rrn} for rrn in changes.forgotten]
    tx.executemany("DELETE FROM sandbox_refunds WHERE rrn = :rrn", forgotten)
    tx.executemany("DELETE FROM sandbox_rrns WHERE rrn = :rrn", forgotten)
    new = [_row(record) for rrn, record in sorted(changes.records.items()) if rrn in changes.new_records]
    changed = [_row(record) for rrn, record in sorted(changes.records.items()) if rrn not in changes.new_records]
    tx.executemany(
        f"INSERT INTO sandbox_rrns ({_RRN_COLUMNS}) VALUES (:rrn, :last_seen, :reversed_early, :card_key, :amount, "
        ":currency, :code, :approval_code, :cvc_result, :state, :captured, :refunded)",
        new,
    )
    tx.executemany(
        "UPDATE sandbox_rrns SET last_seen = :last_seen, reversed_early = :reversed_early, card_key = :card_key, "
        "amount = :amount, currency = :currency, code = :code, approval_code = :approval_code, "
        "cvc_result = :cvc_result, state = :state, captured = :captured, refunded = :refunded WHERE rrn = :rrn",
        changed,
    )
    tx.executemany(
        "INSERT INTO sandbox_refunds (reference, rrn, amount, currency) VALUES (:reference, :rrn, :amount, :currency)",
        [
            {"reference": r.reference, "rrn": r.rrn, "amount": r.amount.minor, "currency": r.amount.currency}
            for r in changes.refunds
        ],
    )


def _row(record: RrnRecord) -> dict[str, Any]:
    answer, held = record.answer, record.authorization
    # An authorisation is its approved answer's: the row keeps the cardholder and the amount once, for both.
    assert held is None or (answer is not None and (held.account, held.amount) == (answer.card, answer.amount))
    return {
        "rrn": record.rrn,
        "last_seen": epoch_us(record.last_seen),
        "reversed_early": record.reversed_early,
        "card_key": None if answer is None else answer.card,
        "amount": None if answer is None else answer.amount.minor,
        "currency": None if answer is None else answer.amount.currency,
        "code": None if answer is None else answer.code,
        "approval_code": None if answer is None else answer.approval_code,
        "cvc_result": None if answer is None else answer.cvc_result.value,
        "state": None if held is None else held.state.value,
        "captured": None if held is None or held.captured is None else held.captured.minor,
        "refunded": 0 if held is None else held.refunded,
    }
