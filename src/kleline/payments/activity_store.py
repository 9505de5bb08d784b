"""The SQL of a customer's own views of their payments: a page of their history in one statement, and a purchase
with its refunds as its receipt shows it.

A page of history reads three things that used to take a statement each, and a fourth per shop: the purse's page
(the ledger's own statement, ``Ledger.history_query``, run inside this one), the card payments and their refunds,
and the payment and the shop's name behind each line. One statement, one round trip: the wallet's overview shows
the newest lines on every visit, and the history page shows a page of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from kleline.db.engine import RawTx, Read
from kleline.ledger import HistoryQuery
from kleline.money import Money

__all__ = [
    "ActivityRows",
    "CardRow",
    "PaymentSummary",
    "PurchaseRow",
    "activity_rows_read",
    "purchase_rows",
]

CardRow = tuple[str, int, str, str, Money]
"""A card payment or a refund of one: kind (``payment``, ``refund``), epoch µs, its id, the payment's id, amount."""


@dataclass(frozen=True, slots=True)
class PaymentSummary:
    """What a customer's history says of a payment: whose, what for, how much of it was refunded, when paid."""

    merchant_id: str
    merchant_name: str | None
    description: str | None
    currency: str
    amount_refunded: int
    status: str
    paid_at: int  # epoch µs: when it was authorised, or created if it never was


@dataclass(frozen=True, slots=True)
class ActivityRows:
    """What one statement read: the purse's rows (as ``HistoryQuery.lines`` reads them), the card rows, both newest
    first, and the summary of every payment they name."""

    purse: list[tuple[Any, ...]]
    cards: list[CardRow]
    payments: dict[str, PaymentSummary]


# A customer's card payments (when they were authorised) that took or hold money, and their refunds.
_CARDS: Final = (
    "SELECT kind, at, id, payment_id, amount, currency FROM ("
    "  SELECT 'payment' AS kind, COALESCE(authorized_at, created_at) AS at, id, id AS payment_id,"
    "         CASE WHEN amount_captured > 0 THEN amount_captured ELSE amount_authorized END AS amount, currency"
    "  FROM payments WHERE customer_id = :card_customer AND method = 'card'"
    "  AND status IN ('authorized', 'succeeded')"
    "  UNION ALL"
    "  SELECT 'refund', r.created_at, r.id, r.payment_id, r.amount, r.currency"
    "  FROM refunds r JOIN payments p ON p.id = r.payment_id"
    "  WHERE p.customer_id = :card_customer AND p.method = 'card' AND r.status = 'succeeded'"
    ") a {where}ORDER BY at DESC, id DESC LIMIT :card_limit"
)
# The purse's lines and the card rows side by side (either may be left out, so both name their columns): origin 0
# the purse (the ledger's columns), 1 the cards.
_PURSE_LINES: Final = (
    "SELECT 0 AS origin, id AS seq, entry_id, amount, posted_at AS at, description, metadata, newest,"
    " NULL AS kind, NULL AS object_id, {payment} AS payment_id, NULL AS currency FROM purse"
)
_CARD_LINES: Final = (
    "SELECT 1 AS origin, NULL AS seq, NULL AS entry_id, amount, at, NULL AS description, NULL AS metadata,"
    " NULL AS newest, kind, id AS object_id, payment_id, currency FROM cards"
)
_ACTIVITY: Final = (
    "WITH {tables} SELECT a.origin, a.seq, a.entry_id, a.amount, a.at, a.description, a.metadata, a.newest,"
    " a.kind, a.object_id, a.payment_id, a.currency, p.merchant_id, m.name, p.description, p.currency,"
    " p.amount_refunded, p.status, COALESCE(p.authorized_at, p.created_at)"
    " FROM ({lines}) a LEFT JOIN payments p ON p.id = a.payment_id LEFT JOIN merchants m ON m.id = p.merchant_id"
    " ORDER BY a.origin, a.seq DESC, a.at DESC, a.object_id DESC"
)


def _payment_of_metadata(postgres: bool) -> str:
    # The ledger keeps an entry's metadata as JSON text; a purse movement names its payment there.
    return "CAST(metadata AS json) ->> 'payment'" if postgres else "json_extract(metadata, '$.payment')"


def activity_rows_read(
    postgres: bool,
    customer_id: str,
    purse: HistoryQuery | None,
    *,
    cards: bool,
    limit: int,
    card_before: tuple[int, str] | None,
    since: int | None,
    until: int | None,
) -> Read[ActivityRows]:
    """In one statement, as a read (on PostgreSQL when ``postgres``) that may travel with a page's other reads: the
    rows of ``purse`` (none without it) and, with ``cards``, ``limit`` of the customer's card payments and refunds
    before ``card_before`` (epoch µs, id) in [``since``, ``until``) when given; and the summary of each payment they
    name. With neither source left, a statement that reads nothing."""
    tables: list[str] = []
    lines: list[str] = []
    params: dict[str, object] = {}
    if purse is not None:
        tables.append(f"purse AS ({purse.sql})")
        lines.append(_PURSE_LINES.format(payment=_payment_of_metadata(postgres)))
        params.update(purse.params)
    if cards:
        where: list[str] = []
        params.update(card_customer=customer_id, card_limit=limit)
        if card_before is not None:
            where.append("(at < :card_before_at OR (at = :card_before_at AND id < :card_before_id))")
            params["card_before_at"], params["card_before_id"] = card_before
        if since is not None:
            where.append("at >= :card_since")
            params["card_since"] = since
        if until is not None:
            where.append("at < :card_until")
            params["card_until"] = until
        condition = "WHERE " + " AND ".join(where) + " " if where else ""
        tables.append(f"cards AS ({_CARDS.format(where=condition)})")
        lines.append(_CARD_LINES)
    if not tables:
        return Read("SELECT 1 WHERE 1 = 0", {}, _activity_rows)
    return Read(_ACTIVITY.format(tables=", ".join(tables), lines=" UNION ALL ".join(lines)), params, _activity_rows)


def _activity_rows(rows: list[Any]) -> ActivityRows:
    found = ActivityRows([], [], {})
    for row in rows:
        if row[0] == 0:
            found.purse.append(tuple(row[1:8]))
        else:
            found.cards.append((str(row[8]), int(row[4]), str(row[9]), str(row[10]), Money(int(row[3]), str(row[11]))))
        if row[10] is not None and row[12] is not None:
            found.payments[str(row[10])] = PaymentSummary(
                str(row[12]), row[13], row[14], str(row[15]), int(row[16]), str(row[17]), int(row[18])
            )
    return found


PurchaseRow = tuple[Any, ...]
"""description, amount captured, currency, epoch µs paid, then a succeeded refund's id, amount and epoch µs (or
three NULLs when there is none)."""


def purchase_rows(tx: RawTx, customer_id: str, payment_id: str) -> list[PurchaseRow]:
    """The customer's payment ``payment_id`` once per refund of it that succeeded, oldest first (once, with NULL
    refund columns, if none did); no row if it is not theirs."""
    return list(
        tx.fetchall(
            "SELECT p.description, p.amount_captured, p.currency, COALESCE(p.authorized_at, p.created_at),"
            " r.id, r.amount, r.created_at"
            " FROM payments p LEFT JOIN refunds r ON r.payment_id = p.id AND r.status = 'succeeded'"
            " WHERE p.id = :payment AND p.customer_id = :customer ORDER BY r.created_at, r.id",
            {"payment": payment_id, "customer": customer_id},
        )
    )
