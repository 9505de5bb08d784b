"""The merchant's payment search stays on its indexes (migration 0029) with 100,000 payments of one merchant.

On PostgreSQL, 100,000 payments of one merchant (and some of another) are loaded in one statement, the statistics
gathered, and each query of a first page, a page deep in the list (after and before a cursor), a filtered page, and
the search box's reference, amount and id readings is explained, both as a one-off statement plans it and as a
prepared statement's generic plan does (psycopg prepares a query it runs often): each one walks its index, none
reads the table from end to end. On SQLite, the same queries on a few payments, by EXPLAIN QUERY PLAN.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

import pytest

from kleline.bootstrap import Kleline
from kleline.db.engine import RawTx
from kleline.payments.search import PageCursor, PaymentPage, PaymentSearch, parse_search
from kleline.payments.search_store import search_page

from .conftest import merchant

ROWS = 100_000
BASE_US = 1_767_225_600_000_000  # 2026-01-01 00:00 UTC
_STATUSES = (
    "ARRAY['succeeded','succeeded','succeeded','succeeded','canceled','failed','requires_confirmation','expired']"
)
_LOAD = (
    "INSERT INTO payments (id, merchant_id, amount, currency, status, method, capture_method, fee_bps, "
    "amount_authorized, amount_captured, amount_refunded, reference, description, created_at, updated_at) "
    "SELECT :prefix || lpad(g::text, 6, '0'), :merchant, 100 + g % 5000, 'EUR', s.status, "
    "CASE WHEN s.status <> 'succeeded' THEN NULL WHEN g % 3 = 0 THEN 'card' ELSE 'purse' END, 'automatic', 350, "
    "CASE WHEN s.status = 'succeeded' THEN 100 + g % 5000 ELSE 0 END, "
    "CASE WHEN s.status = 'succeeded' THEN 100 + g % 5000 ELSE 0 END, 0, "
    "'ORD-' || g, 'Order ' || g, :base + g::bigint * 60000000, :base + g::bigint * 60000000 "
    f"FROM generate_series(1, :rows) g, LATERAL (SELECT ({_STATUSES})[1 + g % 8] AS status) s"
)


class _Explained:
    """A transaction that explains each query before running it: the plans, in the order the queries ran."""

    def __init__(self, tx: RawTx, explain: Callable[[RawTx, str, Any], str]) -> None:
        self._tx = tx
        self._explain = explain
        self.is_postgres = tx.is_postgres
        self.plans: list[str] = []

    def fetchall(self, sql: str, params: Mapping[str, Any] | Sequence[Any] = ()) -> list[Any]:
        self.plans.append(self._explain(self._tx, sql, params))
        return self._tx.fetchall(sql, params)

    def fetchone(self, sql: str, params: Mapping[str, Any] | Sequence[Any] = ()) -> Any:
        self.plans.append(self._explain(self._tx, sql, params))
        return self._tx.fetchone(sql, params)


def _pg_plan(tx: RawTx, sql: str, params: Any) -> str:
    return "\n".join(str(row[0]) for row in tx.fetchall("EXPLAIN " + sql, params))


def _sqlite_plan(tx: RawTx, sql: str, params: Any) -> str:
    return "\n".join(str(row[-1]) for row in tx.fetchall("EXPLAIN QUERY PLAN " + sql, params))


def _page(
    kleline: Kleline, shop: str, search: PaymentSearch, cursor: PageCursor | None, mode: str | None
) -> tuple[PaymentPage, list[str]]:
    with kleline.db.transaction() as tx:
        if mode is not None:
            tx.execute(f"SET LOCAL plan_cache_mode = {mode}")
        explained = _Explained(tx, _pg_plan if tx.is_postgres else _sqlite_plan)
        page = search_page(cast(RawTx, explained), "http://x", shop, search, limit=20, cursor=cursor)
    return page, explained.plans


def _key(g: int) -> tuple[int, str]:
    return BASE_US + g * 60_000_000, f"pay_s{g:06d}"


SCENARIOS: list[tuple[str, PaymentSearch, PageCursor | None, str]] = [
    ("first page", PaymentSearch(), None, "ix_payments_merchant_created"),
    ("deep page", PaymentSearch(), PageCursor("next", *_key(10_000)), "ix_payments_merchant_created"),
    ("deep page back", PaymentSearch(), PageCursor("previous", *_key(10_000)), "ix_payments_merchant_created"),
    (
        "filtered page",
        parse_search(status=["canceled"], method=[], created_from="2026-01-20", created_to="2026-02-10"),
        PageCursor("next", *_key(50_000)),
        "ix_payments_merchant_created",
    ),
    ("reference", parse_search(q="ord-4242"), None, "ix_payments_merchant_reference"),
    ("amount", parse_search(q="12,50"), None, "ix_payments_merchant_amount"),
    ("amount filter", parse_search(amount="12.52", status=["succeeded"]), None, "ix_payments_merchant_amount"),
    ("id", parse_search(q="pay_s042424"), None, "payments_pkey"),
]


def test_every_query_of_the_search_walks_an_index_on_100000_payments(kleline: Kleline) -> None:
    if not kleline.db.is_postgres:
        pytest.skip("100,000 payments on PostgreSQL; SQLite's plans are checked below")
    shop, other = merchant(kleline), merchant(kleline, name="Fromagerie Vaubourg")
    started = time.monotonic()
    with kleline.db.transaction() as tx:
        tx.execute(_LOAD, {"prefix": "pay_s", "merchant": shop, "base": BASE_US, "rows": ROWS})
        tx.execute(_LOAD, {"prefix": "pay_o", "merchant": other, "base": BASE_US, "rows": 5_000})
        tx.execute("ANALYZE payments")
    loaded = time.monotonic() - started
    for mode in (None, "force_generic_plan"):
        for name, search, cursor, index in SCENARIOS:
            page, plans = _page(kleline, shop, search, cursor, mode)
            assert page.payments, name
            assert {p.merchant_id for p in page.payments} == {shop}
            # One statement a page, even deep in the list: whether payments lie before it is read with it.
            assert len(plans) == 1, f"{name} ({mode}): {len(plans)} statements"
            assert "Seq Scan on payments" not in plans[0], f"{name} ({mode}):\n{plans[0]}"
            assert index in plans[0], f"{name} ({mode}):\n{plans[0]}"
    assert loaded < 15, f"loading took {loaded:.1f} s"
    reference, _ = _page(kleline, shop, parse_search(q="ORD-4242"), None, None)
    assert {p.reference for p in reference.payments} == {"ORD-4242", *(f"ORD-4242{d}" for d in range(10))}
    deep, _ = _page(kleline, shop, PaymentSearch(), PageCursor("next", *_key(10_000)), None)
    assert [p.id for p in deep.payments] == [f"pay_s{g:06d}" for g in range(9_999, 9_979, -1)]


def test_sqlite_walks_the_same_indexes(kleline: Kleline) -> None:
    if kleline.db.is_postgres:
        pytest.skip("PostgreSQL's plans are checked above, on 100,000 payments")
    shop = merchant(kleline)
    with kleline.db.transaction() as tx:
        for g in range(1, 301):
            key = _key(g)
            tx.execute(
                "INSERT INTO payments (id, merchant_id, amount, currency, status, method, capture_method, fee_bps, "
                "reference, created_at, updated_at) VALUES (:id, :merchant, :amount, 'EUR', 'succeeded', 'purse', "
                "'automatic', 350, :reference, :at, :at)",
                {"id": key[1], "merchant": shop, "amount": 100 + g, "reference": f"ORD-{g}", "at": key[0]},
            )
        tx.execute("ANALYZE")
    for name, search, cursor, index in SCENARIOS:
        _, plans = _page(kleline, shop, search, cursor, None)
        if cursor is None or cursor.direction == "next":  # back above the newest payments is the first page again
            assert len(plans) == 1, f"{name}: {len(plans)} statements"
        for plan in plans:
            assert "SCAN payments" not in plan.replace("SCAN payments USING", ""), f"{name}:\n{plan}"
        expected = "PRIMARY KEY" if index == "payments_pkey" else index
        assert expected in plans[0] or "sqlite_autoindex_payments_1" in plans[0], f"{name}:\n{plans[0]}"
