"""A customer's activity, as their history shows it: every movement of the purse and every card payment, newest first.

Two sources, merged: the purse's movements come from the ledger (top-ups, purse payments, refunds to the purse,
direct debits returned, debts repaid), each with the balance after it; card payments do not touch the purse, so
they come from the payments (those authorised or captured) with their refunds. A page takes ``limit`` of each
source before the cursor, merges them by time and keeps the newest ``limit``; the cursor remembers where each
source stopped (``ActivityCursor``), so that paging on never repeats nor skips an item.

Each payment names its merchant, what was bought and what has been refunded of it so far; each refund names the
payment it gives back (and when it was made), so that a page can show a refund beside its payment. A receipt
exists for a captured payment and a succeeded refund (``receipt_id``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal, TypeVar

from kleline.clock import epoch_us, from_epoch_us
from kleline.db.engine import Database
from kleline.ledger import HistoryLine, Ledger
from kleline.merchants import Merchants
from kleline.money import Money
from kleline.payments import store
from kleline.payments.model import Payment
from kleline.wallet.customers import purse_code

__all__ = ["Activity", "ActivityCursor", "ActivityKind", "ActivityPage", "customer_activity"]

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


def _purse_item(line: HistoryLine, currency: str) -> tuple[Activity, int]:
    payment_id, refund_id = _text(line.metadata.get("payment")), _text(line.metadata.get("refund"))
    kind: ActivityKind = (
        "refund" if refund_id else "payment" if payment_id else _PURSE_KINDS.get(line.description, "other")
    )
    item = Activity(
        kind=kind,
        method="purse",
        at=line.posted_at,
        amount=Money(line.amount, currency),
        merchant_id=_text(line.metadata.get("merchant")),
        payment_id=payment_id,
        refund_id=refund_id,
        balance_after=Money(line.balance_after, currency),
        ledger_description=line.description,
    )
    return item, line.sequence


def _card_item(row: tuple[str, int, str, str, Money]) -> Activity:
    kind, at, object_id, payment_id, amount = row
    if kind == "refund":
        return Activity("refund", "card", from_epoch_us(at), amount, payment_id=payment_id, refund_id=object_id)
    return Activity("payment", "card", from_epoch_us(at), -amount, payment_id=payment_id)


def _described(item: Activity, payments: dict[str, Payment], names: dict[str, str], merchants: Merchants) -> Activity:
    """``item`` with its payment's merchant, description, refunds and time."""
    payment = payments.get(item.payment_id or "")
    if payment is None:
        return item
    merchant_id = item.merchant_id or payment.merchant_id
    if merchant_id not in names:
        names[merchant_id] = merchants.get(merchant_id).name
    currency = payment.currency
    paid_at = payment.authorized_at or payment.created_at
    return Activity(
        kind=item.kind,
        method=item.method,
        at=item.at,
        amount=item.amount,
        merchant_id=merchant_id,
        merchant_name=names[merchant_id],
        payment_id=item.payment_id,
        refund_id=item.refund_id,
        description=payment.description,
        balance_after=item.balance_after,
        pending=item.method == "card" and item.kind == "payment" and payment.status == "authorized",
        refunded=Money(payment.amount_refunded, currency) if item.kind == "payment" else None,
        paid_at=paid_at if item.kind == "refund" else None,
        ledger_description=item.ledger_description,
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
    merchants: Merchants,
    checkout_base: str,
    customer_id: str,
    *,
    limit: int,
    after: ActivityCursor | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> ActivityPage:
    """A page of the customer's activity, newest first: ``limit`` items after ``after``, posted or paid from
    ``since`` (included) to ``until`` (excluded) when given."""
    after = after or ActivityCursor()
    code = purse_code(customer_id)
    currency = ledger.account(code).currency
    purse: list[tuple[Activity, int]] = []
    if after.purse_before != 0:
        lines = ledger.history(code, limit=limit + 1, before=after.purse_before, since=since, until=until)
        purse = [_purse_item(line, currency) for line in lines]
    window = (None if since is None else epoch_us(since), None if until is None else epoch_us(until))
    with db.transaction(write=False) as tx:
        cards: list[tuple[str, int, str, str, Money]] = []
        if after.card_before != _DONE:
            cards = store.card_activity(
                tx, customer_id, limit=limit + 1, before=after.card_before, since=window[0], until=window[1]
            )
        merged: list[tuple[Activity, int | None, tuple[int, str] | None]] = [
            *((item, sequence, None) for item, sequence in purse),
            *((_card_item(row), None, (row[1], row[2])) for row in cards),
        ]
        merged.sort(key=lambda entry: entry[0].at, reverse=True)  # stable: each source is already newest first
        page = merged[:limit]
        payment_ids = [item.payment_id for item, _, _ in page if item.payment_id]
        payments = store.load_payments(tx, payment_ids, checkout_base)
    names: dict[str, str] = {}
    items = [_described(item, payments, names, merchants) for item, _, _ in page]
    if len(merged) <= limit:
        return ActivityPage(items, None)
    purse_taken = [sequence for _, sequence, _ in page if sequence is not None]
    card_taken = [key for _, _, key in page if key is not None]
    purse_before = _next_before(purse_taken, len(purse), limit, after.purse_before, 0)
    card_before = _next_before(card_taken, len(cards), limit, after.card_before, _DONE)
    return ActivityPage(items, ActivityCursor(purse_before, card_before))
