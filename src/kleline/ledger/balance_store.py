"""The ledger's SQL for balances: an account's balance lives in ``SLOTS`` rows, summed when read.

Kept apart because the slots are the ledger's answer to contention, and their rules (how moves merge, the order
they lock in) are the same for single entries, holds and batches.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from kleline.db.arrays import array_literal
from kleline.db.engine import RawTx, Read, single_int

__all__ = [
    "MAX_ROWS_PER_STATEMENT",
    "SLOTS",
    "UPDATE_BALANCE",
    "SlotDelta",
    "among",
    "apply_deltas",
    "apply_many_deltas",
    "merge_deltas",
    "move_balances",
    "balance_read",
    "posted_by_code_read",
    "read_balance",
    "read_balances",
]

SLOTS = 8
"""Balance rows per account: increases spread over them, so that a hot account's creditors do not queue."""


@dataclass(frozen=True, slots=True)
class SlotDelta:
    """A change to one balance slot: ``balance`` on the normal side, ``held`` reserved."""

    account_id: int
    slot: int
    balance: int
    held: int


def balance_read(account_id: int) -> Read[tuple[int, int]]:
    """(posted, held) of an account, summed over its slots, as a read that may travel with others."""
    return Read(
        "SELECT COALESCE(SUM(balance), 0), COALESCE(SUM(held), 0) FROM ledger_balances WHERE account_id = :id",
        {"id": account_id},
        _posted_and_held,
        width=2,
    )


def posted_by_code_read(code: str) -> Read[int]:
    """The posted balance of the account ``code``, zero when no such account is open yet, as one row read by the
    account's code: an account that may not exist cannot be looked up beforehand (the account cache remembers only
    accounts found), and this keeps that look-up inside the read instead of a statement of its own."""
    return Read(
        "SELECT COALESCE(SUM(b.balance), 0) FROM ledger_accounts a JOIN ledger_balances b ON b.account_id = a.id "
        "WHERE a.code = :code",
        {"code": code},
        single_int,
        width=1,
    )


def _posted_and_held(rows: list[Any]) -> tuple[int, int]:
    return int(rows[0][0]), int(rows[0][1])


def read_balance(tx: RawTx, account_id: int) -> tuple[int, int]:
    """(posted, held) of an account, summed over its slots."""
    return tx.read(balance_read(account_id))


def read_balances(tx: RawTx, account_ids: Sequence[int]) -> dict[int, tuple[int, int]]:
    """(posted, held) of several accounts, summed over their slots."""
    if not account_ids:
        return {}
    condition, params = among("account_id", account_ids, tx.is_postgres)
    rows = tx.fetchall(
        f"SELECT account_id, SUM(balance), SUM(held) FROM ledger_balances WHERE {condition} GROUP BY account_id",
        params,
    )
    return {int(r[0]): (int(r[1]), int(r[2])) for r in rows}


def among(column: str, values: Sequence[Any], postgres: bool) -> tuple[str, dict[str, Any]]:
    """A condition ``column`` is one of ``values``, and its parameters: one parameter whatever the number of
    values, an array on PostgreSQL and a JSON array on SQLite (a 1,000-name ``IN`` list costs the client more to
    rewrite and bind than the query costs the database: on SQLite, four times what ``json_each`` costs)."""
    if postgres:
        return f"{column} = ANY(:values)", {"values": list(values)}
    return f"{column} IN (SELECT value FROM json_each(:values))", {"values": json.dumps(list(values))}


UPDATE_BALANCE = (
    "UPDATE ledger_balances SET balance = balance + :balance, held = held + :held "
    "WHERE account_id = :id AND slot = :slot"
)


def merge_deltas(deltas: Iterable[SlotDelta]) -> list[SlotDelta]:
    """One move per slot, in (account, slot) order: the lock order, and a commit that spends held funds and
    releases the hold in the same breath is checked as a whole."""
    merged: dict[tuple[int, int], tuple[int, int]] = {}
    for d in deltas:
        balance, held = merged.get((d.account_id, d.slot), (0, 0))
        merged[(d.account_id, d.slot)] = (balance + d.balance, held + d.held)
    return [SlotDelta(a, s, b, h) for (a, s), (b, h) in sorted(merged.items()) if b or h]


MAX_ROWS_PER_STATEMENT = 1_000
"""The most rows one SQLite statement writes from a ``VALUES`` list (four or five parameters a row, well under
SQLite's 32,766)."""


@functools.lru_cache(maxsize=16)
def move_balances(count: int) -> str:
    """SQLite: ``count`` slot moves in one statement (positional parameters, four a move: account id, slot,
    balance, held). The floor trigger still runs for every row it changes."""
    rows = ", ".join(["(?, ?, ?, ?)"] * count)
    return (
        "UPDATE ledger_balances SET balance = balance + v.column3, held = held + v.column4 "
        f"FROM (VALUES {rows}) AS v WHERE ledger_balances.account_id = v.column1 AND ledger_balances.slot = v.column2"
    )


def apply_deltas(tx: RawTx, deltas: Iterable[SlotDelta]) -> None:
    """Move balance slots, merged and in lock order: the database refuses any move that crosses a floor."""
    moves = merge_deltas(deltas)
    accounts = {d.account_id for d in moves}
    if not tx.is_postgres and 1 < len(moves) == len(accounts) and len(moves) <= MAX_ROWS_PER_STATEMENT:
        # One statement where each account moves one slot: a row's floor check reads only its own account's slots,
        # none of which the statement changes elsewhere, so the order SQLite visits the rows in cannot matter.
        # (Two slots of one account move in lock order, one statement each.)
        tx.execute(move_balances(len(moves)), [v for d in moves for v in (d.account_id, d.slot, d.balance, d.held)])
        return
    # One statement per slot, pipelined on PostgreSQL (a batch moving 1,000 accounts pays no 1,000 round trips).
    tx.executemany(
        UPDATE_BALANCE, [{"balance": d.balance, "held": d.held, "id": d.account_id, "slot": d.slot} for d in moves]
    )


def apply_many_deltas(tx: RawTx, deltas: Iterable[SlotDelta]) -> None:
    """``apply_deltas`` for a batch: on PostgreSQL one call of ``kleline_move_balances``, which runs the same
    updates in the same (lock) order server-side, instead of one statement per slot (a batch crediting 1,000
    merchants moves 1,000 slots)."""
    moves = merge_deltas(deltas)
    if not tx.is_postgres or len(moves) < 2:
        apply_deltas(tx, moves)
        return
    tx.execute(
        "SELECT kleline_move_balances(CAST(:accounts AS integer[]), CAST(:slots AS integer[]), "
        "CAST(:balances AS bigint[]), CAST(:helds AS bigint[]))",
        {
            "accounts": array_literal(m.account_id for m in moves),
            "slots": array_literal(m.slot for m in moves),
            "balances": array_literal(m.balance for m in moves),
            "helds": array_literal(m.held for m in moves),
        },
    )
