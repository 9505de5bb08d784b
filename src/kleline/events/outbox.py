"""The outbox: an event is written in the same transaction as the change it reports.

Either both commit or neither does, so a merchant is never told of a payment that was rolled back, and never
misses one that was committed. The deliveries it owes (one per enabled endpoint of the merchant) are written in the
same transaction; the worker sends them later. Events of one object keep the order in which they were recorded,
which is the order of their changes as long as those changes are serialised on the object (payments lock their row).

``record`` runs inside a payment's transaction, while the payment's row and its ledger accounts are locked, so it
costs one round trip on PostgreSQL: the event's insert is a data-modifying ``WITH`` that the deliveries' insert
reads, and the deliveries are selected from the merchant's endpoints by the database rather than fetched first.
Their ids are therefore drawn in SQL, in the form ``ids.new_id`` gives (``wd_`` and 32 lower-case hex digits).
SQLite, which has no data-modifying ``WITH``, takes two statements however many events are recorded together: one
insert of the events, one of the deliveries, which reads the new events back by id. Each statement there is run
while the process holds the database's only write lock, and gives the interpreter's lock up and takes it back, so
fewer of them is a shorter turn for every writer.
"""

from __future__ import annotations

import functools
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

_EVENT_COLUMNS = "INSERT INTO events (id, merchant_id, type, object_id, data, created_at) VALUES "
_DELIVERY_COLUMNS = (
    "INSERT INTO webhook_deliveries (id, event_id, endpoint_id, event_seq, object_id, status, next_attempt_at, "
    "created_at, scheduled_at) "
)
_ENDPOINTS = "w.merchant_id = :merchant AND w.status = 'enabled' AND w.deleted_at IS NULL"


def _rows(count: int) -> str:
    return ", ".join(f"(:id{n}, :merchant, :type{n}, :object, :data{n}, :at)" for n in range(count))


def _events_postgres(count: int) -> tuple[str, ...]:
    """``count`` events of one object in one statement, in their order (``seq`` is drawn row by row, in the order of
    the ``VALUES`` list), with the deliveries each owes: the events' insert is a ``WITH`` that the deliveries'
    insert reads. gen_random_uuid() is PostgreSQL's strong generator (122 random bits)."""
    return (
        f"WITH event AS ({_EVENT_COLUMNS}{_rows(count)} RETURNING id, seq) {_DELIVERY_COLUMNS}"
        "SELECT 'wd_' || replace(gen_random_uuid()::text, '-', ''), event.id, w.id, event.seq, :object, 'pending', "
        f":at, :at, :at FROM event CROSS JOIN webhook_endpoints w WHERE {_ENDPOINTS}",
    )


def _events_sqlite(count: int) -> tuple[str, ...]:
    """SQLite: the insert of ``count`` events of one object (``seq`` drawn row by row, in the order of the ``VALUES``
    list), then the insert of the deliveries they owe, reading the new events back by id. randomblob() is SQLite's
    strong generator (128 bits)."""
    ids = ", ".join(f":id{n}" for n in range(count))
    return (
        f"{_EVENT_COLUMNS}{_rows(count)}",
        f"{_DELIVERY_COLUMNS}SELECT 'wd_' || lower(hex(randomblob(16))), e.id, w.id, e.seq, :object, 'pending', "
        f":at, :at, :at FROM events e CROSS JOIN webhook_endpoints w WHERE e.id IN ({ids}) AND {_ENDPOINTS}",
    )


@functools.lru_cache(maxsize=8)
def _statements(postgres: bool, count: int) -> tuple[str, ...]:
    """The statements of ``count`` events on either backend, built once per count (every change records one event,
    a capture announced with its authorisation two)."""
    return _events_postgres(count) if postgres else _events_sqlite(count)


def record_steps(
    tx: RawTx,
    *,
    merchant_id: str,
    object_id: str,
    steps: Sequence[tuple[str, Mapping[str, object]]],
    created_at: datetime,
) -> list[str]:
    """Record several events of one object at once, in the order of ``steps`` (type, data), with the deliveries
    each owes (a payment captured as it is authorised announces both steps): one statement on PostgreSQL, two on
    SQLite; their ids."""
    if not steps:
        return []
    params: dict[str, object] = {"merchant": merchant_id, "object": object_id, "at": _at(created_at)}
    ids = []
    for n, (type, data) in enumerate(steps):
        ids.append(new_id("evt"))
        params.update({f"id{n}": ids[-1], f"type{n}": _checked(type), f"data{n}": _data(data)})
    for statement in _statements(tx.is_postgres, len(steps)):
        tx.defer(statement, params)  # nobody reads their answer: on PostgreSQL, sent with the next statement
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
    [event_id] = record_steps(
        tx, merchant_id=merchant_id, object_id=object_id, steps=((type, data),), created_at=created_at
    )
    return event_id
