"""The SQL of a merchant's payment search (``payments.search``), every query restricted to the merchant.

Each query is shaped for an index of migration 0029, so that a merchant with 100,000 payments gets a page without
reading them all:

- a page, with or without filters: ``ix_payments_merchant_created`` (merchant_id, created_at DESC, id DESC), walked
  in the page's order from the cursor's (created_at, id), the filters checked on the way, stopping at the page's end;
- a search text: its readings ORed, each one indexed (PostgreSQL combines them in a bitmap), then the few payments
  found sorted: the id by the primary key, the reference's beginning by ``ix_payments_merchant_reference``
  (merchant_id, lower(reference)), an amount by ``ix_payments_merchant_amount`` (merchant_id, amount).

References are compared lower-cased in A-Z only and byte by byte: SQLite's ``lower`` and binary collation do so, and
PostgreSQL does the same under the C collation (``lower(reference COLLATE "C")``), whatever the database's own; so
both backends find the same payments, and a prefix ``p`` is the index range [p, the successor of p).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Final, TypeVar

from kleline.clock import epoch_us, from_epoch_us
from kleline.db.engine import RawTx
from kleline.db.prefixes import prefix_successor
from kleline.money import Money
from kleline.payments.model import Payment
from kleline.payments.search import ListingPage, PageCursor, PaymentListing, PaymentPage, PaymentSearch, text_terms
from kleline.payments.store import PAYMENT_COLUMNS, payment_from_row
from kleline.privacy.sharing import customers_sharing_email

__all__ = ["listing_page", "listing_payments", "payments_beyond", "prefix_successor", "search_page", "search_payments"]

_LISTING_COLUMNS: Final = (
    "id, amount, currency, status, method, amount_captured, amount_refunded, description, reference, created_at"
)

Item = TypeVar("Item", Payment, PaymentListing)
# Up to ``limit`` items beyond a key (or from the newest), older ones or, when ``newer``, newer ones.
Fetch = Callable[[int, "tuple[int, str] | None", bool], list[Item]]


def _one_of(column: str, values: Sequence[str], name: str, params: dict[str, object]) -> str:
    names = [f"{name}{i}" for i in range(len(values))]
    params.update(zip(names, values, strict=True))
    return f"{column} IN ({', '.join(':' + n for n in names)})"


def _text_condition(tx: RawTx, merchant_id: str, text: str, email_index: str | None, params: dict[str, object]) -> str:
    terms = text_terms(text)
    reference = 'lower(reference COLLATE "C")' if tx.is_postgres else "lower(reference)"
    readings = ["id = :q_id", f"({reference} >= :q_from AND {reference} < :q_to)"]
    params["q_id"], params["q_from"] = terms.payment_id, terms.reference_prefix
    upper = prefix_successor(terms.reference_prefix)
    if upper is None:
        readings[1] = f"{reference} >= :q_from"
    else:
        params["q_to"] = upper
    for i, amount in enumerate(terms.amounts):
        readings.append(f"(amount = :q_amount{i} AND currency = :q_currency{i})")
        params[f"q_amount{i}"], params[f"q_currency{i}"] = amount.minor, amount.currency
    if terms.email is not None and email_index is not None:
        customers = customers_sharing_email(tx, merchant_id, email_index)
        if customers:
            readings.append(_one_of("customer_id", customers, "q_customer", params))
    return f"({' OR '.join(readings)})"


def _conditions(
    tx: RawTx, merchant_id: str, search: PaymentSearch, key: tuple[int, str] | None, newer: bool
) -> tuple[str, dict[str, object]]:
    where = ["merchant_id = :merchant"]
    params: dict[str, object] = {"merchant": merchant_id}
    if search.statuses:
        where.append(_one_of("status", sorted(search.statuses), "status", params))
    if search.methods:
        where.append(_one_of("method", sorted(search.methods), "method", params))
    if search.since is not None:
        where.append("created_at >= :since")
        params["since"] = epoch_us(search.since)
    if search.until is not None:
        where.append("created_at < :until")
        params["until"] = epoch_us(search.until)
    if search.amounts:
        amounts = []
        for i, amount in enumerate(search.amounts):
            amounts.append(f"(amount = :amount{i} AND currency = :currency{i})")
            params[f"amount{i}"], params[f"currency{i}"] = amount.minor, amount.currency
        where.append(f"({' OR '.join(amounts)})")
    if search.text is not None:
        where.append(_text_condition(tx, merchant_id, search.text, search.email_index, params))
    if key is not None:
        where.append(f"(created_at, id) {'>' if newer else '<'} (:key_at, :key_id)")
        params["key_at"], params["key_id"] = key
    return " AND ".join(where), params


def _matching(
    tx: RawTx,
    columns: str,
    merchant_id: str,
    search: PaymentSearch,
    limit: int,
    key: tuple[int, str] | None,
    newer: bool,
) -> list[Sequence[Any]]:
    where, params = _conditions(tx, merchant_id, search, key, newer)
    order = "ASC" if newer else "DESC"
    params["limit"] = limit
    return tx.fetchall(
        f"SELECT {columns} FROM payments WHERE {where} ORDER BY created_at {order}, id {order} LIMIT :limit", params
    )


def search_payments(
    tx: RawTx,
    checkout_base: str,
    merchant_id: str,
    search: PaymentSearch,
    *,
    limit: int,
    key: tuple[int, str] | None = None,
    newer: bool = False,
) -> list[Payment]:
    """Up to ``limit`` of the merchant's payments that ``search`` matches, beyond ``key`` (created_at, id): older
    than it, newest first; or, when ``newer``, newer than it, oldest first (the nearest to ``key`` first)."""
    rows = _matching(tx, PAYMENT_COLUMNS, merchant_id, search, limit, key, newer)
    return [payment_from_row(row, checkout_base) for row in rows]


def _listing(row: Sequence[Any]) -> PaymentListing:
    return PaymentListing(
        row[0],
        Money(int(row[1]), row[2]),
        row[3],
        row[4],
        int(row[5]),
        int(row[6]),
        row[7],
        row[8],
        from_epoch_us(int(row[9])),
    )


def listing_payments(
    tx: RawTx,
    merchant_id: str,
    search: PaymentSearch,
    *,
    limit: int,
    key: tuple[int, str] | None = None,
    newer: bool = False,
) -> list[PaymentListing]:
    """As ``search_payments``, each payment read as a ``PaymentListing`` (its listed columns only)."""
    rows = _matching(tx, _LISTING_COLUMNS, merchant_id, search, limit, key, newer)
    return [_listing(row) for row in rows]


def payments_beyond(tx: RawTx, merchant_id: str, search: PaymentSearch, key: tuple[int, str], *, newer: bool) -> bool:
    """Whether any payment ``search`` matches lies beyond ``key``: newer than it when ``newer``, else older."""
    where, params = _conditions(tx, merchant_id, search, key, newer)
    # Ordered as a page would be, the nearest to ``key`` first, so that the look-up walks the index from ``key``
    # (unordered, a planner expecting many matches may read the table from its start and find few).
    order = "ASC" if newer else "DESC"
    sql = f"SELECT 1 FROM payments WHERE {where} ORDER BY created_at {order}, id {order} LIMIT 1"
    return tx.fetchone(sql, params) is not None


def search_page(
    tx: RawTx, checkout_base: str, merchant_id: str, search: PaymentSearch, *, limit: int, cursor: PageCursor | None
) -> PaymentPage:
    """A page of ``limit`` of the merchant's payments that ``search`` matches, newest first: the first page, the
    page after a ``next`` cursor, or the page before a ``previous`` one. Going back up to the newest payments gives
    the first page whole (even when fewer than ``limit`` payments were left above the cursor); an empty page after
    a cursor has no ``previous`` cursor (start again from the first page)."""

    def fetch(count: int, key: tuple[int, str] | None, newer: bool) -> list[Payment]:
        return search_payments(tx, checkout_base, merchant_id, search, limit=count, key=key, newer=newer)

    return PaymentPage(*_page(tx, merchant_id, search, fetch, limit, cursor))


def listing_page(
    tx: RawTx, merchant_id: str, search: PaymentSearch, *, limit: int, cursor: PageCursor | None
) -> ListingPage:
    """The page ``search_page`` gives, each payment read as a ``PaymentListing``."""

    def fetch(count: int, key: tuple[int, str] | None, newer: bool) -> list[PaymentListing]:
        return listing_payments(tx, merchant_id, search, limit=count, key=key, newer=newer)

    return ListingPage(*_page(tx, merchant_id, search, fetch, limit, cursor))


def _page(
    tx: RawTx, merchant_id: str, search: PaymentSearch, fetch: Fetch[Item], limit: int, cursor: PageCursor | None
) -> tuple[list[Item], PageCursor | None, PageCursor | None, bool]:
    """A page's items, its next and previous cursors, and whether more lie beyond it (see ``search_page``)."""
    if cursor is None or cursor.direction == "next":
        return _older(tx, merchant_id, search, fetch, limit, None if cursor is None else cursor.key)
    newer = fetch(limit + 1, cursor.key, True)
    if len(newer) <= limit:
        first, following, previous, _ = _older(tx, merchant_id, search, fetch, limit, None)
        return first, following, previous, False
    page = newer[:limit][::-1]
    last = PageCursor.after(page[-1])
    beyond = payments_beyond(tx, merchant_id, search, last.key, newer=False)
    return page, last if beyond else None, PageCursor.before(page[0]), True


def _older(
    tx: RawTx,
    merchant_id: str,
    search: PaymentSearch,
    fetch: Fetch[Item],
    limit: int,
    key: tuple[int, str] | None,
) -> tuple[list[Item], PageCursor | None, PageCursor | None, bool]:
    found = fetch(limit + 1, key, False)
    page, more = found[:limit], len(found) > limit
    previous = None
    if key is not None and page:  # a first page has nothing before it; another may, if payments lie above it
        first = PageCursor.before(page[0])
        previous = first if payments_beyond(tx, merchant_id, search, first.key, newer=True) else None
    return page, PageCursor.after(page[-1]) if more else None, previous, more
