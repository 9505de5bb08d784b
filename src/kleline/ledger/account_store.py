"""The ledger's SQL for accounts: open one with its balance slots, find them by code, list them.

Kept apart from the entries because accounts never change once opened: these are the only statements that touch
``ledger_accounts``, and their rows are what ``ledger.accounts.AccountCache`` keeps.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from kleline.db.arrays import one_of
from kleline.db.engine import RawTx
from kleline.ledger.balance_store import SLOTS, among
from kleline.ledger.model import Account, NormalSide

__all__ = ["AccountRow", "find_account", "find_accounts", "insert_account", "insert_accounts", "list_accounts"]


@dataclass(frozen=True, slots=True)
class AccountRow:
    """An account as stored, with its surrogate id (accounts never change, so rows may be cached)."""

    id: int
    account: Account

    @property
    def code(self) -> str:
        """The account's code."""
        return self.account.code


_ACCOUNT_COLUMNS = "id, code, currency, normal_side, floor"


def _account_row(row: Sequence[Any]) -> AccountRow:
    return AccountRow(row[0], Account(row[1], row[2], NormalSide(row[3]), row[4]))


def find_account(tx: RawTx, code: str) -> AccountRow | None:
    """The account with ``code``, or None."""
    row = tx.fetchone(f"SELECT {_ACCOUNT_COLUMNS} FROM ledger_accounts WHERE code = :code", {"code": code})
    return _account_row(row) if row else None


def find_accounts(tx: RawTx, codes: Iterable[str]) -> dict[str, AccountRow]:
    """The accounts among ``codes`` that exist, by code."""
    codes = list(codes)
    if not codes:
        return {}
    params: dict[str, object] = {}
    condition = one_of(tx, "code", codes, "code", params)
    rows = tx.fetchall(f"SELECT {_ACCOUNT_COLUMNS} FROM ledger_accounts WHERE {condition}", params)
    return {row[1]: _account_row(row) for row in rows}


def insert_account(tx: RawTx, account: Account, created_at: int) -> AccountRow:
    """Open ``account`` with its balance slots."""
    params = {
        "code": account.code,
        "currency": account.currency,
        "side": account.normal_side.value,
        "floor": account.floor,
        "created_at": created_at,
    }
    row = tx.fetchone(
        "INSERT INTO ledger_accounts (code, currency, normal_side, floor, created_at) "
        "VALUES (:code, :currency, :side, :floor, :created_at) RETURNING id",
        params,
    )
    account_id = int(row[0])
    tx.executemany(
        "INSERT INTO ledger_balances (account_id, slot, balance, held, floor) VALUES (:id, :slot, 0, 0, :floor)",
        [{"id": account_id, "slot": slot, "floor": account.floor} for slot in range(SLOTS)],
    )
    return AccountRow(account_id, account)


_CHUNK = 500
"""Accounts per statement when opening many: 5 parameters each, well under SQLite's limit on parameters."""


def insert_accounts(tx: RawTx, accounts: Sequence[Account], created_at: int) -> list[AccountRow]:
    """Open many ``accounts`` (none of them existing) with their balance slots: two statements per 500 accounts
    instead of two per account."""
    rows: list[AccountRow] = []
    slots = " UNION ALL ".join(f"SELECT {slot} AS slot" for slot in range(SLOTS))
    for start in range(0, len(accounts), _CHUNK):
        chunk = accounts[start : start + _CHUNK]
        params: dict[str, Any] = {"created_at": created_at}
        values = []
        for i, account in enumerate(chunk):
            params.update(
                {
                    f"c{i}": account.code,
                    f"u{i}": account.currency,
                    f"s{i}": account.normal_side.value,
                    f"f{i}": account.floor,
                }
            )
            values.append(f"(:c{i}, :u{i}, :s{i}, CAST(:f{i} AS BIGINT), :created_at)")
        inserted = tx.fetchall(
            "INSERT INTO ledger_accounts (code, currency, normal_side, floor, created_at) "
            f"VALUES {', '.join(values)} RETURNING id, code",
            params,
        )
        ids = {str(code): int(account_id) for account_id, code in inserted}
        condition, id_params = among("a.id", list(ids.values()), tx.is_postgres)
        tx.execute(
            "INSERT INTO ledger_balances (account_id, slot, balance, held, floor) "
            f"SELECT a.id, s.slot, 0, 0, a.floor FROM ledger_accounts a CROSS JOIN ({slots}) s WHERE {condition}",
            id_params,
        )
        rows.extend(AccountRow(ids[account.code], account) for account in chunk)
    return rows


def list_accounts(tx: RawTx) -> list[AccountRow]:
    """Every account, by code."""
    return [_account_row(r) for r in tx.fetchall(f"SELECT {_ACCOUNT_COLUMNS} FROM ledger_accounts ORDER BY code")]
