"""The reports' SQL: read-only queries over the ledger's journal and the payments tables.

Reports never write. Each document is read in one transaction (REPEATABLE READ on PostgreSQL, a read transaction
on SQLite's WAL), so that its opening balance, movements and closing balance come from one state of the books.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from kleline.db.engine import RawTx

__all__ = [
    "AccountInfo",
    "GroupBalance",
    "EntryLegs",
    "MovementRow",
    "PaymentInfo",
    "ZeroNetRefund",
    "account_first_use",
    "all_accounts",
    "balances_by_group",
    "balance_before",
    "find_account",
    "has_text",
    "iter_entries",
    "movements",
    "payout_window",
    "window_movements",
    "window_totals",
    "payment_details",
    "stored_balances",
    "zero_net_refunds",
    "ZERO_NET",
]

ZERO_NET = "r.amount = r.fee_returned + r.intro_fee_returned"
"""A refund ``r`` that Kleline's fees paid in full: the predicate of the partial index ``ix_refunds_zero_net``
(migration 0043), written the same way so that both backends use it (SQLite matches it with the column alone on the
left of the ``=``, not with the sum there)."""

_IN_CHUNK = 500  # ids per IN (...) list: well under both backends' parameter limits


@dataclass(frozen=True, slots=True)
class AccountInfo:
    """An account's row: surrogate id, code, currency, normal side (``D``/``C``), when it was opened (epoch us)."""

    id: int
    code: str
    currency: str
    normal_side: str
    created_at: int


def has_text(tx: RawTx, key: str) -> str:
    """SQL true when the metadata of the entry ``e`` holds a non-empty string under ``key`` (as ``reports.model``'s
    ``classify`` reads it)."""
    if tx.is_postgres:
        data = "CAST(e.metadata AS jsonb)"
        return f"(jsonb_typeof({data} -> '{key}') = 'string' AND {data} ->> '{key}' <> '')"
    return f"(json_type(e.metadata, '$.{key}') = 'text' AND json_extract(e.metadata, '$.{key}') <> '')"


_ACCOUNT = "SELECT id, code, currency, normal_side, created_at FROM ledger_accounts"


def _account(row: Sequence[Any]) -> AccountInfo:
    return AccountInfo(int(row[0]), row[1], row[2], row[3], int(row[4]))


def find_account(tx: RawTx, code: str) -> AccountInfo | None:
    """The account with ``code``, or None (a merchant not yet approved has none)."""
    row = tx.fetchone(f"{_ACCOUNT} WHERE code = :code", {"code": code})
    return None if row is None else _account(row)


def all_accounts(tx: RawTx) -> list[AccountInfo]:
    """Every account, by code."""
    return [_account(row) for row in tx.fetchall(f"{_ACCOUNT} ORDER BY code")]


def balance_before(tx: RawTx, account_id: int, before: int) -> int:
    """The signed sum (debit positive) of the account's postings in entries posted before ``before`` (epoch us)."""
    row = tx.fetchone(
        "SELECT COALESCE(SUM(p.amount), 0) FROM ledger_postings p JOIN ledger_entries e ON e.id = p.entry_id "
        "WHERE p.account_id = :account AND e.posted_at < :before",
        {"account": account_id, "before": before},
    )
    return int(row[0])


@dataclass(frozen=True, slots=True)
class MovementRow:
    """One posting on an account in a period, with what the rest of its entry says about it.

    ``amount`` is signed (debit positive); ``commission`` the signed posting on the commission account in the same
    entry (0 if none), ``introduction`` the one on the introductions account; ``only_bank`` true when every other
    leg of the entry is on a ``bank:`` account."""

    posting_id: int
    entry_id: str
    posted_at: int
    description: str
    metadata: dict[str, Any]
    amount: int
    commission: int
    only_bank: bool
    introduction: int = 0


_MOVEMENTS = (
    "SELECT p.id, p.entry_id, e.posted_at, e.description, e.metadata, p.amount, "
    "  COALESCE((SELECT SUM(c.amount) FROM ledger_postings c "
    "            WHERE c.entry_id = p.entry_id AND c.account_id = :commission), 0), "
    "  COALESCE((SELECT SUM(i.amount) FROM ledger_postings i "
    "            WHERE i.entry_id = p.entry_id AND i.account_id = :introductions), 0), "
    "  (SELECT COUNT(*) FROM ledger_postings o JOIN ledger_accounts a ON a.id = o.account_id "
    "   WHERE o.entry_id = p.entry_id AND o.account_id <> p.account_id AND a.code NOT LIKE 'bank:%') "
    "FROM ledger_postings p JOIN ledger_entries e ON e.id = p.entry_id "
)


def _movement_rows(rows: Sequence[Sequence[Any]]) -> list[MovementRow]:
    return [
        MovementRow(int(r[0]), r[1], int(r[2]), r[3], json.loads(r[4]), int(r[5]), int(r[6]), int(r[8]) == 0, int(r[7]))
        for r in rows
    ]


def movements(
    tx: RawTx,
    account_id: int,
    commission_id: int | None,
    start: int,
    end: int,
    introductions_id: int | None = None,
) -> list[MovementRow]:
    """The account's postings in entries posted in ``[start, end)``, in the order they were posted."""
    commission = -1 if commission_id is None else commission_id  # no commission account yet: match nothing
    introductions = -1 if introductions_id is None else introductions_id
    rows = tx.fetchall(
        f"{_MOVEMENTS}WHERE p.account_id = :account AND e.posted_at >= :start AND e.posted_at < :end "
        "ORDER BY e.posted_at, p.id",
        {"account": account_id, "commission": commission, "introductions": introductions, "start": start, "end": end},
    )
    return _movement_rows(rows)


Place = tuple[int, int]
"""Where a posting stands in an account's history: when its entry was posted (epoch us), then its number."""


def payout_window(
    tx: RawTx, account_id: int, merchant_id: str, payout_id: str, sent_entry: Callable[[str], str]
) -> tuple[Place | None, Place] | None:
    """Where the merchant's previous payout left its balance (None: it never had one) and where ``payout_id`` took
    it; None when that payout did not move this account. ``sent_entry`` names the entry that sends a payout."""
    suffix = sent_entry("")  # the same for every payout: its id, then this
    assert sent_entry(payout_id) == payout_id + suffix
    row = tx.fetchone(
        "SELECT e.posted_at, p.id FROM ledger_entries e JOIN ledger_postings p ON p.entry_id = e.id "
        "WHERE e.id = :entry AND p.account_id = :account",
        {"entry": sent_entry(payout_id), "account": account_id},
    )
    if row is None:
        return None
    until = (int(row[0]), int(row[1]))
    previous = tx.fetchone(
        "SELECT e.posted_at, p.id FROM payouts o "
        "JOIN ledger_entries e ON e.id = o.id || :suffix "
        "JOIN ledger_postings p ON p.entry_id = e.id AND p.account_id = :account "
        "WHERE o.merchant_id = :merchant AND (e.posted_at < :at OR (e.posted_at = :at AND p.id < :posting)) "
        "ORDER BY e.posted_at DESC, p.id DESC LIMIT 1",
        {"account": account_id, "merchant": merchant_id, "at": until[0], "posting": until[1], "suffix": suffix},
    )
    return (None if previous is None else (int(previous[0]), int(previous[1]))), until


def _window(after: Place | None, until: Place) -> tuple[str, dict[str, int]]:
    where = "p.account_id = :account AND (e.posted_at < :until_at OR (e.posted_at = :until_at AND p.id < :until_id))"
    params = {"until_at": until[0], "until_id": until[1]}
    if after is not None:
        where += " AND (e.posted_at > :after_at OR (e.posted_at = :after_at AND p.id > :after_id))"
        params.update(after_at=after[0], after_id=after[1])
    return where, params


def window_movements(
    tx: RawTx,
    account_id: int,
    commission_id: int | None,
    after: Place | None,
    until: Place,
    limit: int,
    introductions_id: int | None = None,
) -> list[MovementRow]:
    """The account's postings strictly between ``after`` and ``until``, in the order they were posted, ``limit``
    at most."""
    where, params = _window(after, until)
    rows = tx.fetchall(
        f"{_MOVEMENTS}WHERE {where} ORDER BY e.posted_at, p.id LIMIT :limit",
        {
            "account": account_id,
            "commission": -1 if commission_id is None else commission_id,
            "introductions": -1 if introductions_id is None else introductions_id,
            "limit": limit,
            **params,
        },
    )
    return _movement_rows(rows)


def window_totals(tx: RawTx, account_id: int, after: Place | None, until: Place) -> tuple[int, int]:
    """How many postings the account has strictly between ``after`` and ``until``, and their signed sum."""
    where, params = _window(after, until)
    row = tx.fetchone(
        "SELECT COUNT(*), COALESCE(SUM(p.amount), 0) FROM ledger_postings p JOIN ledger_entries e ON e.id = p.entry_id "
        f"WHERE {where}",
        {"account": account_id, **params},
    )
    return int(row[0]), int(row[1])


@dataclass(frozen=True, slots=True)
class ZeroNetRefund:
    """A refund paid entirely out of Kleline's commission and introduction fee (a cent refunded where rounding
    returns a cent of fee): its entry never touches the merchant's balance, yet it belongs on the merchant's
    statement."""

    id: str
    payment_id: str
    amount: int
    fee_returned: int
    posted_at: int
    description: str
    posting_id: int
    """The number of the entry's first posting: orders it among the month's movements."""
    intro_fee_returned: int = 0


def zero_net_refunds(tx: RawTx, merchant_id: str, start: int, end: int) -> list[ZeroNetRefund]:
    """The merchant's refunds in ``[start, end)`` that moved none of its balance."""
    rows = tx.fetchall(
        "SELECT r.id, r.payment_id, r.amount, r.fee_returned, e.posted_at, e.description, "
        "  (SELECT MIN(p.id) FROM ledger_postings p WHERE p.entry_id = e.id), r.intro_fee_returned "
        "FROM refunds r JOIN ledger_entries e ON e.id = r.id "
        f"WHERE r.merchant_id = :merchant AND r.status = 'succeeded' AND {ZERO_NET} "
        "AND e.posted_at >= :start AND e.posted_at < :end ORDER BY e.posted_at, r.id",
        {"merchant": merchant_id, "start": start, "end": end},
    )
    return [ZeroNetRefund(r[0], r[1], int(r[2]), int(r[3]), int(r[4]), r[5], int(r[6]), int(r[7])) for r in rows]


@dataclass(frozen=True, slots=True)
class PaymentInfo:
    """What the payments table adds to a movement: the merchant's reference, its description, the rate."""

    reference: str | None
    description: str | None
    fee_bps: int
    intro_fee_bps: int = 0


def payment_details(tx: RawTx, payment_ids: Sequence[str]) -> dict[str, PaymentInfo]:
    """The payments among ``payment_ids``, by id."""
    ids = sorted(set(payment_ids))
    found: dict[str, PaymentInfo] = {}
    for i in range(0, len(ids), _IN_CHUNK):
        names = {f"p{n}": payment_id for n, payment_id in enumerate(ids[i : i + _IN_CHUNK])}
        placeholders = ", ".join(f":{name}" for name in names)
        rows = tx.fetchall(
            f"SELECT id, reference, description, fee_bps, intro_fee_bps FROM payments WHERE id IN ({placeholders})",
            names,
        )
        found.update({r[0]: PaymentInfo(r[1], r[2], int(r[3]), int(r[4])) for r in rows})
    return found


def account_first_use(tx: RawTx) -> dict[int, int]:
    """When each account was first posted to (epoch us)."""
    rows = tx.fetchall(
        "SELECT p.account_id, MIN(e.posted_at) FROM ledger_postings p JOIN ledger_entries e ON e.id = p.entry_id "
        "GROUP BY p.account_id"
    )
    return {int(r[0]): int(r[1]) for r in rows}


def stored_balances(tx: RawTx) -> dict[int, int]:
    """Each account's stored balance on its normal side, summed over its slots (the ledger's own figure)."""
    rows = tx.fetchall("SELECT account_id, SUM(balance) FROM ledger_balances GROUP BY account_id")
    return {int(r[0]): int(r[1]) for r in rows}


@dataclass(frozen=True, slots=True)
class EntryLegs:
    """A journal entry with its postings as (account id, signed amount, currency), in line order."""

    id: str
    posted_at: int
    description: str
    metadata: dict[str, Any]
    legs: tuple[tuple[int, int, str], ...]


def iter_entries(tx: RawTx, page: int = 2000) -> Iterator[EntryLegs]:
    """Every entry in the order it was posted (then by id), read a page at a time."""
    after: tuple[int, str] | None = None
    while True:
        where = "" if after is None else "WHERE (posted_at > :at OR (posted_at = :at AND id > :id)) "
        params: dict[str, Any] = {"page": page}
        if after is not None:
            params.update(at=after[0], id=after[1])
        rows = tx.fetchall(
            "SELECT e.id, e.posted_at, e.description, e.metadata, p.account_id, p.amount, p.currency "
            "FROM ledger_entries e JOIN ledger_postings p ON p.entry_id = e.id "
            f"WHERE e.id IN (SELECT id FROM ledger_entries {where}ORDER BY posted_at, id LIMIT :page) "
            "ORDER BY e.posted_at, e.id, p.line",
            params,
        )
        if not rows:
            return
        current: list[Any] | None = None
        legs: list[tuple[int, int, str]] = []
        for row in rows:
            if current is None or row[0] != current[0]:
                if current is not None:
                    yield EntryLegs(current[0], int(current[1]), current[2], json.loads(current[3]), tuple(legs))
                current, legs = list(row[:4]), []
            legs.append((int(row[4]), int(row[5]), row[6]))
        assert current is not None
        yield EntryLegs(current[0], int(current[1]), current[2], json.loads(current[3]), tuple(legs))
        after = (int(current[1]), current[0])


@dataclass(frozen=True, slots=True)
class GroupBalance:
    """The accounts of one currency and normal side whose code matches one of the groups' patterns (``group`` is
    the group's name), or one account on its own (``group`` is its code): how many, and their balance summed on
    their normal side."""

    currency: str
    group: str
    normal_side: str
    accounts: int
    balance: int


def balances_by_group(tx: RawTx, groups: dict[str, str]) -> list[GroupBalance]:
    """Every account's stored balance, those whose code matches a pattern of ``groups`` (name: ``LIKE`` pattern)
    summed by group, the others one by one; in one statement."""
    names = {f"g{n}": name for n, name in enumerate(groups)}
    cases = " ".join(f"WHEN a.code LIKE :p{n} THEN :g{n}" for n in range(len(groups)))
    params: dict[str, Any] = {**names, **{f"p{n}": pattern for n, pattern in enumerate(groups.values())}}
    rows = tx.fetchall(
        "SELECT currency, grp, normal_side, COUNT(*), COALESCE(SUM(balance), 0) FROM ("
        f"  SELECT a.currency, CASE {cases} ELSE a.code END AS grp, a.normal_side, "
        "    (SELECT SUM(b.balance) FROM ledger_balances b WHERE b.account_id = a.id) AS balance "
        "  FROM ledger_accounts a) t "
        "GROUP BY currency, grp, normal_side ORDER BY currency, grp",
        params,
    )
    return [GroupBalance(r[0], r[1], r[2], int(r[3]), int(r[4])) for r in rows]
