"""The merchants' SQL: merchants, their mall memberships and their secret keys."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Final, Literal

from kleline.clock import from_epoch_us
from kleline.db.engine import RawTx
from kleline.merchants.model import Merchant, MerchantKey

__all__ = [
    "MALLS_JOIN",
    "MERCHANT_COLUMNS",
    "MERCHANT_WIDTH",
    "count_merchants",
    "cursor_of",
    "find_merchant",
    "in_list",
    "insert_key",
    "insert_memberships",
    "insert_merchant",
    "key_merchant",
    "list_keys",
    "list_merchants",
    "mall_ids_of",
    "merchant_from_rows",
    "merchants_sharing",
    "missing_malls",
    "revoke_key",
    "search_merchants",
    "set_bank_details",
    "set_fee",
    "set_intro_fee",
    "set_profile",
    "set_status",
]

_COLUMNS = (
    "id, name, email, website, category, siret, iban, bic, fee_bps, status, created_at, description, approved_at, "
    "vat_number, contact_name, contact_phone, status_reason, status_changed_at, intro_fee_bps"
)
_QUALIFIED = ", ".join(f"m.{column}" for column in _COLUMNS.split(", "))

MERCHANT_COLUMNS: Final = f"{_QUALIFIED}, mm.mall_id"
"""A merchant's columns over the alias ``m``, then one of its malls over ``mm`` (``MALLS_JOIN``): a query that
needs a merchant beside something else reads it in the same statement, a row per mall."""
MERCHANT_WIDTH: Final = len(_COLUMNS.split(", ")) + 1
"""How many columns ``MERCHANT_COLUMNS`` names."""
MALLS_JOIN: Final = "LEFT JOIN mall_merchants mm ON mm.merchant_id = m.id"


def in_list(prefix: str, values: Sequence[str]) -> tuple[str, dict[str, str]]:
    """``(:p0, :p1, ...)`` and its parameters, for an IN clause over ``values`` (never empty; also the malls')."""
    params = {f"{prefix}{i}": value for i, value in enumerate(values)}
    return "(" + ", ".join(f":{name}" for name in params) + ")", params


def _merchant(row: Sequence[Any], mall_ids: Iterable[str]) -> Merchant:
    return Merchant(
        id=row[0],
        name=row[1],
        email=row[2],
        website=row[3],
        category=row[4],
        siret=row[5],
        iban=row[6],
        bic=row[7],
        fee_bps=int(row[8]),
        status=row[9],
        mall_ids=tuple(sorted(mall_ids)),
        created_at=from_epoch_us(int(row[10])),
        description=row[11],
        approved_at=None if row[12] is None else from_epoch_us(int(row[12])),
        vat_number=row[13],
        contact_name=row[14],
        contact_phone=row[15],
        status_reason=row[16],
        status_changed_at=from_epoch_us(int(row[17])),
        intro_fee_bps=int(row[18]),
    )


def insert_merchant(tx: RawTx, merchant: Merchant, created_at: int) -> None:
    """Record a new merchant."""
    tx.execute(
        f"INSERT INTO merchants ({_COLUMNS}) VALUES (:id, :name, :email, :website, :category, :siret, :iban, :bic, "
        ":fee, :status, :at, :description, NULL, :vat, :contact_name, :contact_phone, NULL, :at, :intro_fee)",
        {
            "id": merchant.id,
            "name": merchant.name,
            "email": merchant.email,
            "website": merchant.website,
            "category": merchant.category,
            "siret": merchant.siret,
            "iban": merchant.iban,
            "bic": merchant.bic,
            "fee": merchant.fee_bps,
            "intro_fee": merchant.intro_fee_bps,
            "status": merchant.status,
            "description": merchant.description,
            "vat": merchant.vat_number,
            "contact_name": merchant.contact_name,
            "contact_phone": merchant.contact_phone,
            "at": created_at,
        },
    )


def missing_malls(tx: RawTx, mall_ids: Sequence[str]) -> list[str]:
    """Those of ``mall_ids`` that name no mall."""
    if not mall_ids:
        return []
    clause, params = in_list("m", mall_ids)
    found = {str(row[0]) for row in tx.fetchall(f"SELECT id FROM malls WHERE id IN {clause}", params)}
    return [mall_id for mall_id in mall_ids if mall_id not in found]


def insert_memberships(tx: RawTx, merchant_id: str, mall_ids: Sequence[str], added_at: int) -> None:
    """Place a merchant in malls (a membership already recorded stays as it was)."""
    tx.executemany(
        "INSERT INTO mall_merchants (mall_id, merchant_id, added_at) VALUES (:mall, :merchant, :at) "
        "ON CONFLICT (mall_id, merchant_id) DO NOTHING",
        [{"mall": mall_id, "merchant": merchant_id, "at": added_at} for mall_id in mall_ids],
    )


def mall_ids_of(tx: RawTx, merchant_ids: Sequence[str]) -> dict[str, list[str]]:
    """The malls of each merchant, in one query."""
    malls: dict[str, list[str]] = {merchant_id: [] for merchant_id in merchant_ids}
    if merchant_ids:
        clause, params = in_list("m", merchant_ids)
        for mall_id, merchant_id in tx.fetchall(
            f"SELECT mall_id, merchant_id FROM mall_merchants WHERE merchant_id IN {clause}", params
        ):
            malls[str(merchant_id)].append(str(mall_id))
    return malls


def merchant_from_rows(rows: Sequence[Sequence[Any]]) -> Merchant:
    """A merchant from the rows of ``MERCHANT_COLUMNS`` (one per mall, or a single one with no mall)."""
    return _merchant(rows[0], (str(row[-1]) for row in rows if row[-1] is not None))


def find_merchant(tx: RawTx, merchant_id: str, *, for_update: bool = False) -> Merchant | None:
    """A merchant by id with its malls, in one query (payments read a merchant on every call); its row locked on
    PostgreSQL with ``for_update``; or None."""
    lock = " FOR UPDATE OF m" if for_update and tx.is_postgres else ""
    rows = tx.fetchall(
        f"SELECT {MERCHANT_COLUMNS} FROM merchants m {MALLS_JOIN} WHERE m.id = :id{lock}", {"id": merchant_id}
    )
    return merchant_from_rows(rows) if rows else None


def list_merchants(
    tx: RawTx, *, limit: int, starting_after: tuple[int, str] | None, status: str | None
) -> list[Merchant]:
    """Merchants newest first, after the ``(created_at, id)`` of the last one seen."""
    where: list[str] = []
    params: dict[str, object] = {"limit": limit}
    if status is not None:
        where.append("status = :status")
        params["status"] = status
    if starting_after is not None:
        where.append("(created_at < :after_at OR (created_at = :after_at AND id < :after_id))")
        params.update(after_at=starting_after[0], after_id=starting_after[1])
    condition = f" WHERE {' AND '.join(where)}" if where else ""
    rows = tx.fetchall(
        f"SELECT {_COLUMNS} FROM merchants{condition} ORDER BY created_at DESC, id DESC LIMIT :limit", params
    )
    malls = mall_ids_of(tx, [str(row[0]) for row in rows])
    return [_merchant(row, malls[str(row[0])]) for row in rows]


def count_merchants(tx: RawTx, status: str) -> int:
    """How many merchants are in ``status``."""
    row = tx.fetchone("SELECT COUNT(*) FROM merchants WHERE status = :status", {"status": status})
    return int(row[0]) if row is not None else 0


def merchants_sharing(tx: RawTx, column: Literal["iban", "siret"], value: str, except_id: str) -> list[Merchant]:
    """The other merchants whose ``column`` is ``value``, oldest first (a scan: merchants number in the thousands,
    and this runs once per review, not per payment)."""
    rows = tx.fetchall(
        f"SELECT {_COLUMNS} FROM merchants WHERE {column} = :value AND id <> :id ORDER BY created_at, id",
        {"value": value, "id": except_id},
    )
    malls = mall_ids_of(tx, [str(row[0]) for row in rows])
    return [_merchant(row, malls[str(row[0])]) for row in rows]


def _like(text: str) -> str:
    """``text`` inside a LIKE pattern, its wildcards and the escape character escaped (``ESCAPE '\\'``)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_merchants(
    tx: RawTx, *, contains: str, id_prefix: str | None, siret_prefix: str | None, email_prefix: str | None, limit: int
) -> list[Merchant]:
    """Up to ``limit`` merchants, by name, whose name holds ``contains`` (compare it lower-cased in A-Z, as the
    name is), or whose id, SIRET or email begins with the prefix given. Merchants are a few thousand at most: one
    pass over them, no index needed."""
    name = 'lower(name COLLATE "C")' if tx.is_postgres else "lower(name)"
    readings = [f"{name} LIKE :contains ESCAPE '\\'"]
    params: dict[str, object] = {"contains": f"%{_like(contains)}%", "limit": limit}
    for column, prefix in (("id", id_prefix), ("siret", siret_prefix), ("email", email_prefix)):
        if prefix is not None:
            readings.append(f"{column} LIKE :{column} ESCAPE '\\'")
            params[column] = f"{_like(prefix)}%"
    rows = tx.fetchall(
        f"SELECT {_COLUMNS} FROM merchants WHERE {' OR '.join(readings)} ORDER BY {name}, id LIMIT :limit", params
    )
    malls = mall_ids_of(tx, [str(row[0]) for row in rows])
    return [_merchant(row, malls[str(row[0])]) for row in rows]


def cursor_of(tx: RawTx, merchant_id: str) -> tuple[int, str] | None:
    """The ``(created_at, id)`` a page continues after, or None for an unknown merchant."""
    row = tx.fetchone("SELECT created_at, id FROM merchants WHERE id = :id", {"id": merchant_id})
    return None if row is None else (int(row[0]), str(row[1]))


def set_status(tx: RawTx, merchant_id: str, status: str, changed_at: int, reason: str | None = None) -> None:
    """Move a merchant to ``status`` with its ``reason`` (the caller read it under ``find_merchant(for_update=True)``
    and checked the move is allowed); the first move to ``active`` is its approval date, which later moves keep."""
    tx.execute(
        "UPDATE merchants SET status = :status, status_reason = :reason, status_changed_at = :at, "
        "approved_at = COALESCE(approved_at, :approved) WHERE id = :id",
        {
            "status": status,
            "reason": reason,
            "at": changed_at,
            "approved": changed_at if status == "active" else None,
            "id": merchant_id,
        },
    )


def set_profile(tx: RawTx, merchant_id: str, description: str | None, website: str | None) -> bool:
    """Set what the shop sells and its website; False if there is no such merchant."""
    cursor = tx.execute(
        "UPDATE merchants SET description = :description, website = :website WHERE id = :id",
        {"description": description, "website": website, "id": merchant_id},
    )
    return int(cursor.rowcount) == 1


def set_bank_details(tx: RawTx, merchant_id: str, iban: str, bic: str) -> bool:
    """Pay the merchant's next payouts into another account (checked, and approved by an operator, by the caller);
    False if there is no such merchant. Payouts already made keep the account they recorded."""
    cursor = tx.execute(
        "UPDATE merchants SET iban = :iban, bic = :bic WHERE id = :id", {"iban": iban, "bic": bic, "id": merchant_id}
    )
    return int(cursor.rowcount) == 1


def set_fee(tx: RawTx, merchant_id: str, fee_bps: int) -> bool:
    """Take Kleline's commission at ``fee_bps`` on the merchant's next payments (checked, and approved by a second
    operator, by the caller); False if there is no such merchant. Payments already made keep the rate they recorded."""
    cursor = tx.execute("UPDATE merchants SET fee_bps = :fee WHERE id = :id", {"fee": fee_bps, "id": merchant_id})
    return int(cursor.rowcount) == 1


def set_intro_fee(tx: RawTx, merchant_id: str, intro_fee_bps: int) -> bool:
    """Take Kleline's introduction fee at ``intro_fee_bps`` on the merchant's next introduced payments (checked, and
    approved by a second operator, by the caller); False if there is no such merchant. Payments already confirmed
    keep the rate they recorded."""
    cursor = tx.execute(
        "UPDATE merchants SET intro_fee_bps = :fee WHERE id = :id", {"fee": intro_fee_bps, "id": merchant_id}
    )
    return int(cursor.rowcount) == 1


def insert_key(tx: RawTx, key: MerchantKey, key_hash: bytes, created_at: int) -> None:
    """Record a key's digest."""
    tx.execute(
        "INSERT INTO merchant_keys (id, merchant_id, key_hash, last4, created_at) "
        "VALUES (:id, :merchant, :hash, :last4, :at)",
        {"id": key.id, "merchant": key.merchant_id, "hash": key_hash, "last4": key.last4, "at": created_at},
    )


def key_merchant(tx: RawTx, key_hash: bytes) -> str | None:
    """The merchant of a live key, or None."""
    row = tx.fetchone(
        "SELECT merchant_id FROM merchant_keys WHERE key_hash = :hash AND revoked_at IS NULL", {"hash": key_hash}
    )
    return None if row is None else str(row[0])


def merchant_of_key(tx: RawTx, key_hash: bytes) -> Merchant | None:
    """The merchant of a live key, with its malls, in one query; or None."""
    rows = tx.fetchall(
        f"SELECT {MERCHANT_COLUMNS} FROM merchant_keys k JOIN merchants m ON m.id = k.merchant_id {MALLS_JOIN} "
        "WHERE k.key_hash = :hash AND k.revoked_at IS NULL",
        {"hash": key_hash},
    )
    return merchant_from_rows(rows) if rows else None


def list_keys(tx: RawTx, merchant_id: str) -> list[MerchantKey]:
    """A merchant's keys, live and revoked, newest first."""
    rows = tx.fetchall(
        "SELECT id, merchant_id, last4, created_at, revoked_at FROM merchant_keys WHERE merchant_id = :merchant "
        "ORDER BY created_at DESC, id DESC",
        {"merchant": merchant_id},
    )
    return [
        MerchantKey(
            row[0], row[1], row[2], from_epoch_us(int(row[3])), None if row[4] is None else from_epoch_us(int(row[4]))
        )
        for row in rows
    ]


def revoke_key(tx: RawTx, merchant_id: str, key_id: str, revoked_at: int) -> bool:
    """Revoke a merchant's key (already revoked stays revoked at its first time); False if it has no such key."""
    tx.execute(
        "UPDATE merchant_keys SET revoked_at = :at WHERE id = :id AND merchant_id = :merchant AND revoked_at IS NULL",
        {"at": revoked_at, "id": key_id, "merchant": merchant_id},
    )
    row = tx.fetchone(
        "SELECT 1 FROM merchant_keys WHERE id = :id AND merchant_id = :merchant",
        {"id": key_id, "merchant": merchant_id},
    )
    return row is not None
