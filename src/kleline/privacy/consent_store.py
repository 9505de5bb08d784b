"""The consent ledger's SQL: append an event and move the current state with it, in one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from kleline.clock import from_epoch_us
from kleline.db.engine import RawTx
from kleline.privacy.model import ConsentEvent, ConsentState

__all__ = ["append_event", "events_of", "is_live", "latest_change", "live_scopes", "state_of", "states_of"]


def append_event(tx: RawTx, event: ConsentEvent, at: int) -> None:
    """Record a grant or withdrawal and make it the (customer, purpose, scope)'s current word."""
    params = {
        "id": event.id,
        "customer": event.customer_id,
        "purpose": event.purpose,
        "scope": event.scope,
        "action": event.action,
        "version": event.text_version,
        "channel": event.channel,
        "at": at,
        "granted": event.action == "grant",
    }
    tx.execute(
        "INSERT INTO consent_events (id, customer_id, purpose, scope, action, text_version, channel, at) "
        "VALUES (:id, :customer, :purpose, :scope, :action, :version, :channel, :at)",
        params,
    )
    tx.execute(
        "INSERT INTO consent_state (customer_id, purpose, scope, granted, text_version, event_id, changed_at) "
        "VALUES (:customer, :purpose, :scope, :granted, :version, :id, :at) "
        "ON CONFLICT (customer_id, purpose, scope) DO UPDATE SET granted = excluded.granted, "
        "text_version = excluded.text_version, event_id = excluded.event_id, changed_at = excluded.changed_at",
        params,
    )


def _state(row: Sequence[Any]) -> ConsentState:
    return ConsentState(row[0], row[1], row[2], bool(row[3]), row[4], from_epoch_us(int(row[5])))


_STATE_COLUMNS = "customer_id, purpose, scope, granted, text_version, changed_at"


def state_of(tx: RawTx, customer_id: str, purpose: str, scope: str, *, for_update: bool = False) -> ConsentState | None:
    """The current word on one (purpose, scope), or None if the customer never gave one; ``for_update`` locks it
    (on PostgreSQL) so that two clicks at once append one event, not two."""
    lock = " FOR UPDATE" if for_update and tx.is_postgres else ""
    row = tx.fetchone(
        f"SELECT {_STATE_COLUMNS} FROM consent_state WHERE customer_id = :customer AND purpose = :purpose "
        f"AND scope = :scope{lock}",
        {"customer": customer_id, "purpose": purpose, "scope": scope},
    )
    return None if row is None else _state(row)


def latest_change(tx: RawTx, customer_id: str) -> datetime | None:
    """When the customer last gave a word, on anything (the primary key's prefix), or None."""
    row = tx.fetchone(
        "SELECT max(changed_at) FROM consent_state WHERE customer_id = :customer", {"customer": customer_id}
    )
    return None if row is None or row[0] is None else from_epoch_us(int(row[0]))


def states_of(tx: RawTx, customer_id: str) -> list[ConsentState]:
    """Every (purpose, scope) the customer ever answered, granted or withdrawn, in a stable order."""
    rows = tx.fetchall(
        f"SELECT {_STATE_COLUMNS} FROM consent_state WHERE customer_id = :customer ORDER BY purpose, scope",
        {"customer": customer_id},
    )
    return [_state(row) for row in rows]


def is_live(tx: RawTx, customer_id: str, purpose: str, scope: str) -> bool:
    """Whether the customer's consent to ``purpose`` over ``scope`` stands now."""
    row = tx.fetchone(
        "SELECT granted FROM consent_state WHERE customer_id = :customer AND purpose = :purpose AND scope = :scope",
        {"customer": customer_id, "purpose": purpose, "scope": scope},
    )
    return row is not None and bool(row[0])


def live_scopes(tx: RawTx, customer_id: str, purpose: str) -> list[str]:
    """The scopes over which the customer's consent to ``purpose`` stands now."""
    rows = tx.fetchall(
        "SELECT scope FROM consent_state WHERE customer_id = :customer AND purpose = :purpose AND granted "
        "ORDER BY scope",
        {"customer": customer_id, "purpose": purpose},
    )
    return [str(row[0]) for row in rows]


def events_of(tx: RawTx, customer_id: str) -> list[ConsentEvent]:
    """The customer's whole consent history, oldest first."""
    rows = tx.fetchall(
        "SELECT id, customer_id, purpose, scope, action, text_version, channel, at FROM consent_events "
        "WHERE customer_id = :customer ORDER BY at, id",
        {"customer": customer_id},
    )
    return [ConsentEvent(r[0], r[1], r[2], r[3], r[4], r[5], r[6], from_epoch_us(int(r[7]))) for r in rows]
