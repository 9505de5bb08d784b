"""Payments, the one door the interfaces and the worker use: creating and reading payments here, each other use case
delegated to the module that owns it, so that each path can be read (and kept under review) on its own.

- ``payments.confirm``: the customer pays by purse or card, up to the authorisation and the automatic capture.
- ``payments.recovery``: the worker's sweep finishes payments a crash left half-way (``resume_stalled``).
- ``payments.capture``: capture, cancel and the expiry of old authorisations.

Refunds are a service of their own (``payments.refunds``).

They share ``payments.book.PaymentBook`` for loading and recording (every state change under the payment's row lock,
with the event that announces it), so each stays exact when requests race or a process dies half-way; the modules'
own docstrings say how.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime, timedelta

from kleline.banks import BankNetwork
from kleline.clock import epoch_us
from kleline.db.engine import RawTx, Read
from kleline.errors import ValidationError
from kleline.ids import new_id
from kleline.ledger import Ledger
from kleline.merchants.model import Merchant
from kleline.merchants.service import Merchants
from kleline.money import Money
from kleline.payments import store
from kleline.payments.activity import ActivityCursor, ActivityPage, customer_activity, customer_activity_read
from kleline.payments.book import PaymentBook
from kleline.payments.capture import Captures, OwnAccounts
from kleline.payments.checks import check_request
from kleline.payments.confirm import Confirmations
from kleline.payments.model import Payment, PaymentRequest
from kleline.payments.purchases import Purchase, customer_purchase
from kleline.payments.purse_history import PurseMovement, purse_movements
from kleline.payments.recovery import Recovery
from kleline.payments.search import MAX_PAGE, ListingPage, PageCursor, PaymentPage, PaymentSearch, text_terms
from kleline.payments.search_store import listing_page, search_page, search_payments
from kleline.receipts.service import Receipts
from kleline.wallet.passkey import PasskeyProof
from kleline.wallet.strong_auth import StrongAuth
from kleline.wallet.top_ups import CardSource

__all__ = ["Payments"]


class Payments:
    """Create, confirm, capture, cancel and expire payments."""

    def __init__(
        self,
        book: PaymentBook,
        ledger: Ledger,
        bank: BankNetwork,
        cards: CardSource,
        strong_auth: StrongAuth,
        merchants: Merchants,
        receipts: Receipts,
        *,
        authorization_ttl: timedelta,
        email_index: Callable[[str], str | None],
    ) -> None:
        self.book = book
        self._db = book.db
        self._clock = book.clock
        self._merchants = merchants
        self._email_index = email_index
        self._ledger = ledger
        # One OwnAccounts shared by confirmation and capture, so that each own account is looked up once.
        self._accounts = OwnAccounts(ledger)
        self._captures = Captures(book, ledger, bank, merchants, receipts, self._accounts)
        self._confirmations = Confirmations(
            book,
            ledger,
            bank,
            cards,
            strong_auth,
            merchants,
            receipts,
            self._accounts,
            self._captures,
            authorization_ttl=authorization_ttl,
        )
        self._recovery = Recovery(book, cards, self._confirmations)

    # --- creation and reading ---------------------------------------------------------------------------------

    def purse_movements(self, customer_id: str, *, limit: int, before: int | None = None) -> list[PurseMovement]:
        """The customer's purse movements, newest first, each naming the merchant it paid or was refunded by."""
        return purse_movements(self._ledger, self._merchants, customer_id, limit=limit, before=before)

    def activity(
        self,
        customer_id: str,
        *,
        limit: int,
        after: ActivityCursor | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> ActivityPage:
        """The customer's purse movements and card payments, newest first (see ``payments.activity``)."""
        return customer_activity(
            self._db,
            self._ledger,
            customer_id,
            limit=limit,
            after=after,
            since=since,
            until=until,
        )

    def activity_read(
        self,
        customer_id: str,
        *,
        limit: int,
        after: ActivityCursor | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> Read[ActivityPage]:
        """``activity`` as a read, which a page sends with its other reads in one round trip (``RawTx.read_all``)."""
        return customer_activity_read(
            self._db.is_postgres,
            self._ledger,
            customer_id,
            limit=limit,
            after=after,
            since=since,
            until=until,
        )

    def purchase(self, customer_id: str, payment_id: str) -> Purchase | None:
        """The customer's payment as their receipts show it: what was bought, and its refunds (None if it is not
        theirs; see ``payments.purchases``)."""
        return customer_purchase(self._db, customer_id, payment_id)

    def create(
        self, merchant_id: str, request: PaymentRequest, *, tx: RawTx | None = None, merchant: Merchant | None = None
    ) -> Payment:
        """A new payment waiting for its customer, with the merchant's commission rate frozen in it.

        With ``tx``, written in the caller's transaction; ``merchant`` is the active merchant the caller read in it
        (``Merchants.authenticate_active``), otherwise it is read here."""
        if merchant is None or merchant.id != merchant_id or not merchant.is_active:
            merchant = self._merchants.require_active(merchant_id, tx=tx)
        check_request(request)
        payment = Payment(
            id=new_id("pay"),
            merchant_id=merchant_id,
            customer_id=None,
            amount=request.amount,
            status="requires_confirmation",
            method=None,
            amount_authorized=0,
            amount_captured=0,
            amount_refunded=0,
            fee_bps=merchant.fee_bps,
            description=request.description,
            reference=request.reference,
            capture_method=request.capture_method,
            return_url=request.return_url,
            failure_code=None,
            created_at=self._clock(),
            checkout_url="",
        )
        payment = payment.with_status(payment.status, checkout_url=self.book.checkout_url(payment.id))
        if tx is not None:
            store.insert_payment(tx, payment)
            return payment
        with self._db.transaction() as own:
            store.insert_payment(own, payment)
        return payment

    def get(self, payment_id: str) -> Payment:
        """A payment, whoever asks (callers check who may see it)."""
        return self.book.get(payment_id)

    def merchants_paid(self, customer_id: str) -> builtins.list[str]:
        """The merchants the customer confirmed a payment to (ids, in a stable order): those the customer may choose
        to share their email with, in the wallet."""
        with self._db.transaction(write=False) as tx:
            return store.merchants_paid_by(tx, customer_id)

    def list(
        self,
        *,
        merchant_id: str | None = None,
        customer_id: str | None = None,
        limit: int = 20,
        after: str | None = None,
    ) -> tuple[builtins.list[Payment], bool]:
        """A page of payments, newest first, and whether more follow."""
        with self._db.transaction(write=False) as tx:
            found = store.list_payments(
                tx,
                self.book.checkout_base,
                merchant_id=merchant_id,
                customer_id=customer_id,
                limit=limit + 1,
                after=after,
            )
        return found[:limit], len(found) > limit

    def search(
        self, merchant_id: str, search: PaymentSearch, *, limit: int = 20, cursor: PageCursor | None = None
    ) -> PaymentPage:
        """A page of the merchant's own payments that ``search`` matches, newest first, with the cursors of the
        pages after and before it (see ``payments.search``); ``limit`` is 1 to ``MAX_PAGE``."""
        if not 1 <= limit <= MAX_PAGE:
            raise ValidationError(f"limit: from 1 to {MAX_PAGE}", param="limit")
        search = self._indexed(search)
        with self._db.transaction(write=False) as tx:
            return search_page(tx, self.book.checkout_base, merchant_id, search, limit=limit, cursor=cursor)

    def listing(
        self, merchant_id: str, search: PaymentSearch, *, limit: int = 20, cursor: PageCursor | None = None
    ) -> ListingPage:
        """The page ``search`` gives, each payment as a list shows it (``PaymentListing``: a few columns, not the
        whole payment), for a list that shows no more (the dashboard's)."""
        if not 1 <= limit <= MAX_PAGE:
            raise ValidationError(f"limit: from 1 to {MAX_PAGE}", param="limit")
        search = self._indexed(search)
        with self._db.transaction(write=False) as tx:
            return listing_page(tx, merchant_id, search, limit=limit, cursor=cursor)

    def search_all(self, merchant_id: str, search: PaymentSearch, *, chunk: int = 500) -> Iterator[Payment]:
        """Every payment of the merchant's that ``search`` matches, newest first (an export), read ``chunk`` at a
        time by their keys, each chunk in a read transaction of its own: the payments are never all in memory, and
        no connection waits on a slow reader. Payments created after the first chunk was read are not included; a
        payment's state is the one its chunk read."""
        search = self._indexed(search)
        key: tuple[int, str] | None = None
        while True:
            with self._db.transaction(write=False) as tx:
                found = search_payments(tx, self.book.checkout_base, merchant_id, search, limit=chunk, key=key)
            yield from found
            if len(found) < chunk:
                return
            key = (epoch_us(found[-1].created_at), found[-1].id)

    def _indexed(self, search: PaymentSearch) -> PaymentSearch:
        """``search`` with the blind index of the email its text may be (customers' emails are sealed)."""
        email = None if search.text is None else text_terms(search.text).email
        return search if email is None else replace(search, email_index=self._email_index(email))

    def pending_balance(self, merchant_id: str) -> int:
        """What the merchant's authorised, not yet captured, payments add up to."""
        with self._db.transaction(write=False) as tx:
            return tx.read(self.pending_balance_read(merchant_id))

    def pending_balance_read(self, merchant_id: str) -> Read[int]:
        """``pending_balance`` as a read that may travel with others in one round trip (``RawTx.read_all``)."""
        return store.authorized_total(merchant_id)

    # --- confirmation (payments.confirm) ------------------------------------------------------------------------

    def confirm(
        self,
        payment_id: str,
        customer_id: str,
        method: str,
        card_id: str | None = None,
        sca_code: str | None = None,
        passkey: PasskeyProof | None = None,
    ) -> Payment:
        """The customer pays: strong authentication when due (a code, or a passkey's response), then a purse hold
        or a card authorisation, then the capture when the payment captures automatically."""
        return self._confirmations.confirm(payment_id, customer_id, method, card_id, sca_code, passkey)

    def confirm_from_purse_in(self, tx: RawTx, payment_id: str, customer_id: str) -> Payment | None:
        """A purse confirmation (no ``sca_code``) in the caller's transaction, or None when it cannot finish in one:
        a challenge is due, or the purse cannot cover it. The caller must then roll its transaction back and call
        ``confirm``, which takes the multi-transaction way (and records the failure or issues the challenge)."""
        return self._confirmations.confirm_from_purse_in(tx, payment_id, customer_id)

    # --- recovery (payments.recovery) -------------------------------------------------------------------------

    def resume_stalled(self, older_than: timedelta, limit: int = 100) -> builtins.list[str]:
        """The sweep: finish payments a crash left half-way (claimed, or authorised for an automatic capture that
        never ran), as the interrupted request would have; their ids."""
        return self._recovery.resume_stalled(older_than, limit)

    def resume(self, payment_id: str) -> Payment:
        """Carry one stalled payment on: authorise it, then capture it when it captures automatically."""
        return self._recovery.resume(payment_id)

    # --- capture, cancel, expiry (payments.capture) ------------------------------------------------------------

    def capture(self, merchant_id: str, payment_id: str, amount: Money | None = None) -> Payment:
        """Take ``amount`` (all that was authorised by default) and book it with the commission split; whatever
        was authorised and not taken is released."""
        # The merchant's own capture only: an automatic capture finishes a confirmation admitted before any
        # suspension (``Captures.capture`` directly, from the confirmation or the stalled-payments sweep).
        self._merchants.require_active(merchant_id, "capture payments")
        return self._captures.capture(merchant_id, payment_id, amount)

    def cancel(self, merchant_id: str, payment_id: str) -> Payment:
        """Give up a payment before capture: nothing was taken, an authorisation is released."""
        return self._captures.cancel(merchant_id, payment_id)

    def expire_authorizations(self, limit: int = 100) -> builtins.list[str]:
        """The sweep: release every authorisation older than its lifetime and tell the merchant; the ids."""
        return self._captures.expire_authorizations(limit)
