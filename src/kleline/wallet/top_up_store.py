"""Top-ups' SQL."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kleline.clock import epoch_us, from_epoch_us
from kleline.db.engine import RawTx, Read, single_int
from kleline.money import Money
from kleline.wallet.model import TopUp

__all__ = [
    "StoredTopUp",
    "card_top_up_settlement",
    "finish_top_up",
    "insert_top_up",
    "load_top_up",
    "month_total",
    "month_total_read",
    "pending_total",
    "pending_total_read",
    "record_authorization",
    "stalled_top_ups",
]


@dataclass(frozen=True, slots=True)
class StoredTopUp:
    """A top-up as stored, with what asking its issuer again needs: the authorisation id (the RRN) once the
    issuer approved it, and the card network (``visa``, ...) of its card (None for a direct debit)."""

    top_up: TopUp
    authorization_id: str | None
    network: str | None


def insert_top_up(tx: RawTx, top_up: TopUp) -> None:
    """Record a top-up as it starts (``pending``) or stops for strong authentication (``requires_action``)."""
    tx.execute(
        "INSERT INTO top_ups (id, customer_id, card_id, bank_account_id, amount, currency, status, failure_code, "
        "created_at) VALUES (:id, :customer, :card, :bank_account, :amount, :currency, :status, :failure, :at)",
        {
            "id": top_up.id,
            "customer": top_up.customer_id,
            "card": top_up.card_id,
            "bank_account": top_up.bank_account_id,
            "amount": top_up.amount.minor,
            "currency": top_up.amount.currency,
            "status": top_up.status,
            "failure": top_up.failure_code,
            "at": epoch_us(top_up.created_at),
        },
    )


def finish_top_up(
    tx: RawTx, top_up_id: str, status: str, failure_code: str | None, authorization_id: str | None, entry_id: str | None
) -> None:
    """Record how a pending top-up ended (an authorisation id recorded earlier is kept when none is given)."""
    tx.execute(
        "UPDATE top_ups SET status = :status, failure_code = :failure, "
        "authorization_id = COALESCE(:authorization, authorization_id), entry_id = :entry "
        "WHERE id = :id AND status = 'pending'",
        {
            "status": status,
            "failure": failure_code,
            "authorization": authorization_id,
            "entry": entry_id,
            "id": top_up_id,
        },
    )


def record_authorization(tx: RawTx, top_up_id: str, authorization_id: str) -> None:
    """Note the issuer's authorisation of a pending top-up before anything is captured under it, so that whoever
    finds the top-up pending later can ask the issuer about it."""
    tx.execute(
        "UPDATE top_ups SET authorization_id = :authorization WHERE id = :id AND status = 'pending'",
        {"authorization": authorization_id, "id": top_up_id},
    )


def load_top_up(tx: RawTx, top_up_id: str, *, lock: bool = False) -> StoredTopUp | None:
    """A top-up by id, locked for this transaction with ``lock`` (PostgreSQL; SQLite's writers are serial)."""
    lock_clause = " FOR UPDATE OF t" if lock and tx.is_postgres else ""
    row = tx.fetchone(
        "SELECT t.id, t.customer_id, t.card_id, t.amount, t.currency, t.status, t.failure_code, t.created_at, "
        "t.bank_account_id, t.authorization_id, c.brand FROM top_ups t LEFT JOIN cards c ON c.id = t.card_id "
        f"WHERE t.id = :id{lock_clause}",
        {"id": top_up_id},
    )
    return None if row is None else _stored(row)


def stalled_top_ups(tx: RawTx, before: int, limit: int) -> list[str]:
    """Card top-ups still ``pending`` that started before ``before``, the oldest first: their request died or
    its issuer went silent (a direct debit is never left pending)."""
    rows = tx.fetchall(
        "SELECT id FROM top_ups WHERE status = 'pending' AND created_at < :before AND card_id IS NOT NULL "
        "ORDER BY created_at, id LIMIT :limit",
        {"before": before, "limit": limit},
    )
    return [str(row[0]) for row in rows]


def month_total(tx: RawTx, customer_id: str, since: int) -> int:
    """Minor units topped up (or being topped up) by the customer since ``since``."""
    return tx.read(month_total_read(customer_id, since))


def month_total_read(customer_id: str, since: int) -> Read[int]:
    """``month_total`` as a read of one row, to join the purse's other figures (``one_row_reads``)."""
    return Read(
        "SELECT COALESCE(SUM(amount), 0) FROM top_ups WHERE customer_id = :customer AND created_at >= :since "
        "AND status IN ('pending', 'succeeded')",
        {"customer": customer_id, "since": since},
        single_int,
        width=1,
    )


def pending_total(tx: RawTx, customer_id: str) -> int:
    """Minor units of the customer's top-ups still under way (they count against the purse ceiling)."""
    return tx.read(pending_total_read(customer_id))


def pending_total_read(customer_id: str) -> Read[int]:
    """``pending_total`` as a read of one row, to join the purse's other figures (``one_row_reads``)."""
    return Read(
        "SELECT COALESCE(SUM(amount), 0) FROM top_ups WHERE customer_id = :customer AND status = 'pending'",
        {"customer": customer_id},
        single_int,
        width=1,
    )


def card_top_up_settlement(
    tx: RawTx, *, top_up_id: str | None = None, authorization_id: str | None = None
) -> tuple[str, Money, str] | None:
    """A succeeded card top-up, by id or by its authorisation (the reference a card network settles it under):
    its id, amount, and the card network whose receivable it debited. For reconciliation."""
    column, value = ("id", top_up_id) if top_up_id is not None else ("authorization_id", authorization_id)
    row = tx.fetchone(
        "SELECT t.id, t.amount, t.currency, c.brand FROM top_ups t JOIN cards c ON c.id = t.card_id "
        f"WHERE t.{column} = :value AND t.status = 'succeeded'",
        {"value": value},
    )
    return None if row is None else (str(row[0]), Money(int(row[1]), row[2]), str(row[3]))


def _stored(row: Any) -> StoredTopUp:
    top_up = TopUp(
        id=str(row[0]),
        customer_id=str(row[1]),
        card_id=row[2],
        amount=Money(int(row[3]), row[4]),
        status=str(row[5]),
        failure_code=row[6],
        created_at=from_epoch_us(int(row[7])),
        bank_account_id=row[8],
    )
    return StoredTopUp(top_up, row[9], row[10])
