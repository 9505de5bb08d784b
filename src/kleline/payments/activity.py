"""A customer's activity, as their history shows it: every movement of the purse and every card payment, newest first.

Two sources, merged: the purse's movements come from the ledger (top-ups, purse payments, refunds to the purse,
direct debits returned, debts repaid), each with the balance after it; card payments do not touch the purse, so
they come from the payments (those authorised or captured) with their refunds. A page takes ``limit`` of each
source before the cursor, merges them by time and keeps the newest ``limit``; the cursor remembers where each
source stopped (``ActivityCursor``), so that paging on never repeats nor skips an item. Both sources, and the
payment and shop behind each line, are read in one statement (``activity_store``): the history shows a page of it,
and the wallet's overview its first lines on every visit.

Each payment names its merchant, what was bought and what has been refunded of it so far; each refund names the
payment it gives back (and when it was made), so that a page can show a refund beside its payment. A receipt
exists for a captured payment and a succeeded refund (``receipt_id``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal, TypeVar

from kleline.clock import epoch_us, from_epoch_us
from kleline.db.engine import Database, Read
from kleline.ledger import HistoryLine, HistoryQuery, Ledger
from kleline.money import Money
from kleline.payments.activity_store import ActivityRows, CardRow, PaymentSummary, activity_rows_read
from kleline.wallet.customers import purse_code

__all__ = ["Activity", "ActivityCursor", "ActivityKind", "ActivityPage", "customer_activity", "customer_activity_read"]

ActivityKind = Literal[
    "payment", "refund", "top_up_card", "top_up_direct_debit", "direct_debit_returned", "debt_repaid", "other"
]

# What a purse movement without a payment is, from the ledger's description of its entry.
_PURSE_KINDS: Final[dict[str, ActivityKind]] = {
    "purse top-up by card": "top_up_card",
    "purse top-up by direct debit": "top_up_direct_debit",
    "direct debit returned: top-up reversed": "direct_debit_returned",
    "debt repaid from the purse": "debt_repaid",
}
_DONE: Final = (0, "")  # a source with nothing left
T = TypeVar("T")
_CURSOR: Final = re.compile(r"^(-|\d{1,18})\.(-|0|\d{1,18}~[a-z]{1,8}_[A-Za-z0-9_-]{1,64})$")


@dataclass(frozen=True, slots=True)
class Activity:
    """One line of the history: money into the purse (``amount`` positive) or out of it or a card (negative)."""

    kind: ActivityKind
    method: Literal["purse", "card"]
    at: datetime
    amount: Money
    merchant_id: str | None = None
    merchant_name: str | None = None
    payment_id: str | None = None
    refund_id: str | None = None
    description: str | None = None  # what the payment bought, as the merchant described it
    balance_after: Money | None = None  # the purse's balance after this movement (purse only)
    pending: bool = False  # a card payment authorised, not yet captured
    refunded: Money | None = None  # of a payment: what has been given back so far
    paid_at: datetime | None = None  # of a refund: when the payment it gives back was made
    ledger_description: str = ""  # the ledger's own words, for a movement of no known kind

    @property
    def receipt_id(self) -> str | None:
        """The id whose signed receipt exists (a captured payment's, a refund's), or None."""
        if self.kind == "refund":
            return self.refund_id
        if self.kind == "payment" and not self.pending:
            return self.payment_id
        return None


@dataclass(frozen=True, slots=True)
class ActivityCursor:
    """Where a page stopped in each source: the purse's last sequence shown, the card items' last (time, id);
    ``None`` for a source not begun, ``0``/``(0, "")`` for one exhausted."""

    purse_before: int | None = None
    card_before: tuple[int, str] | None = None

    def encode(self) -> str:
        """The cursor as a URL-safe token, such as ``123.1768469400000000~pay_abc``."""
        purse = "-" if self.purse_before is None else str(self.purse_before)
        card = (
            "-"
            if self.card_before is None
            else "0"
            if self.card_before == _DONE
            else "~".join(map(str, self.card_before))
        )
        return f"{purse}.{card}"

    @classmethod
    def parse(cls, token: str) -> ActivityCursor | None:
        """The cursor ``encode`` wrote, or None if ``token`` is not one."""
        found = _CURSOR.match(token)
        if found is None:
            return None
        purse, card = found.groups()
        card_before: tuple[int, str] | None = None
        if card == "0":
            card_before = _DONE
        elif card != "-":
            at, _, last = card.partition("~")
            card_before = (int(at), last)
        return cls(None if purse == "-" else int(purse), card_before)


@dataclass(frozen=True, slots=True)
class ActivityPage:
    """A page of activity, newest first, and the cursor of the next page (None when this is the last)."""

    items: list[Activity]
    next: ActivityCursor | None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


class _Describer:
    """Turns a page's raw lines into ``Activity``, with the payment (and its shop) each one names."""

    def __init__(self, payments: dict[str, PaymentSummary], currency: str) -> None:
        self._payments, self._currency = payments, currency

    def purse(self, line: HistoryLine) -> Activity:
        """A movement of the purse."""
        payment_id, refund_id = _text(line.metadata.get("payment")), _text(line.metadata.get("refund"))
        kind: ActivityKind = (
            "refund" if refund_id else "payment" if payment_id else _PURSE_KINDS.get(line.description, "other")
        )
        return self._described(
            kind,
            "purse",
            line.posted_at,
            Money(line.amount, self._currency),
            payment_id,
            refund_id,
            _text(line.metadata.get("merchant")),
            balance_after=Money(line.balance_after, self._currency),
            ledger_description=line.description,
        )

    def card(self, row: CardRow) -> Activity:
        """A card payment (money out) or its refund (money back)."""
        kind, at, object_id, payment_id, amount = row
        refund = kind == "refund"
        return self._described(
            "refund" if refund else "payment",
            "card",
            from_epoch_us(at),
            amount if refund else -amount,
            payment_id,
            object_id if refund else None,
            None,
        )

    def _described(
        self,
        kind: ActivityKind,
        method: Literal["purse", "card"],
        at: datetime,
        amount: Money,
        payment_id: str | None,
        refund_id: str | None,
        merchant_id: str | None,
        **more: Any,
    ) -> Activity:
        payment = self._payments.get(payment_id) if payment_id else None
        if payment is None:
            return Activity(kind, method, at, amount, merchant_id, None, payment_id, refund_id, **more)
        merchant_id = merchant_id or payment.merchant_id
        return Activity(
            kind,
            method,
            at,
            amount,
            merchant_id,
            payment.merchant_name,
            payment_id,
            refund_id,
            description=payment.description,
            pending=method == "card" and kind == "payment" and payment.status == "authorized",
            refunded=Money(payment.amount_refunded, payment.currency) if kind == "payment" else None,
            paid_at=from_epoch_us(payment.paid_at) if kind == "refund" else None,
            **more,
        )


def _next_before(taken: list[T], fetched: int, limit: int, previous: T | None, done: T) -> T | None:
    """Where a source resumes: exhausted (``done``) when the page took all that was left of it, else after its
    last item on the page (or where it was, if the page took none of it)."""
    if fetched <= limit and len(taken) == fetched:
        return done
    return taken[-1] if taken else previous


def customer_activity(
    db: Database,
    ledger: Ledger,
    customer_id: str,
    *,
    limit: int,
    after: ActivityCursor | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> ActivityPage:
    """A page of the customer's activity, newest first: ``limit`` items after ``after``, posted or paid from
    ``since`` (included) to ``until`` (excluded) when given. One statement reads it all (``activity_store``)."""
    after = after or ActivityCursor()
    if after.purse_before == 0 and after.card_before == _DONE:
        return ActivityPage([], None)  # both sources exhausted: nothing to ask the database
    read = customer_activity_read(
        db.is_postgres, ledger, customer_id, limit=limit, after=after, since=since, until=until
    )
    with db.transaction(write=False) as tx:
        return tx.read(read)


def customer_activity_read(
    postgres: bool,
    ledger: Ledger,
    customer_id: str,
    *,
    limit: int,
    after: ActivityCursor | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Read[ActivityPage]:
    """``customer_activity`` as a read (on PostgreSQL when ``postgres``), which a page sends with its other reads in
    one round trip (``RawTx.read_all``)."""
    after = after or ActivityCursor()
    code = purse_code(customer_id)
    currency = ledger.account(code).currency
    query = None
    if after.purse_before != 0:
        query = ledger.history_query(code, limit=limit + 1, before=after.purse_before, since=since, until=until)
    rows_read = activity_rows_read(
        postgres,
        customer_id,
        query,
        cards=after.card_before != _DONE,
        limit=limit + 1,
        card_before=after.card_before,
        since=None if since is None else epoch_us(since),
        until=None if until is None else epoch_us(until),
    )

    def page(found: list[Any]) -> ActivityPage:
        return _page(rows_read.decode(found), query, currency, limit, after)

    return Read(rows_read.sql, rows_read.params, page)


def _page(
    rows: ActivityRows, query: HistoryQuery | None, currency: str, limit: int, after: ActivityCursor
) -> ActivityPage:
    """The page of ``limit`` items that ``rows`` hold, both sources merged, and where the next one starts."""
    purse = [] if query is None else query.lines(rows.purse)
    cards = rows.cards
    # Merged on their times alone. The sort is stable, and each source is already newest first.
    merged: list[tuple[int, HistoryLine | CardRow]] = [
        *((epoch_us(line.posted_at), line) for line in purse),
        *((row[1], row) for row in cards),
    ]
    merged.sort(key=lambda entry: entry[0], reverse=True)
    page = [source for _, source in merged[:limit]]
    describe = _Describer(rows.payments, currency)
    items = [describe.purse(source) if isinstance(source, HistoryLine) else describe.card(source) for source in page]
    if len(merged) <= limit:
        return ActivityPage(items, None)
    purse_taken = [source.sequence for source in page if isinstance(source, HistoryLine)]
    card_taken = [(source[1], source[2]) for source in page if not isinstance(source, HistoryLine)]
    purse_before = _next_before(purse_taken, len(purse), limit, after.purse_before, 0)
    card_before = _next_before(card_taken, len(cards), limit, after.card_before, _DONE)
    return ActivityPage(items, ActivityCursor(purse_before, card_before))
