"""Offers' SQL: the offer, its deliveries (one ``INSERT ... SELECT`` over the audience), the merchant's view (reach
and answers) and the customer's inbox."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from kleline.clock import epoch_us, from_epoch_us
from kleline.db.engine import RawTx, Read, single_int
from kleline.privacy.audience_model import Audience
from kleline.privacy.offer_model import InboxOffer, Offer, OfferDraft

__all__ = [
    "answer",
    "deliver",
    "delivery_for_update",
    "find_offer",
    "inbox",
    "inbox_offer",
    "insert_offer",
    "list_offers",
    "mark_read",
    "set_reach",
    "unread_count",
    "unread_count_of",
    "unread_count_read",
]

_ANSWERED = (
    "(SELECT COUNT(*) FROM offer_deliveries d WHERE d.offer_id = o.id AND d.answer IN ('interested', 'share_email'))"
)
_OFFER_COLUMNS = (
    f"o.id, o.merchant_id, o.title, o.body, o.link, o.valid_from, o.valid_until, o.audience, o.reach_released, "
    f"{_ANSWERED}, o.created_at"
)


def _offer(row: Sequence[Any]) -> Offer:
    return Offer(
        row[0],
        row[1],
        row[2],
        row[3],
        row[4],
        from_epoch_us(int(row[5])),
        from_epoch_us(int(row[6])),
        Audience(**json.loads(row[7])),
        None if row[8] is None else int(row[8]),
        int(row[9]),
        from_epoch_us(int(row[10])),
    )


def insert_offer(tx: RawTx, offer_id: str, merchant_id: str, draft: OfferDraft, at: datetime) -> None:
    """Record the offer (its reach follows once delivered: ``set_reach``)."""
    tx.execute(
        "INSERT INTO offers (id, merchant_id, title, body, link, valid_from, valid_until, audience, recipients, "
        "reach_released, created_at) VALUES (:id, :merchant, :title, :body, :link, :from, :until, :audience, 0, NULL, "
        ":at)",
        {
            "id": offer_id,
            "merchant": merchant_id,
            "title": draft.title,
            "body": draft.body,
            "link": draft.link,
            "from": epoch_us(draft.valid_from),
            "until": epoch_us(draft.valid_until),
            "audience": json.dumps(draft.audience.as_dict(), sort_keys=True),
            "at": epoch_us(at),
        },
    )


def deliver(tx: RawTx, offer_id: str, merchant_id: str, members: tuple[str, dict[str, Any]], at: datetime) -> int:
    """One delivery per member of the audience (``audience_store.members``), in one statement; how many."""
    sql, params = members
    cursor = tx.execute(
        f"INSERT INTO offer_deliveries (offer_id, customer_id, merchant_id, delivered_at) "
        f"SELECT :offer_id, members.customer_id, :merchant_id, :delivered_at FROM ({sql}) AS members",
        {**params, "offer_id": offer_id, "merchant_id": merchant_id, "delivered_at": epoch_us(at)},
    )
    return int(cursor.rowcount)


def set_reach(tx: RawTx, offer_id: str, recipients: int, released: int | None) -> None:
    """Record how many received the offer (exact, never shown) and what the merchant was told."""
    tx.execute(
        "UPDATE offers SET recipients = :recipients, reach_released = :released WHERE id = :id",
        {"id": offer_id, "recipients": recipients, "released": released},
    )


def find_offer(tx: RawTx, merchant_id: str, offer_id: str) -> Offer | None:
    """The merchant's offer, or None (another merchant's included)."""
    row = tx.fetchone(
        f"SELECT {_OFFER_COLUMNS} FROM offers o WHERE o.id = :id AND o.merchant_id = :merchant",
        {"id": offer_id, "merchant": merchant_id},
    )
    return None if row is None else _offer(row)


def list_offers(tx: RawTx, merchant_id: str, *, limit: int, starting_after: str | None) -> list[Offer]:
    """The merchant's offers, newest first, after the offer ``starting_after`` when given."""
    params: dict[str, Any] = {"merchant": merchant_id, "limit": limit}
    after = ""
    if starting_after is not None:
        after = (
            " AND (o.created_at, o.id) < (SELECT a.created_at, a.id FROM offers a WHERE a.id = :after "
            "AND a.merchant_id = :merchant)"
        )
        params["after"] = starting_after
    rows = tx.fetchall(
        f"SELECT {_OFFER_COLUMNS} FROM offers o WHERE o.merchant_id = :merchant{after} "
        "ORDER BY o.created_at DESC, o.id DESC LIMIT :limit",
        params,
    )
    return [_offer(row) for row in rows]


_INBOX_COLUMNS = (
    "o.id, o.merchant_id, m.name, o.title, o.body, o.link, o.valid_from, o.valid_until, d.delivered_at, d.read_at, "
    "d.answer, d.answered_at"
)
_INBOX_FROM = "offer_deliveries d JOIN offers o ON o.id = d.offer_id JOIN merchants m ON m.id = d.merchant_id"


def _opt(value: Any) -> datetime | None:
    return None if value is None else from_epoch_us(int(value))


def _inbox(row: Sequence[Any]) -> InboxOffer:
    return InboxOffer(
        row[0],
        row[1],
        row[2],
        row[3],
        row[4],
        row[5],
        from_epoch_us(int(row[6])),
        from_epoch_us(int(row[7])),
        from_epoch_us(int(row[8])),
        _opt(row[9]),
        row[10],
        _opt(row[11]),
    )


def inbox(tx: RawTx, customer_id: str, now: datetime, *, limit: int, starting_after: str | None) -> list[InboxOffer]:
    """The customer's offers already valid, newest delivered first, after the offer ``starting_after`` when given."""
    params: dict[str, Any] = {"customer": customer_id, "now": epoch_us(now), "limit": limit}
    after = ""
    if starting_after is not None:
        after = (
            " AND (d.delivered_at, d.offer_id) < (SELECT a.delivered_at, a.offer_id FROM offer_deliveries a "
            "WHERE a.customer_id = :customer AND a.offer_id = :after)"
        )
        params["after"] = starting_after
    rows = tx.fetchall(
        f"SELECT {_INBOX_COLUMNS} FROM {_INBOX_FROM} WHERE d.customer_id = :customer AND o.valid_from <= :now{after} "
        "ORDER BY d.delivered_at DESC, d.offer_id DESC LIMIT :limit",
        params,
    )
    return [_inbox(row) for row in rows]


def inbox_offer(tx: RawTx, customer_id: str, offer_id: str, now: datetime) -> InboxOffer | None:
    """One offer of the customer's inbox (already valid), or None."""
    row = tx.fetchone(
        f"SELECT {_INBOX_COLUMNS} FROM {_INBOX_FROM} WHERE d.customer_id = :customer AND d.offer_id = :offer "
        "AND o.valid_from <= :now",
        {"customer": customer_id, "offer": offer_id, "now": epoch_us(now)},
    )
    return None if row is None else _inbox(row)


def delivery_for_update(tx: RawTx, customer_id: str, offer_id: str) -> tuple[str | None, int] | None:
    """The delivery's answer and the offer's end, locked (on PostgreSQL) so that two answers at once queue."""
    lock = " FOR UPDATE OF d" if tx.is_postgres else ""
    row = tx.fetchone(
        "SELECT d.answer, o.valid_until FROM offer_deliveries d JOIN offers o ON o.id = d.offer_id "
        f"WHERE d.customer_id = :customer AND d.offer_id = :offer{lock}",
        {"customer": customer_id, "offer": offer_id},
    )
    return None if row is None else (row[0], int(row[1]))


def unread_count(tx: RawTx, customer_id: str, now: datetime) -> int:
    """How many valid offers the customer has not opened yet."""
    return tx.read(unread_count_read(customer_id, now))


def unread_count_read(customer_id: str, now: datetime) -> Read[int]:
    """``unread_count`` as a read of one row: the wallet's pages count unread offers in the same statement as
    their other figures (``one_row_reads``)."""
    return Read(
        "SELECT COUNT(*) FROM offer_deliveries d JOIN offers o ON o.id = d.offer_id WHERE d.customer_id = :customer "
        "AND d.read_at IS NULL AND o.valid_from <= :now AND o.valid_until > :now",
        {"customer": customer_id, "now": epoch_us(now)},
        single_int,
        width=1,
    )


def unread_count_of(customer_column: str, now: datetime) -> tuple[str, dict[str, Any]]:
    """``unread_count`` of the customer whose id is ``customer_column`` of another query, as a scalar subquery of
    that query's row and its parameters (``unread_now``): a page's session reads its navigation's count with it."""
    sql = (
        "(SELECT COUNT(*) FROM offer_deliveries d JOIN offers o ON o.id = d.offer_id "
        f"WHERE d.customer_id = {customer_column} AND d.read_at IS NULL AND o.valid_from <= :unread_now "
        "AND o.valid_until > :unread_now)"
    )
    return sql, {"unread_now": epoch_us(now)}


def mark_read(tx: RawTx, customer_id: str, offer_id: str, at: datetime) -> None:
    """The customer opened the offer (the first time counts)."""
    tx.execute(
        "UPDATE offer_deliveries SET read_at = :at WHERE customer_id = :customer AND offer_id = :offer "
        "AND read_at IS NULL",
        {"customer": customer_id, "offer": offer_id, "at": epoch_us(at)},
    )


def answer(tx: RawTx, customer_id: str, offer_id: str, reply: str, at: datetime) -> None:
    """Record the customer's answer (which reads the offer too)."""
    tx.execute(
        "UPDATE offer_deliveries SET answer = :answer, answered_at = :at, read_at = COALESCE(read_at, :at) "
        "WHERE customer_id = :customer AND offer_id = :offer",
        {"customer": customer_id, "offer": offer_id, "answer": reply, "at": epoch_us(at)},
    )
