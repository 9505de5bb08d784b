"""Bank accounts' and collections' SQL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from kleline.clock import epoch_us, from_epoch_us
from kleline.collections.model import BankAccount, Collection, CollectionStatus
from kleline.db.engine import RawTx, Read
from kleline.money import Money

__all__ = [
    "customers_in_debt",
    "find_bank_account",
    "has_pending_collections",
    "insert_bank_account",
    "insert_collection",
    "bank_accounts_read",
    "list_bank_accounts",
    "list_collections",
    "load_collection",
    "mark_bank_account_deleted",
    "save_collection",
]

_ACCOUNT_COLUMNS = "id, customer_id, iban, bic, holder_name, mandate_id, mandate_signed_at, created_at"
_COLLECTION_COLUMNS = (
    "id, top_up_id, customer_id, bank_account_id, amount, currency, status, run_id, sequence, created_at, "
    "submitted_at, collected_at, collected_line_ref, returned_at, returned_line_ref, return_reason, shortfall"
)


def _time(value: Any) -> Any:
    return None if value is None else from_epoch_us(int(value))


def _epoch(moment: datetime | None) -> int | None:
    return None if moment is None else epoch_us(moment)


def _account(row: Sequence[Any]) -> BankAccount:
    return BankAccount(
        id=row[0],
        customer_id=row[1],
        iban=row[2],
        bic=row[3],
        holder_name=row[4],
        mandate_id=row[5],
        mandate_signed_at=from_epoch_us(int(row[6])),
        created_at=from_epoch_us(int(row[7])),
    )


def _collection(row: Sequence[Any]) -> Collection:
    currency = row[5]
    status = CollectionStatus(row[6])
    return Collection(
        id=row[0],
        top_up_id=row[1],
        customer_id=row[2],
        bank_account_id=row[3],
        amount=Money(int(row[4]), currency),
        status=status,
        run_id=row[7],
        sequence=row[8],
        created_at=from_epoch_us(int(row[9])),
        submitted_at=_time(row[10]),
        collected_at=_time(row[11]),
        collected_line_ref=row[12],
        returned_at=_time(row[13]),
        returned_line_ref=row[14],
        return_reason=row[15],
        shortfall=Money(int(row[16]), currency) if status is CollectionStatus.RETURNED else None,
    )


# --- bank accounts --------------------------------------------------------------------------------------------


def insert_bank_account(tx: RawTx, account: BankAccount, signed_at: int, created_at: int) -> None:
    """Record a bank account and its mandate (the unique index refuses the same live IBAN twice per customer)."""
    tx.execute(
        f"INSERT INTO bank_accounts ({_ACCOUNT_COLUMNS}) "
        "VALUES (:id, :customer, :iban, :bic, :holder, :mandate, :signed_at, :created_at)",
        {
            "id": account.id,
            "customer": account.customer_id,
            "iban": account.iban,
            "bic": account.bic,
            "holder": account.holder_name,
            "mandate": account.mandate_id,
            "signed_at": signed_at,
            "created_at": created_at,
        },
    )


def find_bank_account(tx: RawTx, customer_id: str, account_id: str, *, lock: bool = False) -> BankAccount | None:
    """The customer's live bank account ``account_id``, or None (unknown, removed, or another customer's); with
    ``lock``, its row is locked for this transaction (a top-up and a removal of the account take turns)."""
    suffix = " FOR UPDATE" if lock and tx.is_postgres else ""
    row = tx.fetchone(
        f"SELECT {_ACCOUNT_COLUMNS} FROM bank_accounts WHERE id = :id AND customer_id = :customer "
        f"AND deleted_at IS NULL{suffix}",
        {"id": account_id, "customer": customer_id},
    )
    return None if row is None else _account(row)


def list_bank_accounts(tx: RawTx, customer_id: str) -> list[BankAccount]:
    """The customer's live bank accounts, oldest first."""
    return tx.read(bank_accounts_read(customer_id))


def bank_accounts_read(customer_id: str) -> Read[list[BankAccount]]:
    """``list_bank_accounts`` as a read, to travel with a page's other reads in one round trip."""
    return Read(
        f"SELECT {_ACCOUNT_COLUMNS} FROM bank_accounts WHERE customer_id = :customer AND deleted_at IS NULL "
        "ORDER BY created_at, id",
        {"customer": customer_id},
        _accounts,
    )


def _accounts(rows: list[Any]) -> list[BankAccount]:
    return [_account(row) for row in rows]


def mark_bank_account_deleted(tx: RawTx, customer_id: str, account_id: str, deleted_at: int) -> bool:
    """Remove the customer's live bank account (its mandate ends); False when there is none."""
    cursor = tx.execute(
        "UPDATE bank_accounts SET deleted_at = :at WHERE id = :id AND customer_id = :customer AND deleted_at IS NULL",
        {"at": deleted_at, "id": account_id, "customer": customer_id},
    )
    return bool(cursor.rowcount)


def has_pending_collections(tx: RawTx, account_id: str) -> bool:
    """True while a collection on this bank account waits for a run."""
    row = tx.fetchone(
        "SELECT 1 FROM collections WHERE bank_account_id = :id AND status = 'pending' LIMIT 1", {"id": account_id}
    )
    return row is not None


# --- collections ----------------------------------------------------------------------------------------------


def insert_collection(tx: RawTx, collection: Collection, created_at: int) -> None:
    """Record a new collection, ``pending`` until a run takes it."""
    tx.execute(
        "INSERT INTO collections (id, top_up_id, customer_id, bank_account_id, amount, currency, status, created_at) "
        "VALUES (:id, :top_up, :customer, :account, :amount, :currency, 'pending', :at)",
        {
            "id": collection.id,
            "top_up": collection.top_up_id,
            "customer": collection.customer_id,
            "account": collection.bank_account_id,
            "amount": collection.amount.minor,
            "currency": collection.amount.currency,
            "at": created_at,
        },
    )


def load_collection(tx: RawTx, collection_id: str, *, lock: bool = False) -> Collection | None:
    """A collection by id (its row locked for this transaction with ``lock``), or None."""
    suffix = " FOR UPDATE" if lock and tx.is_postgres else ""
    row = tx.fetchone(f"SELECT {_COLLECTION_COLUMNS} FROM collections WHERE id = :id{suffix}", {"id": collection_id})
    return None if row is None else _collection(row)


def save_collection(tx: RawTx, collection: Collection) -> None:
    """Write how a collection was settled: its status, the statement lines and times, the reason, the shortfall."""
    tx.execute(
        "UPDATE collections SET status = :status, collected_at = :collected_at, "
        "collected_line_ref = :collected_line_ref, returned_at = :returned_at, "
        "returned_line_ref = :returned_line_ref, return_reason = :return_reason, shortfall = :shortfall "
        "WHERE id = :id",
        {
            "id": collection.id,
            "status": collection.status.value,
            "collected_at": _epoch(collection.collected_at),
            "collected_line_ref": collection.collected_line_ref,
            "returned_at": _epoch(collection.returned_at),
            "returned_line_ref": collection.returned_line_ref,
            "return_reason": collection.return_reason,
            "shortfall": 0 if collection.shortfall is None else collection.shortfall.minor,
        },
    )


def list_collections(
    tx: RawTx, *, status: str | None, customer_id: str | None, run_id: str | None, limit: int, after: str | None
) -> list[Collection]:
    """Collections newest first, filtered by status, customer or run, after the ``after`` id."""
    where: list[str] = []
    params: dict[str, object] = {"limit": limit}
    for column, value in (("status", status), ("customer_id", customer_id), ("run_id", run_id)):
        if value is not None:
            where.append(f"{column} = :{column}")
            params[column] = value
    if after is not None:
        where.append(
            "(created_at < (SELECT created_at FROM collections WHERE id = :after) OR "
            "(created_at = (SELECT created_at FROM collections WHERE id = :after) AND id < :after))"
        )
        params["after"] = after
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    rows = tx.fetchall(
        f"SELECT {_COLLECTION_COLUMNS} FROM collections {clause} ORDER BY created_at DESC, id DESC LIMIT :limit",
        params,
    )
    return [_collection(row) for row in rows]


def customers_in_debt(tx: RawTx, *, after: str | None, limit: int) -> list[tuple[str, int, int]]:
    """Customers whose returned collections left a shortfall, by id after ``after``: (customer, how many returned
    collections left one, when the last came back)."""
    rows = tx.fetchall(
        "SELECT customer_id, COUNT(*), MAX(returned_at) FROM collections "
        "WHERE status = 'returned' AND shortfall > 0 AND customer_id > :after "
        "GROUP BY customer_id ORDER BY customer_id LIMIT :limit",
        {"after": after or "", "limit": limit},
    )
    return [(str(row[0]), int(row[1]), int(row[2])) for row in rows]
