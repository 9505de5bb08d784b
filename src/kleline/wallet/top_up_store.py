"""Top-ups' SQL."""

from __future__ import annotations

from kleline.clock import epoch_us
from kleline.db.engine import RawTx
from kleline.money import Money
from kleline.wallet.model import TopUp

__all__ = ["card_top_up_settlement", "finish_top_up", "insert_top_up", "month_total", "pending_total"]


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
    """Record how a pending top-up ended."""
    tx.execute(
        "UPDATE top_ups SET status = :status, failure_code = :failure, authorization_id = :authorization, "
        "entry_id = :entry WHERE id = :id AND status = 'pending'",
        {
            "status": status,
            "failure": failure_code,
            "authorization": authorization_id,
            "entry": entry_id,
            "id": top_up_id,
        },
    )


def month_total(tx: RawTx, customer_id: str, since: int) -> int:
    """Minor units topped up (or being topped up) by the customer since ``since``."""
    row = tx.fetchone(
        "SELECT COALESCE(SUM(amount), 0) FROM top_ups WHERE customer_id = :customer AND created_at >= :since "
        "AND status IN ('pending', 'succeeded')",
        {"customer": customer_id, "since": since},
    )
    return int(row[0])


def pending_total(tx: RawTx, customer_id: str) -> int:
    """Minor units of the customer's top-ups still under way (they count against the purse ceiling)."""
    row = tx.fetchone(
        "SELECT COALESCE(SUM(amount), 0) FROM top_ups WHERE customer_id = :customer AND status = 'pending'",
        {"customer": customer_id},
    )
    return int(row[0])


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
