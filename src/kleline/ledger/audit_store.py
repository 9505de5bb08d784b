"""Read-side queries of the audit: every chain in order, sums of postings and balances, orphans.

Kept apart from ``store`` (the write path and the everyday reads): these scan the whole journal.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from kleline.db.engine import RawTx


def chain_heads(tx: RawTx) -> dict[int, tuple[int, bytes]]:
    """Every chain's (seq, head)."""
    return {int(r[0]): (int(r[1]), bytes(r[2])) for r in tx.fetchall("SELECT shard, seq, head FROM ledger_chains")}


def iter_chain(tx: RawTx, shard: int, page: int = 2000) -> Iterator[tuple[tuple[Any, ...], list[tuple[int, int, str]]]]:
    """The entries of chain ``shard`` in chain order, each with its postings as (account id, amount, currency).

    Pages hold ``page`` entries whatever gaps the sequence has, so that a run of deleted entries cannot end the
    walk early and hide the entries after it."""
    after = 0
    while True:
        rows = tx.fetchall(
            "SELECT e.id, e.posted_at, e.description, e.metadata, e.chain_seq, e.content_hash, e.link_hash, "
            "p.account_id, p.amount, p.currency FROM ledger_entries e "
            "LEFT JOIN ledger_postings p ON p.entry_id = e.id "
            "WHERE e.chain_shard = :shard AND e.chain_seq IN ("
            "  SELECT chain_seq FROM ledger_entries WHERE chain_shard = :shard AND chain_seq > :after "
            "  ORDER BY chain_seq LIMIT :page) "
            "ORDER BY e.chain_seq, p.line",
            {"shard": shard, "after": after, "page": page},
        )
        if not rows:
            return
        current: tuple[Any, ...] | None = None
        legs: list[tuple[int, int, str]] = []
        for row in rows:
            if current is None or row[0] != current[0]:
                if current is not None:
                    yield current, legs
                current, legs = tuple(row[:7]), []
            if row[7] is not None:
                legs.append((int(row[7]), int(row[8]), row[9]))
        if current is not None:
            yield current, legs
            after = int(current[4])


def orphan_postings(tx: RawTx) -> list[tuple[int, str]]:
    """Postings whose entry is missing (an entry row deleted behind the ledger's back)."""
    rows = tx.fetchall(
        "SELECT p.id, p.entry_id FROM ledger_postings p LEFT JOIN ledger_entries e ON e.id = p.entry_id "
        "WHERE e.id IS NULL ORDER BY p.id LIMIT 100"
    )
    return [(int(r[0]), r[1]) for r in rows]


def posting_sums(tx: RawTx) -> dict[int, int]:
    """Each account's sum of signed postings (debit positive)."""
    return {
        int(r[0]): int(r[1])
        for r in tx.fetchall("SELECT account_id, SUM(amount) FROM ledger_postings GROUP BY account_id")
    }


def slot_sums(tx: RawTx) -> dict[int, int]:
    """Each account's stored balance (normal side), summed over its slots."""
    return {
        int(r[0]): int(r[1])
        for r in tx.fetchall("SELECT account_id, SUM(balance) FROM ledger_balances GROUP BY account_id")
    }


def currency_totals(tx: RawTx) -> dict[str, tuple[int, int]]:
    """(debits, credits) per currency over every posting."""
    rows = tx.fetchall(
        "SELECT currency, COALESCE(SUM(CASE WHEN amount > 0 THEN amount ELSE 0 END), 0), "
        "COALESCE(SUM(CASE WHEN amount < 0 THEN -amount ELSE 0 END), 0) FROM ledger_postings GROUP BY currency"
    )
    return {r[0]: (int(r[1]), int(r[2])) for r in rows}
