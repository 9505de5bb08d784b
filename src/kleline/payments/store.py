"""Payments' and refunds' SQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kleline.clock import epoch_us, from_epoch_us
from kleline.db.engine import RawTx, Read, single_int
from kleline.merchants.model import Merchant
from kleline.merchants.store import MALLS_JOIN, MERCHANT_COLUMNS, MERCHANT_WIDTH, merchant_from_rows
from kleline.money import Money
from kleline.payments.model import Payment, Refund

__all__ = [
    "authorized_total",
    "card_capture_settlement",
    "card_refund_settlement",
    "due_authorizations",
    "insert_payment",
    "insert_refund",
    "list_payments",
    "list_refunds",
    "PAYMENT_COLUMNS",
    "payment_from_row",
    "load_payment",
    "lock_payment_with_merchant",
    "merchants_paid_by",
    "load_refund",
    "save_payment",
    "stalled_payments",
    "introduction",
]

_COLUMNS = (
    "id, merchant_id, customer_id, amount, currency, status, method, amount_authorized, amount_captured, "
    "amount_refunded, fee_bps, description, reference, capture_method, return_url, failure_code, created_at, "
    "card_id, challenge_id, authorization_id, card_network, authorized_at, expires_at, intro_fee_bps, "
    "introduction_offer_id"
)


PAYMENT_COLUMNS = _COLUMNS
"""The columns ``payment_from_row`` reads, in its order (for queries written elsewhere: ``payments.search_store``)."""
_QUALIFIED = ", ".join(f"p.{column}" for column in _COLUMNS.split(", "))  # over the alias ``p``, for joins


def _optional_time(value: Any) -> Any:
    return None if value is None else from_epoch_us(int(value))


def _payment(row: Sequence[Any], checkout_base: str) -> Payment:
    return Payment(
        id=row[0],
        merchant_id=row[1],
        customer_id=row[2],
        amount=Money(int(row[3]), row[4]),
        status=row[5],
        method=row[6],
        amount_authorized=int(row[7]),
        amount_captured=int(row[8]),
        amount_refunded=int(row[9]),
        fee_bps=int(row[10]),
        description=row[11],
        reference=row[12],
        capture_method=row[13],
        return_url=row[14],
        failure_code=row[15],
        created_at=from_epoch_us(int(row[16])),
        checkout_url=f"{checkout_base}/checkout/{row[0]}",
        card_id=row[17],
        challenge_id=row[18],
        authorization_id=row[19],
        card_network=row[20],
        authorized_at=_optional_time(row[21]),
        expires_at=_optional_time(row[22]),
        intro_fee_bps=int(row[23]),
        introduction_offer_id=row[24],
    )


def payment_from_row(row: Sequence[Any], checkout_base: str) -> Payment:
    """A payment from a row of ``PAYMENT_COLUMNS``."""
    return _payment(row, checkout_base)


def _params(payment: Payment) -> dict[str, Any]:
    return {
        "id": payment.id,
        "merchant_id": payment.merchant_id,
        "customer_id": payment.customer_id,
        "amount": payment.amount.minor,
        "currency": payment.amount.currency,
        "status": payment.status,
        "method": payment.method,
        "amount_authorized": payment.amount_authorized,
        "amount_captured": payment.amount_captured,
        "amount_refunded": payment.amount_refunded,
        "fee_bps": payment.fee_bps,
        "description": payment.description,
        "reference": payment.reference,
        "capture_method": payment.capture_method,
        "return_url": payment.return_url,
        "failure_code": payment.failure_code,
        "created_at": epoch_us(payment.created_at),
        "card_id": payment.card_id,
        "challenge_id": payment.challenge_id,
        "authorization_id": payment.authorization_id,
        "card_network": payment.card_network,
        "authorized_at": None if payment.authorized_at is None else epoch_us(payment.authorized_at),
        "expires_at": None if payment.expires_at is None else epoch_us(payment.expires_at),
        "intro_fee_bps": payment.intro_fee_bps,
        "introduction_offer_id": payment.introduction_offer_id,
    }


def insert_payment(tx: RawTx, payment: Payment) -> None:
    """Record a new payment (no answer awaited: on PostgreSQL it travels with the next statement or the COMMIT)."""
    params = _params(payment)
    params["updated_at"] = params["created_at"]
    tx.defer(
        f"INSERT INTO payments ({_COLUMNS}, updated_at) VALUES ("
        ":id, :merchant_id, :customer_id, :amount, :currency, :status, :method, :amount_authorized, "
        ":amount_captured, :amount_refunded, :fee_bps, :description, :reference, :capture_method, :return_url, "
        ":failure_code, :created_at, :card_id, :challenge_id, :authorization_id, :card_network, :authorized_at, "
        ":expires_at, :intro_fee_bps, :introduction_offer_id, :updated_at)",
        params,
    )


def save_payment(tx: RawTx, payment: Payment, updated_at: int) -> None:
    """Write a payment's changing fields (its identity, amount and commission rate never change; the introduction
    fee's rate and offer are fixed when its customer confirms)."""
    params = _params(payment)
    params["updated_at"] = updated_at
    tx.defer(
        "UPDATE payments SET customer_id = :customer_id, status = :status, method = :method, "
        "amount_authorized = :amount_authorized, amount_captured = :amount_captured, "
        "amount_refunded = :amount_refunded, failure_code = :failure_code, "
        "card_id = :card_id, challenge_id = :challenge_id, authorization_id = :authorization_id, "
        "card_network = :card_network, authorized_at = :authorized_at, expires_at = :expires_at, "
        "intro_fee_bps = :intro_fee_bps, introduction_offer_id = :introduction_offer_id, "
        "updated_at = :updated_at WHERE id = :id",
        params,
    )


def load_payment(tx: RawTx, payment_id: str, checkout_base: str, *, lock: bool = False) -> Payment | None:
    """A payment, locked for the rest of the transaction when ``lock`` (PostgreSQL; SQLite has one writer)."""
    suffix = " FOR UPDATE" if lock and tx.is_postgres else ""
    row = tx.fetchone(f"SELECT {_COLUMNS} FROM payments WHERE id = :id{suffix}", {"id": payment_id})
    return None if row is None else _payment(row, checkout_base)


def lock_payment_with_merchant(tx: RawTx, payment_id: str, checkout_base: str) -> tuple[Payment, Merchant] | None:
    """A payment locked for the rest of the transaction (PostgreSQL; SQLite has one writer) and its merchant with
    its malls, in one statement (a row per mall): a confirmation needs both, and reading them apart cost it a round
    trip. The merchant's row is read, not locked, as ``merchants.store.find_merchant`` reads it, as it stood when the
    statement began: a suspension committed while the statement waited for the payment's lock counts from the next
    request, as a key revoked while a request runs does (``Merchants.authenticate_active``). None if no such
    payment."""
    lock = " FOR UPDATE OF p" if tx.is_postgres else ""
    rows = tx.fetchall(
        f"SELECT {_QUALIFIED}, {MERCHANT_COLUMNS} FROM payments p JOIN merchants m ON m.id = p.merchant_id "
        f"{MALLS_JOIN} WHERE p.id = :id{lock}",
        {"id": payment_id},
    )
    if not rows:
        return None
    return _payment(rows[0], checkout_base), merchant_from_rows([row[-MERCHANT_WIDTH:] for row in rows])


def list_payments(
    tx: RawTx, checkout_base: str, *, merchant_id: str | None, customer_id: str | None, limit: int, after: str | None
) -> list[Payment]:
    """Payments newest first, for one merchant or customer (or all, for operators), after the ``after`` id."""
    where: list[str] = []
    params: dict[str, object] = {"limit": limit}
    if merchant_id is not None:
        where.append("merchant_id = :merchant")
        params["merchant"] = merchant_id
    if customer_id is not None:
        where.append("customer_id = :customer")
        params["customer"] = customer_id
    if after is not None:
        where.append(
            "(created_at < (SELECT created_at FROM payments WHERE id = :after) OR "
            "(created_at = (SELECT created_at FROM payments WHERE id = :after) AND id < :after))"
        )
        params["after"] = after
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    rows = tx.fetchall(
        f"SELECT {_COLUMNS} FROM payments {clause} ORDER BY created_at DESC, id DESC LIMIT :limit", params
    )
    return [_payment(row, checkout_base) for row in rows]


def due_authorizations(tx: RawTx, now: int, limit: int) -> list[str]:
    """Authorised payments whose authorisation has expired."""
    rows = tx.fetchall(
        "SELECT id FROM payments WHERE status = 'authorized' AND expires_at <= :now ORDER BY expires_at LIMIT :limit",
        {"now": now, "limit": limit},
    )
    return [str(row[0]) for row in rows]


def authorized_total(merchant_id: str) -> Read[int]:
    """What the merchant's authorised, uncaptured payments add up to (its pending balance)."""
    return Read(
        "SELECT COALESCE(SUM(amount_authorized), 0) FROM payments WHERE merchant_id = :merchant "
        "AND status = 'authorized'",
        {"merchant": merchant_id},
        single_int,
        width=1,
    )


_REFUND_COLUMNS = (
    "id, payment_id, merchant_id, amount, currency, status, fee_returned, failure_code, created_at, intro_fee_returned"
)


def _refund(row: Sequence[Any]) -> Refund:
    return Refund(
        id=row[0],
        payment_id=row[1],
        merchant_id=row[2],
        amount=Money(int(row[3]), row[4]),
        status=row[5],
        fee_returned=int(row[6]),
        failure_code=row[7],
        created_at=from_epoch_us(int(row[8])),
        intro_fee_returned=int(row[9]),
    )


def insert_refund(tx: RawTx, refund: Refund) -> None:
    """Record a refund and how it ended."""
    tx.execute(
        f"INSERT INTO refunds ({_REFUND_COLUMNS}) VALUES "
        "(:id, :payment, :merchant, :amount, :currency, :status, :fee, :failure, :at, :intro_fee)",
        {
            "id": refund.id,
            "payment": refund.payment_id,
            "merchant": refund.merchant_id,
            "amount": refund.amount.minor,
            "currency": refund.amount.currency,
            "status": refund.status,
            "fee": refund.fee_returned,
            "failure": refund.failure_code,
            "at": epoch_us(refund.created_at),
            "intro_fee": refund.intro_fee_returned,
        },
    )


def load_refund(tx: RawTx, refund_id: str) -> Refund | None:
    """A refund."""
    row = tx.fetchone(f"SELECT {_REFUND_COLUMNS} FROM refunds WHERE id = :id", {"id": refund_id})
    return None if row is None else _refund(row)


def list_refunds(tx: RawTx, *, payment_id: str | None, merchant_id: str | None, limit: int) -> list[Refund]:
    """Refunds newest first, of one payment or of one merchant."""
    where: list[str] = []
    params: dict[str, object] = {"limit": limit}
    if payment_id is not None:
        where.append("payment_id = :payment")
        params["payment"] = payment_id
    if merchant_id is not None:
        where.append("merchant_id = :merchant")
        params["merchant"] = merchant_id
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    rows = tx.fetchall(
        f"SELECT {_REFUND_COLUMNS} FROM refunds {clause} ORDER BY created_at DESC, id DESC LIMIT :limit", params
    )
    return [_refund(row) for row in rows]


def stalled_payments(tx: RawTx, before: int, limit: int) -> list[str]:
    """Payments left half-way by a crash: claimed for confirmation, or authorised for an automatic capture that
    never came, and untouched since ``before``."""
    rows = tx.fetchall(
        "SELECT id FROM payments WHERE updated_at < :before AND (status = 'processing' OR "
        "(status = 'authorized' AND capture_method = 'automatic')) ORDER BY updated_at LIMIT :limit",
        {"before": before, "limit": limit},
    )
    return [str(row[0]) for row in rows]


def card_capture_settlement(
    tx: RawTx, *, payment_id: str | None = None, authorization_id: str | None = None
) -> tuple[str, Money, str] | None:
    """A card payment, by id or by its authorisation (the reference a card network settles it under): its id, the
    amount captured (what the network settles), and the network whose receivable the capture debited."""
    column, value = ("id", payment_id) if payment_id is not None else ("authorization_id", authorization_id)
    row = tx.fetchone(
        f"SELECT id, amount_captured, currency, card_network FROM payments WHERE {column} = :value "
        "AND method = 'card' AND card_network IS NOT NULL",
        {"value": value},
    )
    return None if row is None else (str(row[0]), Money(int(row[1]), row[2]), str(row[3]))


def card_refund_settlement(tx: RawTx, refund_id: str) -> tuple[str, Money, str] | None:
    """A succeeded refund of a card payment: its id, amount, and the network whose receivable it credited (the
    network charges it to Kleline's account when it settles)."""
    row = tx.fetchone(
        "SELECT r.id, r.amount, r.currency, p.card_network FROM refunds r JOIN payments p ON p.id = r.payment_id "
        "WHERE r.id = :id AND r.status = 'succeeded' AND p.method = 'card' AND p.card_network IS NOT NULL",
        {"id": refund_id},
    )
    return None if row is None else (str(row[0]), Money(int(row[1]), row[2]), str(row[3]))


def merchants_paid_by(tx: RawTx, customer_id: str) -> list[str]:
    """The merchants a customer confirmed payments to, by id (``ix_payments_customer_purchases``)."""
    rows = tx.fetchall(
        "SELECT DISTINCT merchant_id FROM payments WHERE customer_id = :customer ORDER BY merchant_id",
        {"customer": customer_id},
    )
    return [str(row[0]) for row in rows]


def introduction(tx: RawTx, customer_id: str, merchant_id: str, since: int) -> tuple[str, int] | None:
    """The offer of ``merchant_id`` that introduced ``customer_id`` most recently, delivered after ``since`` and
    answered ``interested`` or ``share_email``, with the merchant's introduction fee rate; None if none did.
    One index range (``ix_offer_deliveries_introductions``: customer, merchant, answered_at)."""
    row = tx.fetchone(
        "SELECT d.offer_id, m.intro_fee_bps FROM offer_deliveries d JOIN merchants m ON m.id = d.merchant_id "
        "WHERE d.customer_id = :customer AND d.merchant_id = :merchant AND d.answered_at IS NOT NULL "
        "AND d.answer IN ('interested', 'share_email') AND d.delivered_at > :since "
        "ORDER BY d.delivered_at DESC, d.offer_id LIMIT 1",
        {"customer": customer_id, "merchant": merchant_id, "since": since},
    )
    return None if row is None else (str(row[0]), int(row[1]))
