"""The outbox: an event is written in the same transaction as the change it reports.

Either both commit or neither does, so a merchant is never told of a payment that was rolled back, and never
misses one that was committed. The deliveries it owes (one per enabled endpoint of the merchant) are written in the
same transaction; the worker sends them later. Events of one object keep the order in which they were recorded,
which is the order of their changes as long as those changes are serialised on the object (payments lock their row).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime

from kleline.clock import epoch_us
from kleline.db.engine import RawTx
from kleline.ids import new_id

__all__ = ["EVENT_TYPE", "record"]

EVENT_TYPE = re.compile(r"^[a-z][a-z_]*(\.[a-z][a-z_]*)+$")
"""An event type: dotted lower-case words, such as ``payment.succeeded``."""


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
    if not EVENT_TYPE.match(type):
        raise ValueError(f"an event type is dotted lower-case words, not {type!r}")
    if created_at.tzinfo is None:
        raise ValueError("naive datetimes are refused: every Kleline time is UTC")
    event_id = new_id("evt")
    at = epoch_us(created_at)
    row = tx.fetchone(
        "INSERT INTO events (id, merchant_id, type, object_id, data, created_at) "
        "VALUES (:id, :merchant, :type, :object, :data, :at) RETURNING seq",
        {
            "id": event_id,
            "merchant": merchant_id,
            "type": type,
            "object": object_id,
            "data": json.dumps(dict(data), separators=(",", ":"), allow_nan=False),
            "at": at,
        },
    )
    endpoints = tx.fetchall(
        "SELECT id FROM webhook_endpoints WHERE merchant_id = :merchant AND status = 'enabled' AND deleted_at IS NULL",
        {"merchant": merchant_id},
    )
    tx.executemany(
        "INSERT INTO webhook_deliveries (id, event_id, endpoint_id, event_seq, object_id, status, next_attempt_at, "
        "created_at, scheduled_at) VALUES (:id, :event, :endpoint, :seq, :object, 'pending', :at, :at, :at)",
        [
            {"id": new_id("wd"), "event": event_id, "endpoint": e[0], "seq": row[0], "object": object_id, "at": at}
            for e in endpoints
        ],
    )
    return event_id
