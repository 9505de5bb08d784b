"""Erasure (GDPR Art. 17), compatible with the books and with anti-money-laundering retention.

Two steps, years apart:

1. **The customer asks** (``Erasure.request``, password checked again). Refused while the purse holds money or a
   payment, top-up or direct debit is under way (the customer must first spend, or wait). Otherwise the relationship
   ends now, in one transaction: ``customers.erased_at`` is set (sign-in then refuses the address as unknown), every
   token and page session ends, cards and bank accounts leave use, and every live consent is withdrawn through the
   consent ledger. From then on the data is *restricted*: kept only for legal obligations (no offers, no audiences,
   no export; merchants see pseudonyms only).
2. **The retention period ends** (``KLELINE_ERASURE_RETENTION_YEARS`` after the relationship ended, 5 by default):
   ``Erasure.shred_due`` (``kleline customers shred``, and the worker's periodic jobs) destroys the customer's data
   key, so that the sealed email and name can never be read again, and wipes what was not sealed under it (card
   holders and their numbers' wrapped keys, bank accounts, sign-in records, passkeys, strong-authentication
   enrolment, search tokens). SQLite runs this with ``PRAGMA secure_delete`` and checkpoints its write-ahead log;
   PostgreSQL vacuums the tables afterwards.

The ledger is never touched: its entries name ``customer:cus_...:purse``, a pseudonymous id that nothing links to a
person any more, so the trial balance and ``kleline ledger verify`` read the same before and after.

    KlelineError
     └── Conflict ── ErasureRefused      money in the purse, or business under way: nothing was changed
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Final

from kleline.clock import Clock, epoch_us
from kleline.customer_rights import store
from kleline.db.engine import Database
from kleline.errors import Conflict
from kleline.privacy import consent_store
from kleline.privacy.consents import Consents
from kleline.wallet import store as wallet_store
from kleline.wallet.customers import Customers, purse_code

__all__ = ["Erasure", "ErasureRefused", "retention_cutoff"]

_log = logging.getLogger(__name__)
_SHRED_BATCH: Final = 100
_SHREDDED_TABLES: Final = (
    "customers",
    "customer_keys",
    "customer_search_tokens",
    "cards",
    "bank_accounts",
    "sign_ins",
    "passkeys",
    "sca_enrolments",
)


class ErasureRefused(Conflict):
    """The wallet cannot be closed yet: its purse holds money, or a payment, top-up or direct debit is under way."""

    code = "erasure_refused"


def retention_cutoff(now: datetime, years: int) -> datetime:
    """The moment ``years`` calendar years before ``now`` (29 February falls back to the 28th)."""
    try:
        return now.replace(year=now.year - years)
    except ValueError:
        return now.replace(year=now.year - years, day=28)


class Erasure:
    """Close and erase a wallet at its holder's request; shred the data of those whose retention has run out."""

    def __init__(
        self, db: Database, customers: Customers, consents: Consents, *, clock: Clock, retention_years: int = 5
    ) -> None:
        self._db = db
        self._customers = customers
        self._consents = consents
        self._clock = clock
        self.retention_years = retention_years

    def request(self, customer_id: str, password: str) -> datetime:
        """End the relationship now and restrict the data (see the module's docstring); when it ended.

        ``WrongPassword`` if ``password`` is not the customer's (it counts toward the lockout); ``ErasureRefused``
        while money or business remains. A second request answers the first one's time."""
        self._customers.check_current_password(customer_id, password)
        now = self._clock()
        with self._db.transaction() as tx:
            if not store.begin_erasure(tx, customer_id, epoch_us(now)):
                row = wallet_store.find_customer(tx, customer_id, self._customers.keys)
                if row is not None and row.customer.erased_at is not None:
                    return row.customer.erased_at
            posted, held = store.purse_balance(tx, purse_code(customer_id))
            if posted or held:
                raise ErasureRefused(
                    "your purse still holds money: spend it or ask us to pay it back to you before closing the wallet"
                )
            under_way = store.open_business(tx, customer_id)
            if under_way:
                raise ErasureRefused(
                    f"a {under_way[0].replace('_', ' ')} is still under way: wait until it is settled, then try again"
                )
            store.end_relationship(tx, customer_id, epoch_us(now))
            for state in consent_store.states_of(tx, customer_id):
                if state.granted:
                    self._consents.withdraw_in(
                        tx, customer_id, state.purpose, state.scope, channel="wallet", language="en"
                    )
        _log.info("customer %s: relationship ended, data restricted until shredding", customer_id)
        return now

    def due(self, *, now: datetime | None = None, limit: int = _SHRED_BATCH) -> list[str]:
        """Customers whose retention period has run out and whose key still exists."""
        cutoff = retention_cutoff(now or self._clock(), self.retention_years)
        with self._db.transaction(write=False) as tx:
            return store.due_for_shredding(tx, epoch_us(cutoff), limit)

    def shred_due(self, *, now: datetime | None = None) -> list[str]:
        """Destroy the key and wipe the data of every customer whose retention period has run out; their ids."""
        now = now or self._clock()
        shredded: list[str] = []
        while batch := self.due(now=now):
            with self._db.transaction() as tx:
                secure = None if tx.is_postgres else int(tx.fetchone("PRAGMA secure_delete")[0])
                if secure is not None:
                    tx.execute("PRAGMA secure_delete = ON")  # freed space is overwritten, not left behind
                for customer_id in batch:
                    store.shred(tx, customer_id, epoch_us(now))
                if secure is not None:
                    tx.execute(f"PRAGMA secure_delete = {secure}")  # as the connection had it (builds differ)
            shredded.extend(batch)
        if shredded:
            self._scrub()
            _log.info("shredded the personal data of %d customer(s)", len(shredded))
        return shredded

    def _scrub(self) -> None:
        """Leave no copy of what was wiped behind the live rows: SQLite's log back into its file and truncated,
        PostgreSQL's dead row versions vacuumed."""
        with self._db.outside_transaction() as tx:
            if tx.is_postgres:
                for table in _SHREDDED_TABLES:
                    tx.execute(f"VACUUM {table}")
            else:
                tx.execute("PRAGMA wal_checkpoint(TRUNCATE)")
