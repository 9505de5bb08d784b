"""The SQL of registered cards: the ``cards`` table (migration 0004), over a raw transaction.

A row holds what may be shown (brand, first six and last four digits, expiry), the holder's name sealed under the
customer's data key (``kleline.wallet.personal_data``: it goes when the customer's key is shredded), the keyed
fingerprint that
spots the same card twice, and the sealed number (``key_id``, ``wrapped_key``, ``nonce``, ``ciphertext``). Nothing
here sees a card number in clear. A removed card keeps its row with ``deleted_at`` set: payments and top-ups made
with it still name it, and the unique index on (customer, fingerprint) covers live cards only, so the same card can
be registered again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kleline.clock import epoch_us, from_epoch_us
from kleline.db.engine import RawTx, Read
from kleline.wallet.model import Card
from kleline.wallet.personal_data import open_field, seal_field, unwrap_customer_key
from kleline.wallet.vault import MasterKeys, SealedCard, VaultError

__all__ = [
    "cards_read",
    "cards_to_rewrap",
    "find_card",
    "find_live_by_fingerprint",
    "insert_card",
    "list_cards",
    "mark_deleted",
    "replace_wrapping",
    "sealed_number",
]

# The customer's wrapped data key comes with each card, in the same round trip, to open the holder's name.
_CARD_COLUMNS = (
    "c.id, c.customer_id, c.brand, c.first6, c.last4, c.exp_month, c.exp_year, c.holder_sealed, c.created_at, "
    "k.key_id, k.wrapped_key"
)
_FROM = "FROM cards c LEFT JOIN customer_keys k ON k.customer_id = c.customer_id"


def _holder_field(card_id: str) -> str:
    return f"card_holder:{card_id}"


def _card(row: Sequence[Any], keys: MasterKeys) -> Card:
    holder = ""
    if row[7] is not None and row[9] is not None:  # else shredded: nobody can read it any more
        data_key = unwrap_customer_key(str(row[9]), bytes(row[10]), keys)
        holder = open_field(data_key, str(row[1]), _holder_field(str(row[0])), bytes(row[7]))
    return Card(
        id=row[0],
        customer_id=row[1],
        brand=row[2],
        first6=row[3],
        last4=row[4],
        exp_month=int(row[5]),
        exp_year=int(row[6]),
        holder_name=holder,
        created_at=from_epoch_us(int(row[8])),
    )


def _sealed(row: Sequence[Any]) -> SealedCard:
    # psycopg may hand bytea back as memoryview; the vault wants bytes.
    return SealedCard(str(row[0]), bytes(row[1]), bytes(row[2]), bytes(row[3]))


def insert_card(tx: RawTx, card: Card, fingerprint: str, sealed: SealedCard, keys: MasterKeys) -> None:
    """Record a new card (the partial unique index refuses a second live card with the same fingerprint), its
    holder's name sealed under the customer's data key."""
    row = tx.fetchone("SELECT key_id, wrapped_key FROM customer_keys WHERE customer_id = :id", {"id": card.customer_id})
    if row is None:
        raise VaultError(f"customer {card.customer_id} has no data key (erased?): the card cannot be kept")
    data_key = unwrap_customer_key(str(row[0]), bytes(row[1]), keys)
    tx.execute(
        "INSERT INTO cards (id, customer_id, brand, first6, last4, exp_month, exp_year, holder_name, holder_sealed, "
        "fingerprint, "
        "key_id, wrapped_key, nonce, ciphertext, created_at) "
        "VALUES (:id, :customer, :brand, :first6, :last4, :exp_month, :exp_year, '', :holder, :fingerprint, "
        ":key_id, :wrapped_key, :nonce, :ciphertext, :at)",
        {
            "id": card.id,
            "customer": card.customer_id,
            "brand": card.brand,
            "first6": card.first6,
            "last4": card.last4,
            "exp_month": card.exp_month,
            "exp_year": card.exp_year,
            "holder": seal_field(data_key, card.customer_id, _holder_field(card.id), card.holder_name),
            "fingerprint": fingerprint,
            "key_id": sealed.key_id,
            "wrapped_key": sealed.wrapped_key,
            "nonce": sealed.nonce,
            "ciphertext": sealed.ciphertext,
            "at": epoch_us(card.created_at),
        },
    )


def find_live_by_fingerprint(tx: RawTx, customer_id: str, fingerprint: str, keys: MasterKeys) -> Card | None:
    """The customer's live card with this fingerprint, or None."""
    row = tx.fetchone(
        f"SELECT {_CARD_COLUMNS} {_FROM} "
        "WHERE c.customer_id = :customer AND c.fingerprint = :fingerprint AND c.deleted_at IS NULL",
        {"customer": customer_id, "fingerprint": fingerprint},
    )
    return _card(row, keys) if row else None


def find_card(
    tx: RawTx, customer_id: str, card_id: str, keys: MasterKeys, *, include_deleted: bool = False
) -> Card | None:
    """The customer's card ``card_id`` (live only, unless ``include_deleted``), or None; never another's card."""
    live = "" if include_deleted else " AND c.deleted_at IS NULL"
    row = tx.fetchone(
        f"SELECT {_CARD_COLUMNS} {_FROM} WHERE c.id = :id AND c.customer_id = :customer{live}",
        {"id": card_id, "customer": customer_id},
    )
    return _card(row, keys) if row else None


def list_cards(
    tx: RawTx, customer_id: str, keys: MasterKeys, *, limit: int | None, after: Card | None, removed: bool = False
) -> list[Card]:
    """The customer's live cards (and removed ones too with ``removed``), newest first; after ``after`` (a page's
    last card) when given."""
    return tx.read(cards_read(customer_id, keys, limit=limit, after=after, removed=removed))


def cards_read(
    customer_id: str, keys: MasterKeys, *, limit: int | None = None, after: Card | None = None, removed: bool = False
) -> Read[list[Card]]:
    """``list_cards`` as a read, to travel with a page's other reads in one round trip (``RawTx.read_all``)."""
    sql = f"SELECT {_CARD_COLUMNS} {_FROM} WHERE c.customer_id = :customer"
    if not removed:
        sql += " AND c.deleted_at IS NULL"
    params: dict[str, Any] = {"customer": customer_id}
    if after is not None:
        sql += " AND (c.created_at < :at OR (c.created_at = :at AND c.id < :after))"
        params.update(at=epoch_us(after.created_at), after=after.id)
    sql += " ORDER BY c.created_at DESC, c.id DESC"
    if limit is not None:
        sql += " LIMIT :limit"
        params["limit"] = limit
    return Read(sql, params, lambda rows: [_card(row, keys) for row in rows])


def mark_deleted(tx: RawTx, customer_id: str, card_id: str, deleted_at: int) -> bool:
    """Remove the customer's live card ``card_id``; False when there is none (unknown, another's, removed)."""
    cursor = tx.execute(
        "UPDATE cards SET deleted_at = :at WHERE id = :id AND customer_id = :customer AND deleted_at IS NULL",
        {"at": deleted_at, "id": card_id, "customer": customer_id},
    )
    return int(cursor.rowcount) == 1


def sealed_number(tx: RawTx, customer_id: str, card_id: str, keys: MasterKeys) -> tuple[Card, SealedCard] | None:
    """The customer's live card and its sealed number, or None."""
    row = tx.fetchone(
        f"SELECT {_CARD_COLUMNS}, c.key_id, c.wrapped_key, c.nonce, c.ciphertext {_FROM} "
        "WHERE c.id = :id AND c.customer_id = :customer AND c.deleted_at IS NULL",
        {"id": card_id, "customer": customer_id},
    )
    return (_card(row, keys), _sealed(row[11:])) if row else None


def cards_to_rewrap(tx: RawTx, active_key_id: str, limit: int) -> list[tuple[str, SealedCard]]:
    """Up to ``limit`` card records, removed ones included, whose data key is not under ``active_key_id``."""
    rows = tx.fetchall(
        "SELECT id, key_id, wrapped_key, nonce, ciphertext FROM cards WHERE key_id <> :active ORDER BY id LIMIT :limit",
        {"active": active_key_id, "limit": limit},
    )
    return [(str(row[0]), _sealed(row[1:])) for row in rows]


def replace_wrapping(tx: RawTx, card_id: str, old_key_id: str, sealed: SealedCard) -> bool:
    """Store a re-wrapped data key, if the record is still under ``old_key_id`` (a concurrent run may have won)."""
    cursor = tx.execute(
        "UPDATE cards SET key_id = :key_id, wrapped_key = :wrapped_key WHERE id = :id AND key_id = :old",
        {"key_id": sealed.key_id, "wrapped_key": sealed.wrapped_key, "id": card_id, "old": old_key_id},
    )
    return int(cursor.rowcount) == 1
