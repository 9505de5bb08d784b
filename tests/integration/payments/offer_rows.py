"""Offers and their deliveries written straight into their tables, for the introduction fee's tests.

The offers service (issue 15, built in parallel) is not here yet: these rows stand for what it writes, an offer of a
merchant delivered to one customer and, when ``answer`` is given, answered an hour later. To be replaced by the real
service (send an offer to an audience, then answer it from the wallet) once it is merged.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from kleline.bootstrap import Kleline
from kleline.clock import epoch_us
from kleline.ids import new_id

__all__ = ["deliver_offer_with_sql"]


def deliver_offer_with_sql(
    kleline: Kleline, merchant_id: str, customer_id: str, *, delivered_at: datetime, answer: str | None
) -> str:
    """An offer of ``merchant_id`` delivered to ``customer_id`` at ``delivered_at``, answered ``answer`` an hour
    later (or never, with None); the offer's id."""
    offer_id = new_id("ofr")
    at = epoch_us(delivered_at)
    answered = None if answer is None else epoch_us(delivered_at + timedelta(hours=1))
    with kleline.db.transaction() as tx:
        tx.execute(
            "INSERT INTO offers (id, merchant_id, title, body, link, valid_from, valid_until, audience, recipients, "
            "created_at) VALUES (:id, :merchant, 'Spring books', '10 % off poetry', 'https://shop.example.fr/spring', "
            ":at, :until, '{}', 1, :at)",
            {"id": offer_id, "merchant": merchant_id, "at": at, "until": epoch_us(delivered_at + timedelta(days=30))},
        )
        tx.execute(
            "INSERT INTO offer_deliveries (offer_id, customer_id, merchant_id, delivered_at, read_at, answered_at, "
            "answer) VALUES (:offer, :customer, :merchant, :at, :answered, :answered, :answer)",
            {
                "offer": offer_id,
                "customer": customer_id,
                "merchant": merchant_id,
                "at": at,
                "answered": answered,
                "answer": answer,
            },
        )
    return offer_id
