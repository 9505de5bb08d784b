"""The JSON shape of payments and refunds, one definition for the API's answers and the events' ``data``."""

from __future__ import annotations

from kleline.clock import to_rfc3339
from kleline.payments.model import Payment, Refund

__all__ = ["payment_json", "refund_json"]


def payment_json(payment: Payment) -> dict[str, object]:
    """A payment as API.md names its fields (internal references such as the hold or the issuer's id stay out)."""
    return {
        "id": payment.id,
        "object": "payment",
        "merchant_id": payment.merchant_id,
        "customer_id": payment.customer_id,
        "amount": payment.amount.minor,
        "currency": payment.amount.currency,
        "status": payment.status,
        "method": payment.method,
        "card_id": payment.card_id,
        "capture_method": payment.capture_method,
        "amount_authorized": payment.amount_authorized,
        "amount_captured": payment.amount_captured,
        "amount_refunded": payment.amount_refunded,
        "fee": payment.fee,
        "fee_bps": payment.fee_bps,
        "introduction_fee": payment.introduction_fee,
        "intro_fee_bps": payment.intro_fee_bps,
        "introduction_offer_id": payment.introduction_offer_id,
        "net": payment.net,
        "description": payment.description,
        "reference": payment.reference,
        "return_url": payment.return_url,
        "checkout_url": payment.checkout_url,
        "failure_code": payment.failure_code,
        "next_action": payment.next_action,
        "authorization_expires_at": None if payment.expires_at is None else to_rfc3339(payment.expires_at),
        "created_at": to_rfc3339(payment.created_at),
    }


def refund_json(refund: Refund) -> dict[str, object]:
    """A refund: its amount, how much commission it returned, and how it ended."""
    return {
        "id": refund.id,
        "object": "refund",
        "payment_id": refund.payment_id,
        "merchant_id": refund.merchant_id,
        "amount": refund.amount.minor,
        "currency": refund.amount.currency,
        "fee_returned": refund.fee_returned,
        "intro_fee_returned": refund.intro_fee_returned,
        "status": refund.status,
        "failure_code": refund.failure_code,
        "created_at": to_rfc3339(refund.created_at),
    }
