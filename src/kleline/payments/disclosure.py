"""What a merchant may see of the customers who pay it: a pseudonym always, the email while the customer shares it.

Everything a merchant reads about a payment's customer passes here: its API answers, the events it reads or is
sent, its dashboard and exports. The email is looked up when the merchant looks (one primary-key lookup of the
consent, or one query for a page), so that a withdrawn consent hides it at once, including from a webhook written
before the withdrawal and delivered after it: events are stored with the pseudonym only and the email, if the
consent lives at delivery, is added then (``webhook_data``, handed to the deliverer by the composition root).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kleline.db.engine import Database, RawTx
from kleline.payments.model import Payment
from kleline.payments.views import merchant_payment_json
from kleline.privacy import sharing
from kleline.privacy.pseudonyms import Pseudonyms
from kleline.wallet.personal_data import PersonalDataKeys

__all__ = ["Disclosure"]


class Disclosure:
    """The merchant's view of its customers, under their consents."""

    def __init__(self, db: Database, pseudonyms: Pseudonyms, keys: PersonalDataKeys) -> None:
        self._db = db
        self.pseudonyms = pseudonyms
        self._keys = keys

    def pseudonym(self, merchant_id: str, customer_id: str | None) -> str | None:
        """The customer's pseudonym for the merchant (None for a payment nobody confirmed yet)."""
        return None if customer_id is None else self.pseudonyms.of(merchant_id, customer_id)

    def payment(self, payment: Payment, *, tx: RawTx | None = None) -> dict[str, object]:
        """One payment as its merchant sees it now."""
        return self.payments([payment], tx=tx)[0]

    def payments(self, payments: Sequence[Payment], *, tx: RawTx | None = None) -> list[dict[str, object]]:
        """Payments of one merchant as it sees them now: one query for the emails of the whole page."""
        emails = self.emails(payments, tx=tx)
        return [
            merchant_payment_json(p, self.pseudonyms, None if p.customer_id is None else emails.get(p.customer_id))
            for p in payments
        ]

    def emails(self, payments: Sequence[Payment], *, tx: RawTx | None = None) -> dict[str, str]:
        """The emails the payments' customers share with the payments' merchant now, by customer id."""
        by_merchant: dict[str, list[str]] = {}
        for p in payments:
            if p.customer_id is not None:
                by_merchant.setdefault(p.merchant_id, []).append(p.customer_id)
        if not by_merchant:
            return {}
        if tx is None:
            with self._db.transaction(write=False) as own:
                return self.emails(payments, tx=own)
        if len(by_merchant) > 1:
            raise ValueError("a merchant's view holds the payments of one merchant")
        ((merchant_id, customers),) = by_merchant.items()
        return sharing.shared_emails(tx, merchant_id, customers, self._keys)

    def webhook_data(self, merchant_id: str, object_id: str, data: Mapping[str, Any]) -> dict[str, Any]:
        """An event's ``data`` as it may reach the merchant now (a webhook as it is delivered, an event read from the
        API): a payment's customer as its pseudonym, with the email only if the customer shares it at this moment.
        Events written before pseudonyms carried the customer's own id: it is replaced here too."""
        if data.get("object") != "payment" or data.get("customer_id") is None:
            return dict(data)
        with self._db.transaction(write=False) as tx:
            row = tx.fetchone(
                "SELECT customer_id FROM payments WHERE id = :payment AND merchant_id = :merchant",
                {"payment": object_id, "merchant": merchant_id},
            )
            if row is None or row[0] is None:
                return {**data, "customer_id": None, "customer_email": None}
            customer_id = str(row[0])
            email = sharing.shared_emails(tx, merchant_id, [customer_id], self._keys).get(customer_id)
        return {**data, "customer_id": self.pseudonyms.of(merchant_id, customer_id), "customer_email": email}
