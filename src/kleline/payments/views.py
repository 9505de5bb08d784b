"""The JSON shape of payments and refunds, one definition for the API's answers and the events' ``data``.

Two views of a payment's customer: the customer and Kleline's staff see the customer's own id (``cus_``); a merchant
sees its pseudonym (``cpn_``, ``privacy.pseudonyms``) in ``customer_id`` and the email in ``customer_email`` only
while the customer shares it with that merchant (null otherwise), never the id that would link it to other merchants.
"""

from __future__ import annotations

from kleline.clock import to_rfc3339
from kleline.payments.model import Payment, Refund
from kleline.privacy.pseudonyms import Pseudonyms

__all__ = ["merchant_payment_json", "payment_json", "refund_json"]


def payment_json(payment: Payment) -> dict[str, object]:
    """A payment as API.md names its fields (internal references such as the hold or the issuer's id stay out)."""
    fee, introduction_fee, net = payment.fees_and_net()
    return {
        "id": payment.id,
        "object": "payment",
        "merchant_id": payment.merchant_id,
        "customer_id": payment.customer_id,
        "customer_email": None,
        "amount": payment.amount.minor,
        "currency": payment.amount.currency,
        "status": payment.status,
        "method": payment.method,
        "card_id": payment.card_id,
        "capture_method": payment.capture_method,
        "amount_authorized": payment.amount_authorized,
        "amount_captured": payment.amount_captured,
        "amount_refunded": payment.amount_refunded,
        "fee": fee,
        "fee_bps": payment.fee_bps,
        "introduction_fee": introduction_fee,
        "intro_fee_bps": payment.intro_fee_bps,
        "introduction_offer_id": payment.introduction_offer_id,
        "net": net,
        "description": payment.description,
        "reference": payment.reference,
        "return_url": payment.return_url,
        "checkout_url": payment.checkout_url,
        "failure_code": payment.failure_code,
        "next_action": payment.next_action,
        "authorization_expires_at": None if payment.expires_at is None else to_rfc3339(payment.expires_at),
        "created_at": to_rfc3339(payment.created_at),
    }


def merchant_payment_json(payment: Payment, pseudonyms: Pseudonyms, email: str | None) -> dict[str, object]:
    """A payment as its merchant sees it: the customer's pseudonym for that merchant, and ``email`` (to be given
    only while the customer's ``share_email`` consent to the merchant lives)."""
    customer = payment.customer_id
    return {
        **payment_json(payment),
        "customer_id": None if customer is None else pseudonyms.of(payment.merchant_id, customer),
        "customer_email": None if customer is None else email,
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
