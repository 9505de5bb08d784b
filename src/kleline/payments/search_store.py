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
from kleline.db.arrays import one_of
from kleline.db.engine import RawTx
from kleline.db.prefixes import prefix_successor
from kleline.money import Money
from kleline.payments.model import Payment
from kleline.payments.search import ListingPage, PageCursor, PaymentListing, PaymentPage, PaymentSearch, text_terms
from kleline.payments.store import PAYMENT_COLUMNS, payment_from_row
from kleline.privacy.sharing import customers_sharing_email

__all__ = ["listing_page", "prefix_successor", "search_page", "search_payments"]

_LISTING_COLUMNS: Final = (
    "id, amount, currency, status, method, amount_captured, amount_refunded, description, reference, created_at"
)

Item = TypeVar("Item", Payment, PaymentListing)
# Up to ``limit`` items beyond a key (or from the newest), older ones or, when ``newer``, newer ones; and, when a key is
# given, whether any payment the search matches lies on the key's other side, the key included (``_behind``).
Fetch = Callable[[int, "tuple[int, str] | None", bool], "tuple[list[Item], bool]"]


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
            readings.append(one_of(tx, "customer_id", customers, "q_customer", params))
    return f"({' OR '.join(readings)})"


def _conditions(tx: RawTx, merchant_id: str, search: PaymentSearch) -> tuple[list[str], dict[str, object]]:
    """What ``search`` asks of a payment, as conditions to AND and their parameters (no cursor yet)."""
    where = ["merchant_id = :merchant"]
    params: dict[str, object] = {"merchant": merchant_id}
    if search.statuses:
        where.append(one_of(tx, "status", sorted(search.statuses), "status", params))
    if search.methods:
        where.append(one_of(tx, "method", sorted(search.methods), "method", params))
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
    return where, params


def _walk(where: list[str], comparison: str | None, ascending: bool) -> str:
    """``FROM payments`` where ``where`` holds (and the key compares as ``comparison`` says), in the page order of
    (created_at, id), ascending or not: the index is walked from the key, the nearest payments first."""
    conditions = where if comparison is None else [*where, f"(created_at, id) {comparison} (:key_at, :key_id)"]
    order = "ASC" if ascending else "DESC"
    return f"FROM payments WHERE {' AND '.join(conditions)} ORDER BY created_at {order}, id {order}"


def _matching(
    tx: RawTx,
    columns: str,
    merchant_id: str,
    search: PaymentSearch,
    limit: int,
    key: tuple[int, str] | None,
    newer: bool,
    *,
    behind: bool = False,
) -> tuple[list[Sequence[Any]], bool]:
    """Up to ``limit`` rows of ``columns`` beyond ``key`` (see ``search_payments``); and, when ``behind`` is asked
    with a key, whether any payment ``search`` matches lies on the key's other side, the key included.

    That second answer is a scalar subquery of the same statement (evaluated once, walking the index from the key
    the other way), not a statement of its own: a page deep in the list is one round trip and one plan, not two.
    It is only read with the rows, so it is False when no row is found (a page with no payment links nowhere)."""
    where, params = _conditions(tx, merchant_id, search)
    params["limit"] = limit
    if key is None:
        return tx.fetchall(f"SELECT {columns} {_walk(where, None, newer)} LIMIT :limit", params), False
    params["key_at"], params["key_id"] = key
    beyond = _walk(where, ">" if newer else "<", newer)
    if not behind:
        return tx.fetchall(f"SELECT {columns} {beyond} LIMIT :limit", params), False
    other_side = f"(SELECT 1 {_walk(where, '<=' if newer else '>=', not newer)} LIMIT 1)"
    rows = tx.fetchall(f"SELECT {columns}, {other_side} {beyond} LIMIT :limit", params)
    return rows, bool(rows) and rows[0][-1] is not None


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
    rows, _ = _matching(tx, PAYMENT_COLUMNS, merchant_id, search, limit, key, newer)
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


def search_page(
    tx: RawTx, checkout_base: str, merchant_id: str, search: PaymentSearch, *, limit: int, cursor: PageCursor | None
) -> PaymentPage:
    """A page of ``limit`` of the merchant's payments that ``search`` matches, newest first: the first page, the
    page after a ``next`` cursor, or the page before a ``previous`` one. Going back up to the newest payments gives
    the first page whole (even when fewer than ``limit`` payments were left above the cursor); an empty page after
    a cursor has no ``previous`` cursor (start again from the first page)."""

    def fetch(count: int, key: tuple[int, str] | None, newer: bool) -> tuple[list[Payment], bool]:
        rows, behind = _matching(tx, PAYMENT_COLUMNS, merchant_id, search, count, key, newer, behind=True)
        return [payment_from_row(row, checkout_base) for row in rows], behind

    return PaymentPage(*_page(fetch, limit, cursor))


def listing_page(
    tx: RawTx, merchant_id: str, search: PaymentSearch, *, limit: int, cursor: PageCursor | None
) -> ListingPage:
    """The page ``search_page`` gives, each payment read as a ``PaymentListing``."""

    def fetch(count: int, key: tuple[int, str] | None, newer: bool) -> tuple[list[PaymentListing], bool]:
        rows, behind = _matching(tx, _LISTING_COLUMNS, merchant_id, search, count, key, newer, behind=True)
        return [_listing(row) for row in rows], behind

    return ListingPage(*_page(fetch, limit, cursor))


def _page(
    fetch: Fetch[Item], limit: int, cursor: PageCursor | None
) -> tuple[list[Item], PageCursor | None, PageCursor | None, bool]:
    """A page's items, its next and previous cursors, and whether more lie beyond it (see ``search_page``).

    The payments between a cursor and the page's nearest payment match nothing (else that one would be the nearest),
    so "a payment lies before the page's first" (or after its last) is "a payment lies on the cursor's other side,
    the cursor included": what ``fetch`` answers with the page, in the same statement."""
    if cursor is None or cursor.direction == "next":
        return _older(fetch, limit, None if cursor is None else cursor.key)
    newer, older_exist = fetch(limit + 1, cursor.key, True)
    if len(newer) <= limit:
        first, following, previous, _ = _older(fetch, limit, None)
        return first, following, previous, False
    page = newer[:limit][::-1]
    return page, PageCursor.after(page[-1]) if older_exist else None, PageCursor.before(page[0]), True


def _older(
    fetch: Fetch[Item], limit: int, key: tuple[int, str] | None
) -> tuple[list[Item], PageCursor | None, PageCursor | None, bool]:
    found, newer_exist = fetch(limit + 1, key, False)
    page, more = found[:limit], len(found) > limit
    # A first page has nothing before it; another may, if payments lie above it.
    previous = PageCursor.before(page[0]) if key is not None and page and newer_exist else None
    return page, PageCursor.after(page[-1]) if more else None, previous, more
