"""The consent ledger (GDPR Art. 6-7): grants and withdrawals per customer, purpose and scope, append-only.

Withdrawing is as easy as granting and takes effect at once: both append one event and move the current state in
the same transaction, and every use of a consent (a merchant's view of a payment, an audience, an offer) reads the
current state when it happens, never a copy. A grant that repeats the standing word (same text version) or a
withdrawal of what was never granted appends nothing: a retried click is applied once.
"""

from __future__ import annotations

from datetime import timedelta

from kleline.clock import Clock, epoch_us
from kleline.db.engine import Database, RawTx
from kleline.ids import new_id
from kleline.merchants import mall_store
from kleline.merchants import store as merchant_store
from kleline.merchants.model import CATEGORIES
from kleline.privacy import consent_store
from kleline.privacy.consent_texts import text_version
from kleline.privacy.model import CHANNELS, ConsentEvent, ConsentState, InvalidConsent, check_scope

__all__ = ["Consents"]


class Consents:
    """Grant, withdraw and read a customer's consents."""

    def __init__(self, db: Database, *, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    def grant(
        self, customer_id: str, purpose: str, scope: str = "", *, channel: str, language: str = "en"
    ) -> ConsentState:
        """Record the customer's yes to ``purpose`` over ``scope``, under the text shown in ``language``."""
        with self._db.transaction() as tx:
            return self.grant_in(tx, customer_id, purpose, scope, channel=channel, language=language)

    def withdraw(
        self, customer_id: str, purpose: str, scope: str = "", *, channel: str, language: str = "en"
    ) -> ConsentState:
        """Record the customer's no: it holds from now on, everywhere."""
        with self._db.transaction() as tx:
            return self.withdraw_in(tx, customer_id, purpose, scope, channel=channel, language=language)

    def grant_in(
        self, tx: RawTx, customer_id: str, purpose: str, scope: str, *, channel: str, language: str
    ) -> ConsentState:
        """``grant`` inside the caller's transaction (a checkout's confirmation, an answer to an offer)."""
        return self._record(tx, customer_id, purpose, scope, "grant", channel, language)

    def withdraw_in(
        self, tx: RawTx, customer_id: str, purpose: str, scope: str, *, channel: str, language: str
    ) -> ConsentState:
        """``withdraw`` inside the caller's transaction."""
        return self._record(tx, customer_id, purpose, scope, "withdraw", channel, language)

    def states(self, customer_id: str) -> list[ConsentState]:
        """Every (purpose, scope) the customer answered, with its current word."""
        with self._db.transaction(write=False) as tx:
            return consent_store.states_of(tx, customer_id)

    def overview(self, customer_id: str) -> tuple[list[ConsentState], list[ConsentEvent]]:
        """``states`` and ``history`` read together, in one transaction."""
        with self._db.transaction(write=False) as tx:
            return consent_store.states_of(tx, customer_id), consent_store.events_of(tx, customer_id)

    def is_live(self, customer_id: str, purpose: str, scope: str = "") -> bool:
        """Whether the customer's consent to ``purpose`` over ``scope`` stands now."""
        with self._db.transaction(write=False) as tx:
            return consent_store.is_live(tx, customer_id, purpose, scope)

    def history(self, customer_id: str) -> list[ConsentEvent]:
        """Every grant and withdrawal the customer made, oldest first."""
        with self._db.transaction(write=False) as tx:
            return consent_store.events_of(tx, customer_id)

    def _record(
        self, tx: RawTx, customer_id: str, purpose: str, scope: str, action: str, channel: str, language: str
    ) -> ConsentState:
        _check_exists(tx, *check_scope(purpose, scope))
        if channel not in CHANNELS:
            raise InvalidConsent(f"channel: one of {', '.join(CHANNELS)}", param="channel")
        version = text_version(purpose, language)
        now = self._clock()
        current = consent_store.state_of(tx, customer_id, purpose, scope, for_update=True)
        granting = action == "grant"
        unchanged = (
            current is not None and current.granted == granting and (not granting or current.text_version == version)
        )
        if unchanged or (current is None and not granting):
            return current or ConsentState(customer_id, purpose, scope, False, version, now)
        latest = consent_store.latest_change(tx, customer_id)
        if latest is not None and now <= latest:
            # The customer's words keep their order in the history (ordered by time) even when the clock does not
            # move between them (two clicks in one microsecond, a test's frozen clock): each is a microsecond later.
            now = latest + timedelta(microseconds=1)
        event = ConsentEvent(new_id("cns"), customer_id, purpose, scope, action, version, channel, now)
        consent_store.append_event(tx, event, epoch_us(now))
        return ConsentState(customer_id, purpose, scope, granting, version, now)


def _check_exists(tx: RawTx, kind: str, value: str) -> None:
    """A consent names a mall, category or merchant that exists (a typo would otherwise consent to nothing)."""
    if kind == "mall" and mall_store.find_mall(tx, value) is None:
        raise InvalidConsent(f"scope: no mall {value}", param="scope")
    if kind == "category" and value not in CATEGORIES:
        raise InvalidConsent(f"scope: no category {value}", param="scope")
    if kind == "merchant" and merchant_store.find_merchant(tx, value) is None:
        raise InvalidConsent(f"scope: no merchant {value}", param="scope")
