"""The outbox: an event is written in the same transaction as the change it reports.

Either both commit or neither does, so a merchant is never told of a payment that was rolled back, and never
misses one that was committed. The deliveries it owes (one per enabled endpoint of the merchant) are written in the
same transaction; the worker sends them later. Events of one object keep the order in which they were recorded,
which is the order of their changes as long as those changes are serialised on the object (payments lock their row).

``record`` runs inside a payment's transaction, while the payment's row and its ledger accounts are locked, so it
costs one round trip on PostgreSQL: the event's insert is a data-modifying ``WITH`` that the deliveries' insert
reads, and the deliveries are selected from the merchant's endpoints by the database rather than fetched first.
Their ids are therefore drawn in SQL, in the form ``ids.new_id`` gives (``wd_`` and 32 lower-case hex digits).
SQLite, in process, takes two statements.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import datetime

from kleline.clock import epoch_us
from kleline.db.engine import RawTx
from kleline.ids import new_id

__all__ = ["EVENT_TYPE", "record", "record_steps"]

EVENT_TYPE = re.compile(r"^[a-z][a-z_]*(\.[a-z][a-z_]*)+$")
"""An event type: dotted lower-case words, such as ``payment.succeeded``."""

_INSERT_EVENT = (
    "INSERT INTO events (id, merchant_id, type, object_id, data, created_at) "
    "VALUES (:id, :merchant, :type, :object, :data, :at)"
)


def _owe_deliveries(delivery_id: str, seq: str, source: str) -> str:
    """The insert of one pending delivery of event ``:id`` per enabled endpoint of its merchant."""
    return (
        "INSERT INTO webhook_deliveries (id, event_id, endpoint_id, event_seq, object_id, status, next_attempt_at, "
        f"created_at, scheduled_at) SELECT {delivery_id}, :id, w.id, {seq}, :object, 'pending', :at, :at, :at "
        f"FROM {source} WHERE w.merchant_id = :merchant AND w.status = 'enabled' AND w.deleted_at IS NULL"
    )


# gen_random_uuid() is PostgreSQL's strong generator (122 random bits); randomblob() is SQLite's (128 bits).
_RECORD_POSTGRES = f"WITH event AS ({_INSERT_EVENT} RETURNING seq) " + _owe_deliveries(
    "'wd_' || replace(gen_random_uuid()::text, '-', '')", "event.seq", "event CROSS JOIN webhook_endpoints w"
)
_OWE_SQLITE = _owe_deliveries("'wd_' || lower(hex(randomblob(16)))", ":seq", "webhook_endpoints w")


def _events_postgres(count: int) -> str:
    """``count`` events of one object in one statement, in their order (``seq`` is drawn row by row, in the order of
    the ``VALUES`` list), with the deliveries each owes."""
    rows = ", ".join(f"(:id{n}, :merchant, :type{n}, :object, :data{n}, :at)" for n in range(count))
    return (
        "WITH event AS (INSERT INTO events (id, merchant_id, type, object_id, data, created_at) "
        f"VALUES {rows} RETURNING id, seq) "
        "INSERT INTO webhook_deliveries (id, event_id, endpoint_id, event_seq, object_id, status, next_attempt_at, "
        "created_at, scheduled_at) SELECT 'wd_' || replace(gen_random_uuid()::text, '-', ''), event.id, w.id, "
        "event.seq, :object, 'pending', :at, :at, :at FROM event CROSS JOIN webhook_endpoints w "
        "WHERE w.merchant_id = :merchant AND w.status = 'enabled' AND w.deleted_at IS NULL"
    )


def record_steps(
    tx: RawTx,
    *,
    merchant_id: str,
    object_id: str,
    steps: Sequence[tuple[str, Mapping[str, object]]],
    created_at: datetime,
) -> list[str]:
    """Record several events of one object at once, in the order of ``steps`` (type, data): on PostgreSQL in one
    statement (a payment captured as it is authorised announces both steps); their ids."""
    if not tx.is_postgres or len(steps) == 1:
        return [
            record(tx, type=type, merchant_id=merchant_id, object_id=object_id, data=data, created_at=created_at)
            for type, data in steps
        ]
    params: dict[str, object] = {"merchant": merchant_id, "object": object_id, "at": _at(created_at)}
    ids = []
    for n, (type, data) in enumerate(steps):
        ids.append(new_id("evt"))
        params.update({f"id{n}": ids[-1], f"type{n}": _checked(type), f"data{n}": _data(data)})
    tx.defer(_events_postgres(len(steps)), params)
    return ids


def _checked(type: str) -> str:
    if not EVENT_TYPE.match(type):
        raise ValueError(f"an event type is dotted lower-case words, not {type!r}")
    return type


def _at(created_at: datetime) -> int:
    if created_at.tzinfo is None:
        raise ValueError("naive datetimes are refused: every Kleline time is UTC")
    return epoch_us(created_at)


def _data(data: Mapping[str, object]) -> str:
    return json.dumps(dict(data), separators=(",", ":"), allow_nan=False)


def record(
    tx: RawTx,
    *,
    type: str,
    merchant_id: str,
    object_id: str,
    data: Mapping[str, object],
    created_at: datetime,
) -> str:
    """Record an event in the caller's transaction, with a delivery owed to each enabled endpoint; its id."""
    event_id = new_id("evt")
    params: dict[str, object] = {
        "id": event_id,
        "merchant": merchant_id,
        "type": _checked(type),
        "object": object_id,
        "data": _data(data),
        "at": _at(created_at),
    }
    if tx.is_postgres:
        tx.defer(_RECORD_POSTGRES, params)  # one statement whose answer nobody reads: sent with the next one
    else:
        params["seq"] = tx.fetchone(_INSERT_EVENT + " RETURNING seq", params)[0]
        tx.execute(_OWE_SQLITE, params)
    return event_id
