"""What Kleline's staff see of one customer or one merchant when they look them up (the console's pages and the
operators' API): each read from the service that owns it, nothing copied.

A customer: who they are and their verification level, their purse (posted, held, available), their live cards as
a wallet shows them (first six and last four digits, never more), whether an authenticator app guards their
payments, and their latest payments. A merchant: its profile, its balance at Kleline (posted, held, available) and
what its authorised payments would add (pending), its latest payments, and its people with their roles and
whether each has a second factor.

The searches themselves belong to the wallet (``Customers.search``) and the merchants (``Merchants.search``).
"""

from __future__ import annotations

from dataclasses import dataclass

from kleline.db.engine import Database
from kleline.errors import NotFound
from kleline.ledger import Balance, Ledger, UnknownAccount
from kleline.merchant_users import store as merchant_user_store
from kleline.merchant_users.model import MerchantUser
from kleline.merchants.model import Merchant, balance_account
from kleline.merchants.service import Merchants
from kleline.payments.model import Payment
from kleline.payments.service import Payments
from kleline.wallet.customers import Customers, purse_code
from kleline.wallet.model import Card, Customer
from kleline.wallet.registered_cards import RegisteredCards
from kleline.wallet.strong_auth import EnrolmentState, StrongAuth

__all__ = ["LATEST", "CustomerSummary", "Lookup", "MerchantSummary"]

LATEST = 10
"""How many of the latest payments a summary shows."""


@dataclass(frozen=True, slots=True)
class CustomerSummary:
    """A customer's wallet as staff see it; ``purse`` is None if it was never opened, ``authenticator`` is
    ``none``, ``pending`` or ``confirmed``; ``merchant_names`` names the merchants of ``payments``."""

    customer: Customer
    purse: Balance | None
    cards: tuple[Card, ...]
    authenticator: EnrolmentState
    payments: tuple[Payment, ...]
    more_payments: bool
    merchant_names: dict[str, str]


@dataclass(frozen=True, slots=True)
class MerchantSummary:
    """A merchant as staff see it; ``balance`` is None before its approval opened the account."""

    merchant: Merchant
    balance: Balance | None
    pending: int
    payments: tuple[Payment, ...]
    more_payments: bool
    users: tuple[MerchantUser, ...]


class Lookup:
    """One customer's or one merchant's summary for Kleline's staff."""

    def __init__(
        self,
        db: Database,
        ledger: Ledger,
        customers: Customers,
        cards: RegisteredCards,
        strong_auth: StrongAuth,
        merchants: Merchants,
        payments: Payments,
    ) -> None:
        self._db = db
        self._ledger = ledger
        self._customers = customers
        self._cards = cards
        self._strong_auth = strong_auth
        self._merchants = merchants
        self._payments = payments

    def customer(self, customer_id: str) -> CustomerSummary:
        """The customer's summary; ``NotFound`` for an unknown id."""
        customer = self._customers.find(customer_id)
        if customer is None:
            raise NotFound(f"no customer {customer_id}")
        payments, more = self._payments.list(customer_id=customer_id, limit=LATEST)
        names = {}
        for merchant_id in sorted({payment.merchant_id for payment in payments}):
            names[merchant_id] = self._merchants.get(merchant_id).name
        return CustomerSummary(
            customer=customer,
            purse=self._balance(purse_code(customer_id)),
            cards=tuple(self._cards.list(customer_id)),
            authenticator=self._strong_auth.enrolment(customer_id),
            payments=tuple(payments),
            more_payments=more,
            merchant_names=names,
        )

    def merchant(self, merchant_id: str) -> MerchantSummary:
        """The merchant's summary; ``UnknownMerchant`` (404) for an unknown id."""
        merchant = self._merchants.get(merchant_id)
        payments, more = self._payments.list(merchant_id=merchant_id, limit=LATEST)
        with self._db.transaction(write=False) as tx:
            users = merchant_user_store.list_users(tx, merchant_id)
        return MerchantSummary(
            merchant=merchant,
            balance=self._balance(balance_account(merchant_id)),
            pending=self._payments.pending_balance(merchant_id),
            payments=tuple(payments),
            more_payments=more,
            users=tuple(users),
        )

    def _balance(self, code: str) -> Balance | None:
        try:
            return self._ledger.balance(code)
        except UnknownAccount:
            return None
