"""Export (GDPR Art. 15 and 20): everything Kleline holds about a customer, as one JSON document.

Profile, purse balance and every movement, cards (first six and last four digits, never the number), bank accounts
(IBAN masked), top-ups, payments with the merchant's name, consents (current state and every grant and withdrawal),
offers received and the answers given, sign-ins. Amounts in minor units, times in RFC 3339 UTC, as the API writes
them. An erased customer's data is restricted: its export is refused (``ExportRefused``).

    KlelineError
     └── Conflict ── ExportRefused      the customer asked for erasure: the data is kept for legal obligations only
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from kleline.clock import Clock, from_epoch_us
from kleline.collections.model import mask_iban
from kleline.customer_rights import store
from kleline.db.engine import Database
from kleline.errors import Conflict, NotFound
from kleline.payments.service import Payments
from kleline.privacy import consent_store
from kleline.wallet import card_store
from kleline.wallet import store as wallet_store
from kleline.wallet.customers import Customers, purse_code

__all__ = ["FORMAT", "CustomerExport", "ExportRefused"]

FORMAT: Final = "kleline-customer-export-v1"
_MOVEMENTS_PAGE: Final = 500
_TIMES: Final = frozenset(
    {
        "created_at",
        "deleted_at",
        "mandate_signed_at",
        "at",
        "valid_from",
        "valid_until",
        "delivered_at",
        "read_at",
        "answered_at",
    }
)


class ExportRefused(Conflict):
    """The customer asked for erasure: the data is restricted and no longer exported."""

    code = "export_refused"


def _when(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _times(row: dict[str, Any]) -> dict[str, Any]:
    """A row with its epoch-microsecond times written as RFC 3339."""
    return {
        key: _when(from_epoch_us(int(value))) if key in _TIMES and value is not None else value
        for key, value in row.items()
    }


class CustomerExport:
    """Gather a customer's data for them to download."""

    def __init__(self, db: Database, customers: Customers, payments: Payments, *, clock: Clock) -> None:
        self._db = db
        self._customers = customers
        self._payments = payments
        self._clock = clock

    def export(self, customer_id: str) -> dict[str, Any]:
        """The customer's data as a JSON-ready dict; ``ExportRefused`` once they asked for erasure."""
        with self._db.transaction(write=False, snapshot=True) as tx:
            row = wallet_store.find_customer(tx, customer_id, self._customers.keys)
            if row is None:
                raise NotFound(f"no customer {customer_id}")
            customer = row.customer
            if customer.erased_at is not None:
                raise ExportRefused("this wallet was closed and its data is restricted: it can no longer be exported")
            posted, held = store.purse_balance(tx, purse_code(customer_id))
            cards = [
                {
                    "id": card.id,
                    "brand": card.brand,
                    "first6": card.first6,
                    "last4": card.last4,
                    "exp_month": card.exp_month,
                    "exp_year": card.exp_year,
                    "holder_name": card.holder_name,
                    "created_at": _when(card.created_at),
                }
                for card in reversed(
                    card_store.list_cards(
                        tx, customer_id, self._customers.keys.master_keys, limit=None, after=None, removed=True
                    )
                )
            ]
            accounts = []
            for account in store.bank_accounts(tx, customer_id):
                account["iban"] = mask_iban(account["iban"])
                accounts.append(_times(account))
            top_ups = [_times(top_up) for top_up in store.top_ups(tx, customer_id)]
            payments = [_times(payment) for payment in store.payments(tx, customer_id)]
            offers = [_times(offer) for offer in store.offers(tx, customer_id)]
            sign_ins = [_times(sign_in) for sign_in in store.sign_ins(tx, customer_id)]
            states = consent_store.states_of(tx, customer_id)
            history = consent_store.events_of(tx, customer_id)
        return {
            "format": FORMAT,
            "exported_at": _when(self._clock()),
            "controller": "Kleline",
            "customer": {
                "id": customer.id,
                "email": customer.email,
                "name": customer.name,
                "kyc_level": customer.kyc_level,
                "created_at": _when(customer.created_at),
            },
            "purse": {"currency": "EUR", "balance": posted, "held": held, "available": posted - held},
            "movements": self._movements(customer_id),
            "cards": cards,
            "bank_accounts": accounts,
            "top_ups": top_ups,
            "payments": payments,
            "consents": {
                "current": [
                    {
                        "purpose": state.purpose,
                        "scope": state.scope,
                        "granted": state.granted,
                        "text_version": state.text_version,
                        "since": _when(state.changed_at),
                    }
                    for state in states
                ],
                "history": [
                    {
                        "id": event.id,
                        "purpose": event.purpose,
                        "scope": event.scope,
                        "action": event.action,
                        "text_version": event.text_version,
                        "channel": event.channel,
                        "at": _when(event.at),
                    }
                    for event in history
                ],
            },
            "offers": offers,
            "sign_ins": sign_ins,
        }

    def _movements(self, customer_id: str) -> list[dict[str, Any]]:
        """Every movement of the purse, newest first, page after page."""
        found: list[dict[str, Any]] = []
        before: int | None = None
        while True:
            page = self._payments.purse_movements(customer_id, limit=_MOVEMENTS_PAGE, before=before)
            for movement in page:
                found.append(
                    {
                        "entry_id": movement.line.entry_id,
                        "posted_at": _when(movement.line.posted_at),
                        "amount": movement.line.amount,
                        "balance_after": movement.line.balance_after,
                        "description": movement.line.description,
                        "merchant_id": movement.merchant_id,
                        "merchant_name": movement.merchant_name,
                        "payment_id": movement.payment_id,
                        "refund_id": movement.refund_id,
                    }
                )
            if len(page) < _MOVEMENTS_PAGE:
                return found
            before = page[-1].line.sequence
