"""Idempotency records' SQL (table ``idempotency_records``, migration 0006); times are epoch microseconds.

A row with ``status IS NULL`` is a claim: its request is running, and ``created_at`` is when its holder last renewed
it (``renew``, the lease of ``service``). ``claim`` is a random token of the claim's holder, so that only the
holder completes or releases it, even after another request has taken over an abandoned claim.
"""

from __future__ import annotations

from dataclasses import dataclass

from kleline.db.engine import RawTx

__all__ = [
    "Record",
    "complete",
    "complete_deferred",
    "delete_claim",
    "fetch",
    "insert_claim",
    "release",
    "renew",
    "sweep",
    "take_over",
]


@dataclass(frozen=True, slots=True)
class Record:
    """A stored row: the request's MAC, the holder's claim token, and the answer once there is one."""

    request_mac: bytes
    claim: bytes
    status: int | None
    response: bytes | None
    created_at: int


_CLAIM = "INSERT INTO idempotency_records (id, request_mac, claim, created_at) SELECT :id, :mac, :claim, :now WHERE {}"
_CLAIM_SQLITE = _CLAIM.format("true ON CONFLICT (id) DO NOTHING")
_CLAIM_POSTGRES = _CLAIM.format("set_config('synchronous_commit', 'off', true) IS NOT NULL ON CONFLICT (id) DO NOTHING")


def insert_claim(
    tx: RawTx, record_id: bytes, request_mac: bytes, claim: bytes, now: int, *, alone: bool = True
) -> bool:
    """Claim a key; False when a row already holds it (the unique key decides races, on both backends).

    One statement, so that ``Database.statement`` sends it in one round trip on PostgreSQL. There its commit does
    not wait for the WAL to reach the disk: ``set_config(..., true)`` lasts until the end of the statement's own
    transaction, whose commit comes before the setting is undone. That is safe: the request's own writes commit
    after the claim and wait for the WAL up to their commit, which includes the claim; and a claim lost in a crash
    before anything followed it held nothing. It spares every keyed request one disk flush, the dearest part of a
    claim, besides the BEGIN, SET LOCAL and COMMIT an explicit transaction would send.

    ``alone=False`` inside a request's own transaction: there the setting would last until that transaction's
    COMMIT and make the request's own writes wait for no disk, so the plain insert is sent.
    """
    cursor = tx.execute(
        _CLAIM_POSTGRES if tx.is_postgres and alone else _CLAIM_SQLITE,
        {"id": record_id, "mac": request_mac, "claim": claim, "now": now},
    )
    return bool(cursor.rowcount == 1)


def fetch(tx: RawTx, record_id: bytes) -> Record | None:
    """The row of a key, or None."""
    row = tx.fetchone(
        "SELECT request_mac, claim, status, response, created_at FROM idempotency_records WHERE id = :id",
        {"id": record_id},
    )
    if row is None:
        return None
    response = None if row[3] is None else bytes(row[3])
    return Record(bytes(row[0]), bytes(row[1]), row[2], response, int(row[4]))


def take_over(tx: RawTx, record_id: bytes, old_claim: bytes, new_claim: bytes, now: int) -> bool:
    """Take over an abandoned claim; False if it has meanwhile been completed, released or taken by another."""
    cursor = tx.execute(
        "UPDATE idempotency_records SET claim = :new, created_at = :now "
        "WHERE id = :id AND claim = :old AND status IS NULL",
        {"id": record_id, "old": old_claim, "new": new_claim, "now": now},
    )
    return bool(cursor.rowcount == 1)


def renew(tx: RawTx, record_id: bytes, claim: bytes, now: int) -> bool:
    """Extend a running claim's lease to ``now``; False if the claim is no longer held by ``claim``."""
    cursor = tx.execute(
        "UPDATE idempotency_records SET created_at = :now WHERE id = :id AND claim = :claim AND status IS NULL",
        {"id": record_id, "claim": claim, "now": now},
    )
    return bool(cursor.rowcount == 1)


def delete_claim(tx: RawTx, record_id: bytes, claim: bytes) -> None:
    """Delete an expired row, provided it is still the one that was read."""
    tx.execute("DELETE FROM idempotency_records WHERE id = :id AND claim = :claim", {"id": record_id, "claim": claim})


def complete(tx: RawTx, record_id: bytes, claim: bytes, status: int, response: bytes, now: int) -> bool:
    """Store the answer of a claim; False if the claim is no longer held."""
    cursor = tx.execute(
        "UPDATE idempotency_records SET status = :status, response = :response, completed_at = :now "
        "WHERE id = :id AND claim = :claim AND status IS NULL",
        {"id": record_id, "claim": claim, "status": status, "response": response, "now": now},
    )
    return bool(cursor.rowcount == 1)


def complete_deferred(tx: RawTx, record_id: bytes, claim: bytes, status: int, response: bytes, now: int) -> None:
    """``complete`` for a claim inserted in ``tx`` itself (nobody else can have touched it): no answer is awaited,
    so that on PostgreSQL it travels with the COMMIT."""
    tx.defer(
        "UPDATE idempotency_records SET status = :status, response = :response, completed_at = :now "
        "WHERE id = :id AND claim = :claim AND status IS NULL",
        {"id": record_id, "claim": claim, "status": status, "response": response, "now": now},
    )


def release(tx: RawTx, record_id: bytes, claim: bytes) -> None:
    """Give a claim up without an answer, so that the key is free again."""
    tx.execute(
        "DELETE FROM idempotency_records WHERE id = :id AND claim = :claim AND status IS NULL",
        {"id": record_id, "claim": claim},
    )


def sweep(tx: RawTx, before: int) -> int:
    """Delete every row created before ``before``; the number deleted."""
    cursor = tx.execute("DELETE FROM idempotency_records WHERE created_at < :before", {"before": before})
    return int(cursor.rowcount)
