"""Clearing what a customer owes after a returned direct debit: repaid from the purse, or written off.

A return the purse could not cover leaves ``customer:<id>:receivable`` Dr (``Collections.confirm_returned_in``), and
while it is owed the customer gets no new direct debit. A payment institution clears it in one of two ways:

- *repayment*: customer purse Dr / receivable Cr, what the purse has available, up to the debt (or the amount
  asked, never more than either);
- *write-off*: ``kleline:bad-debt`` Dr / receivable Cr, Kleline's loss on the debt it gives up collecting, proposed
  by one operator and approved by a second (four eyes, ``kleline.proposals``: ``plan_write_off_in`` when proposed,
  ``write_off_in`` in the approval's transaction, refused with ``DebtChanged`` if the debt is no longer the one the
  proposal was made on).

Each is one balanced entry, posted under the customer's row lock: the lock a return takes before it books a debt and
a direct-debit top-up before it checks for one. The debt read under that lock is the debt the entry clears, so two
clearings at once cannot both clear the whole of it (the receivable, an asset, has no floor to stop them), and the
purse read is what the purse has (its floor would refuse an overdraft anyway). A refusal writes nothing.

An operator's clearing (a write-off, or a repayment it takes) names the ``StaffActor``: its role must manage
receivables, and the act is recorded in the staff audit trail in the transaction that posts the entry. A customer
repaying its own debt is no staff act.

Entry ids are fresh (``ent_...``): retrying a request safely is the API's ``Idempotency-Key``, which replays the first
answer instead of running it again.
"""

from __future__ import annotations

from typing import Final, Literal

from kleline.collections.errors import AmountExceedsDebt, DebtChanged, NothingOwed, PurseEmpty
from kleline.collections.model import BAD_DEBT_ACCOUNT, ReceivableSettlement, receivable_code
from kleline.db.engine import Database, RawTx, Read
from kleline.errors import NotFound, ValidationError
from kleline.ids import new_id
from kleline.ledger import EntryRequest, InsufficientFunds, Ledger, NormalSide, UnknownAccount, credit, debit
from kleline.ledger.model import Metadata
from kleline.money import Money
from kleline.staff import audit
from kleline.staff.actor import StaffActor
from kleline.staff.roles import Power
from kleline.wallet import sca_store
from kleline.wallet.customers import PURSE_CURRENCY, purse_code

__all__ = ["Debts", "check_debt_currency"]

_REPAY_ATTEMPTS = 3
_DESCRIPTIONS: Final = {"repayment": "debt repaid from the purse", "write_off": "debt written off"}


class Debts:
    """What customers owe after returned direct debits: how much, and clearing it."""

    def __init__(self, db: Database, ledger: Ledger) -> None:
        self._db = db
        self._ledger = ledger

    def owed(self, customer_id: str) -> Money:
        """What the customer owes since a direct debit came back unpaid (zero when nothing is)."""
        return Money(max(self._owed(customer_id), 0), PURSE_CURRENCY)

    def owed_read(self, customer_id: str) -> Read[Money]:
        """``owed`` as a read of one row, for a page that shows it with other figures in one statement; the
        receivable is read by its code there when this process has not met it yet (most customers never owe)."""
        posted = self._ledger.posted_read(receivable_code(customer_id))
        return Read(
            posted.sql, posted.params, lambda rows: Money(max(posted.decode(rows), 0), PURSE_CURRENCY), posted.width
        )

    def repay(
        self, customer_id: str, amount: Money | None = None, *, actor: StaffActor | None = None
    ) -> ReceivableSettlement:
        """Move ``amount`` (by default as much as the purse has available, up to the debt) from the purse to the
        receivable; ``PurseEmpty`` when the purse has nothing available, ``InsufficientFunds`` when it has less
        than the ``amount`` asked. ``actor``: the operator who takes it (recorded), None for the customer."""
        if actor is not None:
            actor.require(Power.MANAGE_RECEIVABLES)
        _check(amount)
        for attempt in range(_REPAY_ATTEMPTS):
            try:
                with self._db.transaction() as tx:
                    owed = self._lock(tx, customer_id)
                    available = self._ledger.balance(purse_code(customer_id)).available
                    if available <= 0:
                        raise PurseEmpty(
                            "the purse has nothing available to repay the debt with: top it up by card, or have an "
                            "operator write the debt off",
                            param="customer_id",
                        )
                    take = _within(amount, owed, default=min(available, owed))
                    if take > available:
                        raise InsufficientFunds(
                            f"the purse has {Money(available, PURSE_CURRENCY)} available, less than the "
                            f"{Money(take, PURSE_CURRENCY)} asked",
                            account=purse_code(customer_id),
                        )
                    return self._clear(tx, customer_id, "repayment", purse_code(customer_id), take, owed, actor)
            except InsufficientFunds:
                # Only a purse spent by a writer that skips the customer's lock gets here (the floor refused the
                # entry): read again and take what is left, unless a given amount was asked for.
                if amount is not None or attempt == _REPAY_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable: the last attempt returns or raises")

    def prepare_write_off(self, customer_id: str) -> None:
        """Open ``kleline:bad-debt`` if the customer owes something and the database predates the account: before
        the transaction that writes the debt off (an account opens in a transaction of its own, which must not wait
        on the caller's). A customer who owes nothing leaves no trace, not even an account."""
        if self._owed(customer_id) > 0:  # the customer's lock decides, in the write-off's transaction
            self._open_loss_account()

    def plan_write_off_in(self, tx: RawTx, customer_id: str, amount: Money | None = None) -> tuple[Money, Money]:
        """What writing ``amount`` (by default the whole debt) off would clear now, and the debt it would clear it
        from, read under the customer's lock in the caller's transaction: the checks of a write-off (``NotFound``,
        ``NothingOwed``, ``AmountExceedsDebt``), without writing it."""
        _check(amount)
        debt = self._lock(tx, customer_id)
        return Money(_within(amount, debt, default=debt), PURSE_CURRENCY), Money(debt, PURSE_CURRENCY)

    def write_off_in(
        self,
        tx: RawTx,
        customer_id: str,
        amount: Money | None = None,
        *,
        owed: int | None = None,
        metadata: Metadata | None = None,
    ) -> ReceivableSettlement:
        """Write ``amount`` (by default the whole debt) off in the caller's transaction, under the customer's lock
        (``prepare_write_off`` first); with ``owed``, only if the debt is still exactly that many cents
        (``DebtChanged`` otherwise: the write-off was decided on that debt). ``metadata`` goes with the entry."""
        _check(amount)
        debt = self._lock(tx, customer_id)
        if owed is not None and debt != owed:
            raise DebtChanged(
                f"the customer owed {Money(owed, PURSE_CURRENCY)} when the write-off was proposed and owes "
                f"{Money(debt, PURSE_CURRENCY)} now",
                param="amount",
            )
        take = _within(amount, debt, default=debt)
        return self._clear(tx, customer_id, "write_off", BAD_DEBT_ACCOUNT, take, debt, None, metadata)

    def write_off(self, customer_id: str, amount: Money | None = None, *, actor: StaffActor) -> ReceivableSettlement:
        """Move ``amount`` (by default the whole debt) from the receivable to Kleline's loss account by one operator
        alone; the operator (``actor``, whose role must manage receivables) is named in the entry and recorded. The
        interfaces do not call this: a write-off is a proposal that a second operator approves
        (``kleline.proposals``), which applies it with ``write_off_in``."""
        actor.require(Power.MANAGE_RECEIVABLES)
        _check(amount)
        if self._owed(customer_id) > 0:  # a refusal leaves no trace, not even an account; the lock decides below
            self._open_loss_account()
        with self._db.transaction() as tx:
            owed = self._lock(tx, customer_id)
            take = _within(amount, owed, default=owed)
            return self._clear(tx, customer_id, "write_off", BAD_DEBT_ACCOUNT, take, owed, actor)

    def _lock(self, tx: RawTx, customer_id: str) -> int:
        """Lock the customer's row and read the debt; ``NotFound`` for no customer, ``NothingOwed`` for no debt."""
        if sca_store.lock_customer(tx, customer_id, PURSE_CURRENCY) is None:
            raise NotFound("no such customer", param="customer_id")
        owed = self._owed(customer_id)
        if owed <= 0:
            raise NothingOwed("this customer owes nothing: there is no debt to clear", param="customer_id")
        return owed

    def _clear(
        self,
        tx: RawTx,
        customer_id: str,
        kind: Literal["repayment", "write_off"],
        source: str,
        take: int,
        owed: int,
        actor: StaffActor | None,
        metadata: Metadata | None = None,
    ) -> ReceivableSettlement:
        amount = Money(take, PURSE_CURRENCY)
        outstanding = Money(owed - take, PURSE_CURRENCY)
        described: dict[str, str | int] = {"customer": customer_id, "kind": kind, "outstanding": outstanding.minor}
        if actor is not None:
            described["operator"] = actor.label
        entry = self._ledger.post_in(
            tx,
            EntryRequest(
                new_id("ent"),
                (debit(source, amount), credit(receivable_code(customer_id), amount)),
                _DESCRIPTIONS[kind],
                {**described, **(metadata or {})},
            ),
        )
        if actor is not None:
            audit.record(
                tx,
                actor,
                "receivable_written_off" if kind == "write_off" else "receivable_repaid",
                "customer",
                customer_id,
                at=entry.posted_at,
                before={"owed": owed, "currency": PURSE_CURRENCY},
                after={"owed": outstanding.minor, "currency": PURSE_CURRENCY, "entry_id": entry.id},
            )
        return ReceivableSettlement(entry.id, customer_id, kind, amount, outstanding, entry.posted_at)

    def _owed(self, customer_id: str) -> int:
        try:
            return self._ledger.balance(receivable_code(customer_id)).posted
        except UnknownAccount:
            return 0  # opened with the first bank account: without one, nothing was ever owed

    def _open_loss_account(self) -> None:
        """Open ``kleline:bad-debt`` if a database predates it, before the transaction that posts to it (an account
        opens in a transaction of its own, which must not wait on ours)."""
        try:
            self._ledger.account(BAD_DEBT_ACCOUNT)
        except UnknownAccount:
            self._ledger.open_account(BAD_DEBT_ACCOUNT, PURSE_CURRENCY, NormalSide.DEBIT)


def check_debt_currency(currency: str) -> None:
    """Refuse a currency other than the one debts are owed in (a clearing without an amount names one too)."""
    if currency != PURSE_CURRENCY:
        raise ValidationError(f"debts are owed in {PURSE_CURRENCY}, not {currency}", param="currency")


def _check(amount: Money | None) -> None:
    if amount is None:
        return
    check_debt_currency(amount.currency)
    if amount.minor <= 0:
        raise ValidationError("amount must be a positive number of cents", param="amount")


def _within(amount: Money | None, owed: int, *, default: int) -> int:
    """The minor units to clear: ``amount`` if given (``AmountExceedsDebt`` above the debt), else ``default``."""
    if amount is None:
        return default
    if amount.minor > owed:
        raise AmountExceedsDebt(
            f"{amount} is more than the {Money(owed, PURSE_CURRENCY)} the customer owes", param="amount"
        )
    return amount.minor
