"""The overview's SQL: a merchant's sales by UTC day, summed in the database from its balance account's postings,
and the rollup of closed days (``merchant_day_totals``) that spares reading a year of postings at every visit.

Each posting is classified as the statements classify it (``reports.model.classify``): on an entry whose metadata
names a ``refund`` and that moves the balance (lowers it, or raises it when a cent refunded returns a cent of each
of Kleline's fees), a refund; else, on one naming a ``payment`` that raises it, a
payment; anything else (a payout, an adjustment) is not a sale. The commission is the same entry's postings on
Kleline's commission and introductions accounts: the overview's "commission" is what Kleline's fees cost the
merchant, the introduction fee (issue 15) included, so that its gross and net agree with the statements'. A refund
paid entirely out of those fees never touches the merchant's balance (``zero net``): it is read from the refunds
table, as the statements read it.

Postings are found by the balance account's index (``account_id, id``), from a posting id: the open days' postings
all come after the **watermark**, the largest id of the days that ended more than a day before them (their rows'
``last_posting``). Posting ids grow in the order rows are inserted, and an entry is dated in its own short
transaction right before its postings are inserted, so that every posting dated on a day has a larger id than any
posting dated over a day earlier: a scan from the watermark reads a day or two of postings, however long the
account's history. (The assumption that nothing commits long after it is dated is the one that lets a statement
close ``reports.service.CLOSING_GRACE`` after its month; a day's margin also covers clocks of several servers that
disagree by far less than a day.) Every id a query starts from is computed beforehand and passed as a parameter, so
that PostgreSQL plans each scan knowing how few rows lie beyond it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from kleline.db.engine import RawTx, Read, single_int
from kleline.reports.figures import DAY_US, Totals, from_day_number, month_key
from kleline.reports.store import ZERO_NET, AccountInfo, has_text

__all__ = [
    "Books",
    "Stored",
    "close_days",
    "last_posting",
    "read",
    "settle",
    "tail",
    "watermark",
    "zero_net",
    "zero_net_count",
]

_TABLE: Final = "merchant_day_totals"


@dataclass(frozen=True, slots=True)
class Books:
    """Where a merchant's sales are booked: its balance account, Kleline's commission account and its introductions
    account (-1: none yet)."""

    merchant_id: str
    account: AccountInfo
    commission_id: int
    introductions_id: int = -1


@dataclass(frozen=True, slots=True)
class Stored:
    """The closed days kept for an overview: those of the daily series (``recent``, by day number), those before
    it by month (``months``, by ``YYYYMM``: their totals and how many days were summed), and the open days'
    watermark."""

    recent: dict[int, Totals]
    months: dict[int, tuple[Totals, int]]
    watermark: int


def _per_day(tx: RawTx, side: str, *, upto: bool) -> str:
    """Per day of ``[:start, :end)``: gross, refunds, commission charged and returned, and the largest posting id,
    from the postings on ``:account`` after ``:after`` (and up to ``:upto`` with ``upto``)."""
    move = "p.amount" if side == "D" else "-p.amount"  # the balance's change on its normal side
    refund, payment = has_text(tx, "refund"), has_text(tx, "payment")
    # Each posting is classified once: the fence (a no-op LIMIT or OFFSET) keeps either planner from merging this
    # query into the sums, which would evaluate the commission's subquery once per sum. ``+c.account_id`` keeps
    # SQLite off the commission account's index (every capture's posting is in it) and on the entry's.
    fence = "OFFSET 0" if tx.is_postgres else "LIMIT -1"
    classified = (
        f"SELECT e.posted_at / {DAY_US} AS day, p.id AS posting, {move} AS move, "
        "  -COALESCE((SELECT SUM(c.amount) FROM ledger_postings c "
        "             WHERE c.entry_id = p.entry_id AND +c.account_id IN (:commission, :introductions)), 0) AS earned, "
        f"  CASE WHEN {refund} AND {move} <> 0 THEN 'r' WHEN {payment} AND {move} > 0 THEN 'p' ELSE 'o' END AS kind "
        "FROM ledger_postings p JOIN ledger_entries e ON e.id = p.entry_id "
        f"WHERE p.account_id = :account AND p.id > :after{' AND p.id <= :upto' if upto else ''} "
        f"  AND e.posted_at >= :start AND e.posted_at < :end {fence}"
    )
    return (
        "SELECT day, SUM(CASE WHEN kind = 'p' THEN move + earned ELSE 0 END), "
        "  -SUM(CASE WHEN kind = 'r' THEN move + earned ELSE 0 END), "
        "  SUM(CASE WHEN kind = 'p' THEN earned ELSE 0 END), -SUM(CASE WHEN kind = 'r' THEN earned ELSE 0 END), "
        f"  MAX(posting) FROM ({classified}) t GROUP BY day"
    )


# Found through ix_refunds_zero_net, which holds only these refunds.
_ZERO_NET: Final = (
    f"SELECT e.posted_at / {DAY_US}, 0, SUM(r.amount), 0, SUM(r.fee_returned + r.intro_fee_returned), 0 "
    "FROM refunds r JOIN ledger_entries e ON e.id = r.id "
    f"WHERE r.merchant_id = :merchant AND {ZERO_NET} AND r.status = 'succeeded' "
    f"  AND e.posted_at >= :start AND e.posted_at < :end GROUP BY e.posted_at / {DAY_US}"
)
# The largest posting of the days before ``:bound``; 0 when none is kept yet.
_WATERMARK: Final = (
    f"SELECT COALESCE(MAX(last_posting), 0) FROM {_TABLE} WHERE merchant_id = :merchant AND day < :bound"
)


def _totals(row: Sequence[Any], first: int) -> Totals:
    """The four sums of ``row`` from its column ``first`` on."""
    return Totals(int(row[first]), int(row[first + 1]), int(row[first + 2]), int(row[first + 3]))


def _params(books: Books, first_day: int, end_day: int, after: int) -> dict[str, Any]:
    """The parameters of a scan of the days ``[first_day, end_day)`` from the posting after ``after``."""
    return {
        "merchant": books.merchant_id,
        "account": books.account.id,
        "commission": books.commission_id,
        "introductions": books.introductions_id,
        "start": first_day * DAY_US,
        "end": end_day * DAY_US,
        "after": after,
    }


def watermark(tx: RawTx, merchant_id: str, first_day: int) -> int:
    """The id the postings of ``first_day`` (a day number) and after all come after."""
    return int(tx.fetchone(_WATERMARK, {"merchant": merchant_id, "bound": first_day - 1})[0])


def read(tx: RawTx, merchant_id: str, *, window: int, recent: int, open_from: int) -> Stored:
    """In one statement: the days kept from ``window`` to ``open_from`` (the months before ``recent`` summed) and
    the watermark of the days from ``open_from`` (all days as day numbers)."""
    rows = tx.fetchall(
        "SELECT 0, day, gross, refunds, commission_charged, commission_returned, 1 "
        f"FROM {_TABLE} WHERE merchant_id = :merchant AND day >= :recent AND day < :open "
        "UNION ALL "
        "SELECT 1, month, SUM(gross), SUM(refunds), SUM(commission_charged), SUM(commission_returned), COUNT(*) "
        f"FROM {_TABLE} WHERE merchant_id = :merchant AND day >= :window AND day < :recent GROUP BY month "
        "UNION ALL "
        f"SELECT 2, 0, 0, 0, 0, 0, ({_WATERMARK})",
        {"merchant": merchant_id, "window": window, "recent": recent, "open": open_from, "bound": open_from - 1},
    )
    stored = Stored({}, {}, 0)
    for row in rows:
        kind, key = int(row[0]), int(row[1])
        if kind == 0:
            stored.recent[key] = _totals(row, 2)
        elif kind == 1:
            stored.months[key] = (_totals(row, 2), int(row[6]))
        else:
            stored = Stored(stored.recent, stored.months, int(row[6]))
    return stored


def tail(tx: RawTx, books: Books, *, open_from: int, today: int, after: int) -> Read[dict[int, Totals]]:
    """In one statement: the open days' sales of the postings after ``after``, and of their refunds paid out of the
    commission (by day number). PostgreSQL plans it anew at each execution, knowing from ``after`` how few postings
    lie beyond it, and that planning costs more than the scan: a visit reads it only when something moved
    (``last_posting``, ``zero_net_count``)."""
    return Read(
        f"{_per_day(tx, books.account.normal_side, upto=False)} UNION ALL {_ZERO_NET}",
        _params(books, open_from, today + 1, after),
        _by_day,
    )


def last_posting(books: Books) -> Read[int]:
    """The largest id of the balance account's postings (0 before the first), as one row: the open days have no
    posting beyond those read while it stays the same."""
    # Not ``MAX(id) ... WHERE account_id = :account``: planned once for every account (PostgreSQL's generic plan of
    # a prepared statement), that walks the primary key backwards until it meets one of the account's postings,
    # through the whole table for an account without any. A row comparison only the ``(account_id, id)`` index
    # can serve lands on the account's last posting (or the previous account's, which the CASE sets aside).
    return Read(
        "SELECT COALESCE(MAX(CASE WHEN account_id = :account THEN id END), 0) FROM ("
        "  SELECT account_id, id FROM ledger_postings WHERE (account_id, id) <= (:account, :largest) "
        "  ORDER BY account_id DESC, id DESC LIMIT 1) last",
        {"account": books.account.id, "largest": 2**63 - 1},
        single_int,
        width=1,
    )


def zero_net_count(merchant_id: str) -> Read[int]:
    """How many refunds the commission paid in full the merchant has had, as one row. They move no posting of its
    balance account, so ``last_posting`` does not tell when one is added; this count does (a refund is recorded
    once, with how it ended, and never changes)."""
    return Read(
        f"SELECT COUNT(*) FROM refunds r WHERE r.merchant_id = :merchant AND {ZERO_NET} AND r.status = 'succeeded'",
        {"merchant": merchant_id},
        single_int,
        width=1,
    )


def zero_net(tx: RawTx, books: Books, *, open_from: int, today: int) -> dict[int, Totals]:
    """The open days' refunds paid out of the commission (by day number)."""
    params = {"merchant": books.merchant_id, "start": open_from * DAY_US, "end": (today + 1) * DAY_US}
    return {int(row[0]): _totals(row, 1) for row in tx.fetchall(_ZERO_NET, params)}


def _by_day(rows: list[Any]) -> dict[int, Totals]:
    found: dict[int, Totals] = {}
    for row in rows:
        found[int(row[0])] = found.get(int(row[0]), Totals()) + _totals(row, 1)
    return found


def settle(
    tx: RawTx, books: Books, *, open_from: int, today: int, after: int, before: int
) -> tuple[int, dict[int, Totals]]:
    """The open days' postings that can no longer be joined by one with a smaller id: the largest id of those dated
    before ``before`` (epoch us) at least twice the statements' grace ago, every posting up to it having committed
    by now, and the open days' sales of the postings from ``after`` to it (zero-net refunds left out: ``tail``
    always reads them). A later read needs only the postings after that id."""
    row = tx.fetchone(
        "SELECT MAX(p.id) FROM ledger_postings p JOIN ledger_entries e ON e.id = p.entry_id "
        "WHERE p.account_id = :account AND p.id > :after AND e.posted_at < :before",
        {"account": books.account.id, "after": after, "before": before},
    )
    upto = after if row is None or row[0] is None else int(row[0])
    if upto == after:
        return after, {}
    params = {**_params(books, open_from, today + 1, after), "upto": upto}
    rows = tx.fetchall(_per_day(tx, books.account.normal_side, upto=True), params)
    return upto, {int(r[0]): _totals(r, 1) for r in rows}


def close_days(tx: RawTx, books: Books, days: Sequence[int], computed_at: int) -> None:
    """Sum the closed ``days`` (day numbers) from the books and keep them; a day another visit kept meanwhile
    keeps its row (the same figures: a closed day never changes)."""
    if not days:
        return
    first, last = min(days), max(days)
    params = _params(books, first, last + 1, watermark(tx, books.merchant_id, first))
    found: dict[int, tuple[Totals, int | None]] = {}
    for row in tx.fetchall(_per_day(tx, books.account.normal_side, upto=False), params):
        found[int(row[0])] = (_totals(row, 1), int(row[5]))
    for row in tx.fetchall(_ZERO_NET, params):
        totals, last_posting = found.get(int(row[0]), (Totals(), None))
        found[int(row[0])] = (totals + _totals(row, 1), last_posting)
    rows = []
    for day in sorted(set(days)):
        totals, last_posting = found.get(day, (Totals(), None))
        rows.append(
            {
                "merchant": books.merchant_id,
                "day": day,
                "month": month_key(from_day_number(day)),
                "currency": books.account.currency,
                "gross": totals.gross,
                "refunds": totals.refunds,
                "charged": totals.commission_charged,
                "returned": totals.commission_returned,
                "last_posting": last_posting,
                "at": computed_at,
            }
        )
    tx.executemany(
        f"INSERT INTO {_TABLE} (merchant_id, day, month, currency, gross, refunds, commission_charged, "
        "commission_returned, last_posting, computed_at) VALUES (:merchant, :day, :month, :currency, :gross, "
        ":refunds, :charged, :returned, :last_posting, :at) ON CONFLICT (merchant_id, day) DO NOTHING",
        rows,
    )
