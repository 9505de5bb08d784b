"""The shop's own state: its catalogue and its orders, kept in memory, and how a payment's status becomes an order's.

An order learns about its payment from two sources that may arrive in any order: the customer's return from the
checkout (the shop then reads the payment from Kleline) and the signed webhooks. Both only ever move an order
forward (awaiting payment → authorised → paid or failed), so a late or repeated message cannot undo a newer one,
and each webhook is applied once per event id: Kleline delivers at least once, so duplicates are expected.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Final

__all__ = ["CATALOGUE", "Item", "Order", "OrderBook", "UnknownOrder", "order_status"]


@dataclass(frozen=True, slots=True)
class Item:
    """Something the shop sells; ``price`` in euro cents."""

    sku: str
    name: str
    blurb: str
    price: int
    currency: str = "EUR"


CATALOGUE: Final = (
    Item("olive-oil", "Olive oil from Nyons, 50 cl", "Cold-pressed Tanche olives, bottled at the mill.", 1250),
    Item("comte", "Comté, 18 months, 250 g", "Cut to order in a fruitière of the Jura.", 890),
    Item("tea-towel", "Linen tea towel", "Woven in the Vosges, washed linen, 50 × 70 cm.", 1990),
    Item(
        "saucepan",
        "Copper saucepan, 16 cm",
        "Above 30 EUR: Kleline asks for strong authentication (the code of your authenticator app).",
        4500,
    ),
)

# Where each payment status leaves the order, and how far along that is (an order never moves back).
_STATUSES: Final = {
    "requires_confirmation": ("awaiting_payment", 0),
    "requires_action": ("awaiting_payment", 0),
    "processing": ("awaiting_payment", 0),
    "authorized": ("authorized", 1),
    "succeeded": ("paid", 2),
    "failed": ("payment_failed", 2),
    "canceled": ("canceled", 2),
    "expired": ("expired", 2),
}
_RANK: Final = {status: rank for status, rank in _STATUSES.values()}


def order_status(payment_status: str) -> str:
    """The order status a payment status means (an unknown one leaves the order awaiting payment)."""
    return _STATUSES.get(payment_status, ("awaiting_payment", 0))[0]


class UnknownOrder(KeyError):
    """No order with this id."""


@dataclass(frozen=True, slots=True)
class Order:
    """One purchase: the item, the Kleline payment that pays it, and what the shop has heard about it."""

    id: str
    item: Item
    created_at: datetime
    status: str = "awaiting_payment"
    payment_id: str | None = None
    checkout_url: str | None = None
    refunds: tuple[tuple[str, int], ...] = ()
    webhooks: tuple[tuple[str, str], ...] = ()
    error: str | None = None

    @property
    def refunded(self) -> int:
        """Cents refunded so far (each refund counted once, by its id)."""
        return sum(amount for _, amount in self.refunds)

    @property
    def shown_status(self) -> str:
        """The status as the shop shows it: ``refunded`` once a paid order was refunded in full."""
        return "refunded" if self.status == "paid" and self.refunded >= self.item.price else self.status

    @property
    def refundable(self) -> bool:
        """True when the order is paid and not yet refunded in full."""
        return self.status == "paid" and self.refunded < self.item.price


@dataclass
class OrderBook:
    """Every order, newest first, safe to use from several threads at once."""

    _orders: dict[str, Order] = field(default_factory=dict)
    _by_payment: dict[str, str] = field(default_factory=dict)
    _seen_events: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def create(self, item: Item) -> Order:
        """A new order awaiting payment."""
        order = Order("ord_" + secrets.token_hex(8), item, datetime.now(UTC))
        with self._lock:
            self._orders[order.id] = order
        return order

    def get(self, order_id: str) -> Order:
        """An order; ``UnknownOrder`` when there is none."""
        with self._lock:
            try:
                return self._orders[order_id]
            except KeyError:
                raise UnknownOrder(order_id) from None

    def all(self) -> list[Order]:
        """Every order, newest first."""
        with self._lock:
            return sorted(self._orders.values(), key=lambda order: order.created_at, reverse=True)

    def attach(self, order_id: str, payment: dict[str, Any]) -> Order:
        """Remember the payment Kleline created for the order, and its state."""
        with self._lock:
            order = self._orders[order_id]
            order = replace(order, payment_id=payment["id"], checkout_url=payment["checkout_url"])
            self._by_payment[payment["id"]] = order_id
            self._orders[order_id] = order = self._advanced(order, payment["status"])
            return order

    def fail(self, order_id: str, error: str) -> Order:
        """Record that the payment could not even be created."""
        with self._lock:
            self._orders[order_id] = order = replace(self._orders[order_id], status="error", error=error)
            return order

    def apply_payment(self, payment: dict[str, Any]) -> Order | None:
        """Move the payment's order forward to what ``payment`` (a payment object read from Kleline) says."""
        with self._lock:
            order = self._of_payment(payment.get("id"))
            if order is None:
                return None
            self._orders[order.id] = order = self._advanced(order, str(payment.get("status")))
            return order

    def apply_refund(self, refund: dict[str, Any]) -> Order | None:
        """Count a succeeded refund once, whichever way the shop hears of it first."""
        with self._lock:
            order = self._of_payment(refund.get("payment_id"))
            if order is None or refund.get("status") != "succeeded":
                return order
            if all(refund_id != refund["id"] for refund_id, _ in order.refunds):
                order = replace(order, refunds=(*order.refunds, (refund["id"], int(refund["amount"]))))
                self._orders[order.id] = order
            return order

    def apply_event(self, event: dict[str, Any]) -> bool:
        """Apply a verified webhook's event once; False when this event id was already applied."""
        event_id = str(event["id"])
        kind = str(event.get("type", ""))
        data = event.get("data") or {}
        with self._lock:
            if event_id in self._seen_events:
                return False
            self._seen_events.add(event_id)
            payment_id = data.get("payment_id") if kind.startswith("refund.") else data.get("id")
            order = self._of_payment(payment_id)
            if order is None:
                return True  # not one of ours (another shop on the same account): acknowledged, nothing to do
            order = replace(order, webhooks=(*order.webhooks, (event_id, kind)))
            self._orders[order.id] = order
        if kind.startswith("payment."):
            self.apply_payment(data)
        elif kind == "refund.succeeded":
            self.apply_refund(data)
        return True

    def _of_payment(self, payment_id: object) -> Order | None:
        order_id = self._by_payment.get(str(payment_id))
        return None if order_id is None else self._orders[order_id]

    @staticmethod
    def _advanced(order: Order, payment_status: str) -> Order:
        status = order_status(payment_status)
        if _RANK.get(status, 0) <= _RANK.get(order.status, 0) and status != order.status:
            return order  # older news than what the order already knows
        return replace(order, status=status)
