"""The malls' SQL: malls and the merchants they show."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kleline.clock import from_epoch_us
from kleline.db.engine import RawTx
from kleline.merchants.model import Mall, MallMember
from kleline.merchants.store import in_list

__all__ = ["delete_member", "find_mall", "insert_mall", "list_malls", "malls_of", "slug_of"]


def insert_mall(tx: RawTx, mall: Mall, created_at: int) -> None:
    """Record a new mall (the slug's unique key refuses a second mall with the same slug)."""
    tx.execute(
        "INSERT INTO malls (id, name, slug, created_at) VALUES (:id, :name, :slug, :at)",
        {"id": mall.id, "name": mall.name, "slug": mall.slug, "at": created_at},
    )


def _members(tx: RawTx, mall_ids: Sequence[str]) -> dict[str, list[MallMember]]:
    """The members of each mall, by name, in one query."""
    members: dict[str, list[MallMember]] = {mall_id: [] for mall_id in mall_ids}
    if not mall_ids:
        return members
    clause, params = in_list("m", mall_ids)
    rows = tx.fetchall(
        "SELECT mm.mall_id, m.id, m.name, m.website, m.category, m.status, m.description FROM mall_merchants mm "
        f"JOIN merchants m ON m.id = mm.merchant_id WHERE mm.mall_id IN {clause} ORDER BY m.name, m.id",
        params,
    )
    for row in rows:
        members[str(row[0])].append(MallMember(row[1], row[2], row[3], row[4], row[5], row[6]))
    return members


def _mall(row: Sequence[Any], members: Sequence[MallMember]) -> Mall:
    return Mall(row[0], row[1], row[2], tuple(members), from_epoch_us(int(row[3])))


def find_mall(tx: RawTx, mall_id: str) -> Mall | None:
    """A mall and its members, or None."""
    row = tx.fetchone("SELECT id, name, slug, created_at FROM malls WHERE id = :id", {"id": mall_id})
    return None if row is None else _mall(row, _members(tx, [mall_id])[mall_id])


def slug_of(tx: RawTx, mall_id: str) -> str | None:
    """A mall's slug (where a page of malls continues), or None for an unknown mall."""
    row = tx.fetchone("SELECT slug FROM malls WHERE id = :id", {"id": mall_id})
    return None if row is None else str(row[0])


def list_malls(tx: RawTx, *, limit: int, after_slug: str | None) -> list[Mall]:
    """Malls in slug order (a directory reads alphabetically), after ``after_slug``."""
    if after_slug is None:
        rows = tx.fetchall("SELECT id, name, slug, created_at FROM malls ORDER BY slug LIMIT :limit", {"limit": limit})
    else:
        rows = tx.fetchall(
            "SELECT id, name, slug, created_at FROM malls WHERE slug > :after ORDER BY slug LIMIT :limit",
            {"after": after_slug, "limit": limit},
        )
    members = _members(tx, [str(row[0]) for row in rows])
    return [_mall(row, members[str(row[0])]) for row in rows]


def delete_member(tx: RawTx, mall_id: str, merchant_id: str) -> None:
    """Take a merchant out of a mall (a no-op if it was not in it)."""
    tx.execute(
        "DELETE FROM mall_merchants WHERE mall_id = :mall AND merchant_id = :merchant",
        {"mall": mall_id, "merchant": merchant_id},
    )


def malls_of(tx: RawTx, merchant_id: str) -> list[Mall]:
    """The malls a merchant belongs to, by id, with their members (two queries, however many malls)."""
    rows = tx.fetchall(
        "SELECT m.id, m.name, m.slug, m.created_at FROM malls m JOIN mall_merchants mm ON mm.mall_id = m.id "
        "WHERE mm.merchant_id = :merchant ORDER BY m.id",
        {"merchant": merchant_id},
    )
    members = _members(tx, [str(row[0]) for row in rows])
    return [_mall(row, members[str(row[0])]) for row in rows]
