"""Events', endpoints' and deliveries' SQL (the outbox's own insert lives in ``outbox``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from kleline.clock import epoch_us, from_epoch_us
from kleline.db.arrays import one_of
from kleline.db.engine import RawTx
from kleline.events.model import Attempt, Delivery, Event, SealedSecret, WebhookEndpoint
from kleline.ids import new_id

__all__ = [
    "Claimed",
    "cancel_pending",
    "claim_due",
    "count_live_endpoints",
    "disable_endpoint",
    "enable_endpoint",
    "endpoint_deliveries",
    "endpoints_not_under",
    "event_of_delivery",
    "find_endpoint",
    "find_event",
    "insert_endpoint",
    "insert_test_event",
    "list_deliveries",
    "list_endpoints",
    "list_events",
    "object_events",
    "object_events_query",
    "lock_merchant_endpoints",
    "mark_deleted",
    "record_attempt",
    "reschedule",
    "save_rewrapped",
    "save_secret",
    "sealed_secret",
]

# First key of the PostgreSQL advisory locks over a merchant's endpoints (ASCII "whep"), so that they cannot collide
# with another advisory lock that some day uses the two-key form with a different first key.
_ENDPOINTS_LOCK_SPACE = 0x77686570
_EVENT_COLUMNS = "id, merchant_id, type, object_id, data, created_at"
_ENDPOINT_COLUMNS = "id, merchant_id, url, status, disabled_reason, created_at"


def _event(row: Sequence[Any]) -> Event:
    return Event(row[0], row[1], row[2], row[3], json.loads(row[4]), from_epoch_us(row[5]))


def _endpoint(row: Sequence[Any]) -> WebhookEndpoint:
    return WebhookEndpoint(row[0], row[1], row[2], row[3], row[4], from_epoch_us(row[5]))


# -- events --


def find_event(tx: RawTx, merchant_id: str, event_id: str) -> tuple[int, Event] | None:
    """The merchant's event and its sequence number, or None (unknown, or another merchant's)."""
    row = tx.fetchone(
        f"SELECT seq, {_EVENT_COLUMNS} FROM events WHERE id = :id AND merchant_id = :merchant",
        {"id": event_id, "merchant": merchant_id},
    )
    return None if row is None else (int(row[0]), _event(row[1:]))


def list_events(tx: RawTx, merchant_id: str, *, limit: int, before_seq: int | None, type: str | None) -> list[Event]:
    """The merchant's events, newest first; only older than ``before_seq`` and of ``type`` when given."""
    sql = f"SELECT {_EVENT_COLUMNS} FROM events WHERE merchant_id = :merchant"
    params: dict[str, Any] = {"merchant": merchant_id, "limit": limit}
    if type is not None:
        sql += " AND type = :type"
        params["type"] = type
    if before_seq is not None:
        sql += " AND seq < :before"
        params["before"] = before_seq
    return [_event(row) for row in tx.fetchall(sql + " ORDER BY seq DESC LIMIT :limit", params)]


def object_events(tx: RawTx, merchant_id: str, object_ids: Sequence[str], *, limit: int) -> list[Event]:
    """The merchant's events about any of ``object_ids`` (a payment and its refunds), oldest first, ``limit`` at
    most (past it, the last objects' latest events are the ones left out)."""
    if not object_ids:
        return []
    sql, params = object_events_query(merchant_id, object_ids, limit=limit)
    rows = sorted(tx.fetchall(sql, params), key=lambda row: int(row[0]))
    return [_event(row[1:]) for row in rows]


def object_events_query(merchant_id: str, object_ids: Sequence[str], *, limit: int) -> tuple[str, dict[str, object]]:
    """The statement of ``object_events`` and its parameters.

    It is ordered by object, then ``seq``, the order of ``ix_events_merchant_object`` (merchant, object, seq), and
    sorted by ``seq`` afterwards: ordered by ``seq`` alone, both backends' planners prefer walking the merchant's
    every event in ``ix_events_merchant_seq`` (no sort needed) over the few rows of the objects' own index ranges,
    which on a merchant with 100,000 events is a scan of them all."""
    names = {f"object_{index}": object_id for index, object_id in enumerate(object_ids)}
    listed = ", ".join(f":{name}" for name in names)
    sql = (
        f"SELECT seq, {_EVENT_COLUMNS} FROM events WHERE merchant_id = :merchant AND object_id IN ({listed})"
        " ORDER BY object_id, seq LIMIT :limit"
    )
    return sql, {"merchant": merchant_id, "limit": limit, **names}


# -- endpoints --


def insert_endpoint(tx: RawTx, endpoint: WebhookEndpoint, secret: SealedSecret, created_at: int) -> None:
    """Record a new endpoint with its sealed secret."""
    tx.execute(
        "INSERT INTO webhook_endpoints (id, merchant_id, url, status, key_id, wrapped_key, nonce, ciphertext, "
        "created_at) VALUES (:id, :merchant, :url, :status, :key_id, :wrapped, :nonce, :ciphertext, :at)",
        {
            "id": endpoint.id,
            "merchant": endpoint.merchant_id,
            "url": endpoint.url,
            "status": endpoint.status,
            "key_id": secret.key_id,
            "wrapped": secret.wrapped_key,
            "nonce": secret.nonce,
            "ciphertext": secret.ciphertext,
            "at": created_at,
        },
    )


def lock_merchant_endpoints(tx: RawTx, merchant_id: str) -> None:
    """Serialise changes to a merchant's set of endpoints until the transaction ends (count, then insert).

    PostgreSQL at READ COMMITTED would let two registrations both count 15 and both insert; a transaction-scoped
    advisory lock on the merchant makes them queue. It is keyed on the merchant's id rather than taken on its row in
    ``merchants``, a table of a sibling package that events do not read (and whose status changes lock that row), and
    it needs no existing endpoint row to lock. A hash collision only makes two merchants' registrations queue.
    SQLite's write transactions already run one at a time (``BEGIN IMMEDIATE``).
    """
    if tx.is_postgres:
        tx.execute(
            "SELECT pg_advisory_xact_lock(:space, hashtext(:merchant))",
            {"space": _ENDPOINTS_LOCK_SPACE, "merchant": merchant_id},
        )


def count_live_endpoints(tx: RawTx, merchant_id: str) -> int:
    """How many endpoints the merchant has not deleted."""
    row = tx.fetchone(
        "SELECT COUNT(*) FROM webhook_endpoints WHERE merchant_id = :merchant AND deleted_at IS NULL",
        {"merchant": merchant_id},
    )
    return int(row[0])


def find_endpoint(tx: RawTx, merchant_id: str, endpoint_id: str) -> WebhookEndpoint | None:
    """The merchant's live (not deleted) endpoint, or None."""
    row = tx.fetchone(
        f"SELECT {_ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = :id AND merchant_id = :merchant "
        "AND deleted_at IS NULL",
        {"id": endpoint_id, "merchant": merchant_id},
    )
    return None if row is None else _endpoint(row)


def list_endpoints(
    tx: RawTx, merchant_id: str, *, limit: int, after: WebhookEndpoint | None, status: str | None = None
) -> list[WebhookEndpoint]:
    """The merchant's live endpoints, newest first (after ``after`` when given; only ``status`` when given)."""
    sql = f"SELECT {_ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE merchant_id = :merchant AND deleted_at IS NULL"
    params: dict[str, Any] = {"merchant": merchant_id, "limit": limit}
    if status is not None:
        sql += " AND status = :status"
        params["status"] = status
    if after is not None:
        sql += " AND (created_at < :at OR (created_at = :at AND id < :after))"
        params.update(at=epoch_us(after.created_at), after=after.id)
    return [_endpoint(row) for row in tx.fetchall(sql + " ORDER BY created_at DESC, id DESC LIMIT :limit", params)]


def sealed_secret(tx: RawTx, endpoint_id: str) -> SealedSecret | None:
    """An endpoint's sealed secret, or None."""
    row = tx.fetchone(
        "SELECT key_id, wrapped_key, nonce, ciphertext FROM webhook_endpoints WHERE id = :id", {"id": endpoint_id}
    )
    return None if row is None else SealedSecret(row[0], bytes(row[1]), bytes(row[2]), bytes(row[3]))


def endpoints_not_under(tx: RawTx, key_id: str, limit: int) -> list[tuple[str, SealedSecret]]:
    """Up to ``limit`` endpoints whose secret is wrapped under another master key than ``key_id``."""
    rows = tx.fetchall(
        "SELECT id, key_id, wrapped_key, nonce, ciphertext FROM webhook_endpoints WHERE key_id <> :key_id "
        "ORDER BY id LIMIT :limit",
        {"key_id": key_id, "limit": limit},
    )
    return [(r[0], SealedSecret(r[1], bytes(r[2]), bytes(r[3]), bytes(r[4]))) for r in rows]


def save_rewrapped(tx: RawTx, endpoint_id: str, old_key_id: str, sealed: SealedSecret) -> None:
    """Store a re-wrapped secret, unless a concurrent rotation already moved it."""
    tx.execute(
        "UPDATE webhook_endpoints SET key_id = :key_id, wrapped_key = :wrapped WHERE id = :id AND key_id = :old",
        {"key_id": sealed.key_id, "wrapped": sealed.wrapped_key, "id": endpoint_id, "old": old_key_id},
    )


def mark_deleted(tx: RawTx, merchant_id: str, endpoint_id: str, at: int) -> bool:
    """Delete the merchant's live endpoint (its deliveries' history stays); False when there is none."""
    cursor = tx.execute(
        "UPDATE webhook_endpoints SET deleted_at = :at WHERE id = :id AND merchant_id = :merchant "
        "AND deleted_at IS NULL",
        {"at": at, "id": endpoint_id, "merchant": merchant_id},
    )
    return int(cursor.rowcount) == 1


def disable_endpoint(tx: RawTx, endpoint_id: str, reason: str, at: int) -> bool:
    """Disable an enabled endpoint; False when it was not enabled."""
    cursor = tx.execute(
        "UPDATE webhook_endpoints SET status = 'disabled', disabled_reason = :reason, disabled_at = :at "
        "WHERE id = :id AND status = 'enabled'",
        {"reason": reason, "at": at, "id": endpoint_id},
    )
    return int(cursor.rowcount) == 1


def enable_endpoint(tx: RawTx, merchant_id: str, endpoint_id: str) -> bool:
    """Enable the merchant's live endpoint again (its disabling reason forgotten); False when there is none."""
    cursor = tx.execute(
        "UPDATE webhook_endpoints SET status = 'enabled', disabled_reason = NULL, disabled_at = NULL "
        "WHERE id = :id AND merchant_id = :merchant AND deleted_at IS NULL",
        {"id": endpoint_id, "merchant": merchant_id},
    )
    return int(cursor.rowcount) == 1


def save_secret(tx: RawTx, merchant_id: str, endpoint_id: str, sealed: SealedSecret) -> bool:
    """Replace the merchant's live endpoint's sealed secret; False when there is no such endpoint."""
    cursor = tx.execute(
        "UPDATE webhook_endpoints SET key_id = :key_id, wrapped_key = :wrapped, nonce = :nonce, "
        "ciphertext = :ciphertext WHERE id = :id AND merchant_id = :merchant AND deleted_at IS NULL",
        {
            "key_id": sealed.key_id,
            "wrapped": sealed.wrapped_key,
            "nonce": sealed.nonce,
            "ciphertext": sealed.ciphertext,
            "id": endpoint_id,
            "merchant": merchant_id,
        },
    )
    return int(cursor.rowcount) == 1


# -- deliveries --


def cancel_pending(tx: RawTx, endpoint_id: str, at: int) -> int:
    """Cancel every pending delivery to an endpoint (disabled or deleted); how many."""
    cursor = tx.execute(
        "UPDATE webhook_deliveries SET status = 'canceled', finished_at = :at, next_attempt_at = NULL, "
        "leased_until = NULL WHERE endpoint_id = :endpoint AND status = 'pending'",
        {"at": at, "endpoint": endpoint_id},
    )
    return int(cursor.rowcount)


def list_deliveries(tx: RawTx, event_id: str) -> list[Delivery]:
    """Every delivery of an event, oldest first, with its attempts."""
    rows = tx.fetchall(
        "SELECT d.id, d.event_id, d.endpoint_id, e.url, d.status, d.next_attempt_at, d.created_at, d.finished_at "
        "FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id "
        "WHERE d.event_id = :event ORDER BY d.created_at, d.id",
        {"event": event_id},
    )
    return _with_attempts(tx, rows)


def endpoint_deliveries(tx: RawTx, endpoint_id: str, limit: int) -> list[tuple[Delivery, str]]:
    """An endpoint's newest ``limit`` deliveries, newest first, each with its attempts and its event's type."""
    rows = tx.fetchall(
        "SELECT d.id, d.event_id, d.endpoint_id, w.url, d.status, d.next_attempt_at, d.created_at, d.finished_at, "
        "e.type FROM webhook_deliveries d JOIN webhook_endpoints w ON w.id = d.endpoint_id "
        "JOIN events e ON e.id = d.event_id WHERE d.endpoint_id = :endpoint "
        "ORDER BY d.created_at DESC, d.id DESC LIMIT :limit",
        {"endpoint": endpoint_id, "limit": limit},
    )
    return list(zip(_with_attempts(tx, rows), [str(r[8]) for r in rows], strict=True))


def event_of_delivery(tx: RawTx, merchant_id: str, delivery_id: str) -> str | None:
    """The event id of one of the merchant's deliveries, or None (unknown, or another merchant's)."""
    row = tx.fetchone(
        "SELECT d.event_id FROM webhook_deliveries d JOIN events e ON e.id = d.event_id "
        "WHERE d.id = :id AND e.merchant_id = :merchant",
        {"id": delivery_id, "merchant": merchant_id},
    )
    return None if row is None else str(row[0])


def _with_attempts(tx: RawTx, rows: Sequence[Sequence[Any]]) -> list[Delivery]:
    """Deliveries read from ``rows`` (id, event, endpoint, url, status, next, created, finished), with attempts."""
    attempts: dict[str, list[Attempt]] = {}
    ids = [r[0] for r in rows]
    if ids:
        params: dict[str, object] = {}
        for a in tx.fetchall(
            "SELECT delivery_id, number, attempted_at, status_code, error, duration_us FROM webhook_attempts "
            f"WHERE {one_of(tx, 'delivery_id', ids, 'd', params)} ORDER BY delivery_id, number",
            params,
        ):
            attempts.setdefault(a[0], []).append(Attempt(a[1], from_epoch_us(a[2]), a[3], a[4], int(a[5])))
    return [
        Delivery(
            r[0],
            r[1],
            r[2],
            r[3],
            r[4],
            None if r[5] is None else from_epoch_us(r[5]),
            from_epoch_us(r[6]),
            None if r[7] is None else from_epoch_us(r[7]),
            tuple(attempts.get(r[0], ())),
        )
        for r in rows
    ]


def reschedule(tx: RawTx, event: Event, seq: int, at: int) -> list[str]:
    """Owe ``event`` again, from ``at``, to each enabled endpoint of its merchant; the deliveries' ids.

    A delivery still pending is brought forward rather than doubled.
    """
    endpoints = tx.fetchall(
        "SELECT id FROM webhook_endpoints WHERE merchant_id = :merchant AND status = 'enabled' "
        "AND deleted_at IS NULL ORDER BY created_at, id",
        {"merchant": event.merchant_id},
    )
    lock = " FOR UPDATE" if tx.is_postgres else ""
    scheduled: list[str] = []
    for (endpoint_id,) in endpoints:
        row = tx.fetchone(
            "SELECT id FROM webhook_deliveries WHERE event_id = :event AND endpoint_id = :endpoint "
            f"AND status = 'pending'{lock}",
            {"event": event.id, "endpoint": endpoint_id},
        )
        if row is not None:
            tx.execute(
                "UPDATE webhook_deliveries SET next_attempt_at = :at, scheduled_at = :at WHERE id = :id",
                {"at": at, "id": row[0]},
            )
            scheduled.append(row[0])
            continue
        scheduled.append(_insert_delivery(tx, event, endpoint_id, seq, at))
    return scheduled


def insert_test_event(tx: RawTx, event: Event, endpoint_id: str) -> str:
    """Record ``event`` owed to one endpoint only (a test the merchant asked for); the delivery's id."""
    at = epoch_us(event.created_at)
    seq = tx.fetchone(
        "INSERT INTO events (id, merchant_id, type, object_id, data, created_at) "
        "VALUES (:id, :merchant, :type, :object, :data, :at) RETURNING seq",
        {
            "id": event.id,
            "merchant": event.merchant_id,
            "type": event.type,
            "object": event.object_id,
            "data": json.dumps(event.data, separators=(",", ":")),
            "at": at,
        },
    )[0]
    return _insert_delivery(tx, event, endpoint_id, seq, at)


def _insert_delivery(tx: RawTx, event: Event, endpoint_id: str, seq: int, at: int) -> str:
    """A pending delivery of ``event`` to ``endpoint_id``, due at ``at``; its id."""
    delivery_id = new_id("wd")
    tx.execute(
        "INSERT INTO webhook_deliveries (id, event_id, endpoint_id, event_seq, object_id, status, "
        "next_attempt_at, created_at, scheduled_at) "
        "VALUES (:id, :event, :endpoint, :seq, :object, 'pending', :at, :at, :at)",
        {
            "id": delivery_id,
            "event": event.id,
            "endpoint": endpoint_id,
            "seq": seq,
            "object": event.object_id,
            "at": at,
        },
    )
    return delivery_id


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery a worker has claimed: the event to send, where, and how many attempts came before."""

    id: str
    endpoint_id: str
    url: str
    attempts: int
    scheduled_at: int
    event: Event

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> Claimed:
        """Read ``claim_due``'s columns."""
        return cls(row[0], row[1], row[2], int(row[3]), int(row[4]), _event(row[5:]))


def claim_due(tx: RawTx, now: int, lease_until: int, limit: int) -> list[Claimed]:
    """Claim up to ``limit`` due deliveries until ``lease_until``, oldest due first.

    A delivery is due when its time has come, no worker holds it, its endpoint is enabled, and no earlier event of
    the same object is still pending for the same endpoint (in order per object). On PostgreSQL, rows another
    worker is claiming right now are skipped rather than waited for.
    """
    lock = " FOR UPDATE OF d SKIP LOCKED" if tx.is_postgres else ""
    rows = tx.fetchall(
        "SELECT d.id, d.endpoint_id, w.url, d.attempts, d.scheduled_at, "
        "e.id, e.merchant_id, e.type, e.object_id, e.data, e.created_at "
        "FROM webhook_deliveries d "
        "JOIN webhook_endpoints w ON w.id = d.endpoint_id "
        "JOIN events e ON e.id = d.event_id "
        "WHERE d.status = 'pending' AND d.next_attempt_at <= :now "
        "AND (d.leased_until IS NULL OR d.leased_until <= :now) "
        "AND w.status = 'enabled' AND w.deleted_at IS NULL "
        "AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p WHERE p.endpoint_id = d.endpoint_id "
        "AND p.object_id = d.object_id AND p.status = 'pending' AND p.event_seq < d.event_seq) "
        f"ORDER BY d.next_attempt_at, d.event_seq LIMIT :limit{lock}",
        {"now": now, "limit": limit},
    )
    claimed = [Claimed.from_row(row) for row in rows]
    tx.executemany(
        "UPDATE webhook_deliveries SET leased_until = :until WHERE id = :id",
        [{"until": lease_until, "id": c.id} for c in claimed],
    )
    return claimed


def record_attempt(
    tx: RawTx,
    delivery_id: str,
    *,
    attempted_at: int,
    status_code: int | None,
    error: str | None,
    duration_us: int,
    outcome: str,
    next_attempt_at: int | None,
) -> int:
    """Record one attempt and the delivery's new state (``pending`` with a next time, or finished); its number."""
    row = tx.fetchone(
        "UPDATE webhook_deliveries SET attempts = attempts + 1, leased_until = NULL, "
        "status = CASE WHEN status = 'pending' THEN :outcome ELSE status END, "
        "next_attempt_at = CASE WHEN status = 'pending' THEN :next ELSE next_attempt_at END, "
        "finished_at = CASE WHEN status = 'pending' AND :outcome <> 'pending' THEN :at ELSE finished_at END "
        "WHERE id = :id RETURNING attempts",
        {"outcome": outcome, "next": next_attempt_at, "at": attempted_at, "id": delivery_id},
    )
    number = int(row[0])
    tx.execute(
        "INSERT INTO webhook_attempts (delivery_id, number, attempted_at, status_code, error, duration_us) "
        "VALUES (:id, :number, :at, :code, :error, :duration)",
        {
            "id": delivery_id,
            "number": number,
            "at": attempted_at,
            "code": status_code,
            "error": None if error is None else error[:300],
            "duration": duration_us,
        },
    )
    return number
