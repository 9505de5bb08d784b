"""The growth report's SQL: Kleline's sales, new customers and new merchants by UTC hour, and the rollup of closed
days of Paris (``growth_days``, ``growth_day_sales``) that spares reading a year of the journal at every visit.

Sales are read from the journal's postings, classified by their entry as the statements classify them: a capture
is the entry ``payments.postings.capture_entry_id`` names (its one debit is what it took), a refund the entry whose
metadata names a ``refund`` (its debits are what it gave back, its one credit the customer's); the commission is
their posting on Kleline's commission account. Any other entry (a top-up, a payout, a settlement) is not a sale.

Postings are found by their primary key from a posting id, the **watermark**, as ``reports.day_totals`` finds a
merchant's: the largest posting id of the days that ended more than a day before the first day to read. An entry is
dated in its own short transaction right before its postings are inserted, so every posting dated on a day has a
larger id than any dated over a day earlier, and a scan from the watermark reads a day or two of the journal however
long its history. Customers and merchants are found by the indexes on ``customers.created_at`` and
``merchants.approved_at`` (migration 0038). Every bound is computed beforehand and passed as a parameter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from kleline.db.engine import RawTx
from kleline.payments.postings import capture_entry_id
from kleline.reports.growth_figures import HOUR_US, Sales
from kleline.reports.store import has_text

__all__ = [
    "Counts",
    "HourSales",
    "Live",
    "closed_months",
    "counts_by_hour",
    "first_moment",
    "keep",
    "kept_days",
    "live",
    "sales_by_hour",
    "settled_upto",
    "watermark",
]

_CAPTURE: Final = "%" + capture_entry_id("")  # every capture's entry id ends so: its payment's id, then this
assert capture_entry_id("pay_x") == "pay_x" + capture_entry_id("")


@dataclass(frozen=True, slots=True)
class HourSales:
    """One UTC hour's sales in one currency, and the largest id of its postings (of any kind)."""

    hour: int
    currency: str
    sales: Sales
    last_posting: int


@dataclass(frozen=True, slots=True)
class Counts:
    """New customers and newly approved merchants by UTC hour."""

    customers: dict[int, int]
    merchants: dict[int, int]


@dataclass(frozen=True, slots=True)
class Live:
    """What a visit reads: the latest postings' sales, the open days' new customers and merchants, and when each
    merchant suspended now (and approved once) was suspended (epoch us)."""

    sales: list[HourSales]
    counts: Counts
    suspended: list[int]


def _sales(tx: RawTx, where: str) -> str:
    """Per UTC hour and currency, the sales of the postings ``p`` (of entries ``e``) that ``where`` keeps: 8
    columns, the hour first and the largest posting id last."""
    refund = has_text(tx, "refund")
    # Each posting is classified once: the fence (a no-op OFFSET or LIMIT) keeps either planner from merging this
    # query into the sums, which would evaluate the classification once per sum.
    fence = "OFFSET 0" if tx.is_postgres else "LIMIT -1"
    classified = (
        f"SELECT e.posted_at / {HOUR_US} AS hour, p.id AS posting, p.currency AS currency, p.amount AS amount, "
        "  CASE WHEN p.account_id = :commission THEN 1 ELSE 0 END AS fee, "
        f"  CASE WHEN e.id LIKE :capture THEN 'c' WHEN {refund} THEN 'r' ELSE 'o' END AS kind "
        f"FROM ledger_postings p JOIN ledger_entries e ON e.id = p.entry_id WHERE {where} {fence}"
    )
    return (
        "SELECT hour, currency, "
        "  SUM(CASE WHEN kind = 'c' AND amount > 0 THEN 1 ELSE 0 END), "
        "  SUM(CASE WHEN kind = 'c' AND amount > 0 THEN amount ELSE 0 END), "
        "  SUM(CASE WHEN kind = 'r' AND amount < 0 THEN 1 ELSE 0 END), "
        "  SUM(CASE WHEN kind = 'r' AND amount > 0 THEN amount ELSE 0 END), "
        "  SUM(CASE WHEN kind = 'c' AND fee = 1 THEN -amount ELSE 0 END), "
        "  SUM(CASE WHEN kind = 'r' AND fee = 1 THEN amount ELSE 0 END), "
        f"  MAX(posting) FROM ({classified}) t GROUP BY hour, currency"
    )


def _hour_sales(row: Sequence[Any]) -> HourSales:
    figures = (int(row[2]), int(row[3]), int(row[4]), int(row[5]), int(row[6]), int(row[7]))
    return HourSales(int(row[0]), row[1], Sales(*figures), int(row[8]))


def sales_by_hour(
    tx: RawTx, *, commission: int, after: int, start: int, end: int, upto: int | None = None
) -> list[HourSales]:
    """The sales of the postings after ``after`` (and up to ``upto``) dated in ``[start, end)`` (epoch us), by UTC
    hour and currency; ``commission`` is the commission account's id (-1: none yet)."""
    params = {"commission": commission, "capture": _CAPTURE, "after": after, "start": start, "end": end}
    where = "p.id > :after AND e.posted_at >= :start AND e.posted_at < :end"
    if upto is not None:
        where, params["upto"] = f"{where} AND p.id <= :upto", upto
    return [_hour_sales(row) for row in tx.fetchall(_sales(tx, where), params)]


_COUNTS: Final = (
    f"SELECT 'c', created_at / {HOUR_US}, COUNT(*) FROM customers "
    f"WHERE created_at >= :start AND created_at < :end GROUP BY created_at / {HOUR_US} "
    "UNION ALL "
    f"SELECT 'm', approved_at / {HOUR_US}, COUNT(*) FROM merchants "
    f"WHERE approved_at >= :start AND approved_at < :end GROUP BY approved_at / {HOUR_US}"
)


def _counts(rows: Sequence[Sequence[Any]]) -> Counts:
    counts = Counts({}, {})
    for kind, hour, count in rows:
        (counts.customers if kind == "c" else counts.merchants)[int(hour)] = int(count)
    return counts


def counts_by_hour(tx: RawTx, start: int, end: int) -> Counts:
    """Customers who opened a wallet and merchants first approved in ``[start, end)`` (epoch us), by UTC hour."""
    return _counts(tx.fetchall(_COUNTS, {"start": start, "end": end}))


def first_moment(tx: RawTx) -> int | None:
    """When Kleline's history begins (epoch us): the earliest of its first posting, first customer and first
    approved merchant; None for an empty database."""
    row = tx.fetchone(
        "SELECT (SELECT e.posted_at FROM ledger_postings p JOIN ledger_entries e ON e.id = p.entry_id "
        "        ORDER BY p.id LIMIT 1), "
        "  (SELECT MIN(created_at) FROM customers), (SELECT MIN(approved_at) FROM merchants)"
    )
    found = [int(value) for value in row if value is not None]
    return min(found) if found else None


def kept_days(tx: RawTx, first: int, end: int) -> set[int]:
    """The days of ``[first, end)`` (day numbers) already kept."""
    rows = tx.fetchall("SELECT day FROM growth_days WHERE day >= :first AND day < :end", {"first": first, "end": end})
    return {int(row[0]) for row in rows}


def watermark(tx: RawTx, first_day: int) -> int:
    """The posting id the postings of ``first_day`` (a day number) and after all come after (0: from the start)."""
    row = tx.fetchone(
        "SELECT COALESCE(MAX(last_posting), 0) FROM growth_days WHERE day < :bound", {"bound": first_day - 1}
    )
    return int(row[0])


def keep(tx: RawTx, days: Sequence[dict[str, Any]], sales: Sequence[dict[str, Any]]) -> None:
    """Keep closed days (``day, month, customers, merchants, last_posting, at``) and their sales (``day, currency,
    month`` and the six figures); a day another visit kept meanwhile keeps its rows (the same figures: a closed day
    never changes)."""
    if not days:
        return
    tx.executemany(
        "INSERT INTO growth_days (day, month, customers, merchants, last_posting, computed_at) "
        "VALUES (:day, :month, :customers, :merchants, :last_posting, :at) ON CONFLICT (day) DO NOTHING",
        days,
    )
    if sales:
        tx.executemany(
            "INSERT INTO growth_day_sales (day, currency, month, payments, gross, refund_count, refunds, "
            "commission_charged, commission_returned) VALUES (:day, :currency, :month, :payments, :gross, "
            ":refund_count, :refunds, :charged, :returned) ON CONFLICT (day, currency) DO NOTHING",
            sales,
        )


def closed_months(tx: RawTx, end: int) -> tuple[dict[int, tuple[int, int]], dict[tuple[int, str], Sales]]:
    """Every month's kept days before ``end`` (a day number), summed in one statement: new customers and merchants
    by month (``YYYYMM``), and sales by month and currency."""
    rows = tx.fetchall(
        "SELECT 'd', month, '', SUM(customers), SUM(merchants), 0, 0, 0, 0 FROM growth_days "
        "WHERE day < :end GROUP BY month "
        "UNION ALL "
        "SELECT 's', month, currency, SUM(payments), SUM(gross), SUM(refund_count), SUM(refunds), "
        "  SUM(commission_charged), SUM(commission_returned) FROM growth_day_sales "
        "WHERE day < :end GROUP BY month, currency",
        {"end": end},
    )
    counts: dict[int, tuple[int, int]] = {}
    sales: dict[tuple[int, str], Sales] = {}
    for row in rows:
        if row[0] == "d":
            counts[int(row[1])] = (int(row[3]), int(row[4]))
        else:
            sales[(int(row[1]), row[2])] = Sales(*(int(value) for value in row[3:9]))
    return counts, sales


def settled_upto(tx: RawTx, after: int, before: int) -> int:
    """The largest id of the postings after ``after`` dated before ``before`` (epoch us); ``after`` if none."""
    row = tx.fetchone(
        "SELECT MAX(p.id) FROM ledger_postings p JOIN ledger_entries e ON e.id = p.entry_id "
        "WHERE p.id > :after AND e.posted_at < :before",
        {"after": after, "before": before},
    )
    return after if row is None or row[0] is None else int(row[0])


def live(tx: RawTx, *, commission: int, after: int, start: int) -> Live:
    """In one statement: the sales of the postings after ``after`` dated from ``start`` (epoch us), the customers
    and merchants new since ``start``, by UTC hour, and the suspensions of the merchants suspended now.

    The two bounds are written into the statement, not passed as parameters: they move only when the process
    reads what it keeps again (every few minutes), so the statement's text stays the same meanwhile and PostgreSQL
    plans it once per connection (a prepared statement without a bound to guess). With them as parameters it would
    plan the union anew at every report, for ten times what running it costs; a plan made for any bound would read
    the whole journal."""
    after, start = int(after), int(start)  # integers the caller computed: nothing else goes into the text
    zeros = ", ".join(["0"] * 6)  # the columns of the sales' figures and largest posting
    rows = tx.fetchall(
        f"SELECT 's', t.* FROM ({_sales(tx, f'p.id > {after} AND e.posted_at >= {start}')}) t "
        "UNION ALL "
        f"SELECT 'c', created_at / {HOUR_US}, '', COUNT(*), {zeros} FROM customers WHERE created_at >= {start} "
        f"GROUP BY created_at / {HOUR_US} "
        "UNION ALL "
        f"SELECT 'm', approved_at / {HOUR_US}, '', COUNT(*), {zeros} FROM merchants WHERE approved_at >= {start} "
        f"GROUP BY approved_at / {HOUR_US} "
        "UNION ALL "
        f"SELECT 'x', status_changed_at, '', 0, {zeros} FROM merchants "
        "WHERE status = 'suspended' AND approved_at IS NOT NULL",
        {"commission": commission, "capture": _CAPTURE},
    )
    found = Live([], Counts({}, {}), [])
    for row in rows:
        kind = row[0]
        if kind == "s":
            found.sales.append(_hour_sales(row[1:]))
        elif kind == "c":
            found.counts.customers[int(row[1])] = int(row[3])
        elif kind == "m":
            found.counts.merchants[int(row[1])] = int(row[3])
        else:
            found.suspended.append(int(row[1]))
    return found
