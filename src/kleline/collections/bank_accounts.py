"""Customers' bank accounts and their direct debit mandates: register (IBAN checked, mandate signed), list, remove.

The IBAN goes through the same checks as a merchant's (``merchants.checks.bank_details``: structure, check digits,
national key, SEPA zone), because a collection from a wrong account comes back weeks later as a return. The BIC is
optional: derived from the IBAN when the registry knows the bank, else left out, as SEPA has allowed since 2016
(the debtor's bank is found from the IBAN). The mandate is signed by the registration itself (the customer sends
``mandate_accepted: true``): it gets a unique reference and its signature time, which every collection carries.

The customer's receivable account (what they would owe if a collection came back unpaid) is opened here, so that
a return, booked inside a statement import's transaction, never has to open an account.
"""

from __future__ import annotations

import builtins

from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

from kleline.clock import Clock, epoch_us
from kleline.collections import store
from kleline.collections.errors import (
    BankAccountExists,
    CollectionsPending,
    InvalidBankAccount,
    MandateRequired,
    UnknownBankAccount,
)
from kleline.collections.model import MAX_HOLDER_NAME, BankAccount, new_mandate_id, receivable_code
from kleline.db.engine import INTEGRITY_ERRORS, Database, Read
from kleline.errors import KlelineError
from kleline.ids import new_id
from kleline.ledger import Ledger, NormalSide
from kleline.merchants.checks import bank_details
from kleline.merchants.errors import InvalidBic, InvalidIban
from kleline.wallet.customers import PURSE_CURRENCY

__all__ = ["BankAccounts"]


class BankAccounts:
    """Register, list and remove customers' bank accounts."""

    def __init__(self, db: Database, ledger: Ledger, *, clock: Clock) -> None:
        self._db = db
        self._ledger = ledger
        self._clock = clock

    def register(
        self, customer_id: str, iban: str, holder_name: str, *, bic: str | None = None, mandate_accepted: bool
    ) -> BankAccount:
        """Check the account, sign its mandate and record both; the same live IBAN twice is ``BankAccountExists``."""
        problems = self.problems(iban, holder_name, bic=bic, mandate_accepted=mandate_accepted)
        if problems:
            raise problems[0]
        name = holder_name.strip()
        checked_iban, checked_bic = _bank_details(iban, bic)
        now = self._clock()
        account = BankAccount(new_id("ba"), customer_id, checked_iban, checked_bic, name, new_mandate_id(), now, now)
        try:
            with self._db.transaction() as tx:
                if any(a.iban == checked_iban for a in store.list_bank_accounts(tx, customer_id)):
                    raise BankAccountExists("this bank account is already registered", param="iban")
                store.insert_bank_account(tx, account, epoch_us(now), epoch_us(now))
        except INTEGRITY_ERRORS:
            # A concurrent registration of the same IBAN won the race (the unique index on live accounts).
            raise BankAccountExists("this bank account is already registered", param="iban") from None
        self._ledger.open_account(receivable_code(customer_id), PURSE_CURRENCY, NormalSide.DEBIT)
        return account

    def problems(
        self, iban: str, holder_name: str, *, bic: str | None = None, mandate_accepted: bool
    ) -> builtins.list[KlelineError]:
        """Everything wrong with a registration, all at once (a form shows each next to its field): the mandate not
        accepted, the holder's name, the IBAN or BIC; ``register`` raises the first."""
        found: builtins.list[KlelineError] = []
        if mandate_accepted is not True:
            found.append(
                MandateRequired(
                    "accept the direct debit mandate (mandate_accepted: true) to let Kleline debit this account",
                    param="mandate_accepted",
                )
            )
        if not 1 <= len(holder_name.strip()) <= MAX_HOLDER_NAME:
            found.append(
                InvalidBankAccount(f"holder_name: give 1 to {MAX_HOLDER_NAME} characters", param="holder_name")
            )
        try:
            _bank_details(iban, bic)
        except KlelineError as error:
            found.append(error)
        return found

    def list(self, customer_id: str) -> builtins.list[BankAccount]:
        """The customer's bank accounts, oldest first."""
        with self._db.transaction(write=False) as tx:
            return store.list_bank_accounts(tx, customer_id)

    def list_read(self, customer_id: str) -> Read[builtins.list[BankAccount]]:
        """``list`` as a read that may travel with a page's others in one round trip (``RawTx.read_all``)."""
        return store.bank_accounts_read(customer_id)

    def get(self, customer_id: str, account_id: str) -> BankAccount:
        """One of the customer's bank accounts; another customer's is ``UnknownBankAccount``, as a missing one."""
        with self._db.transaction(write=False) as tx:
            account = store.find_bank_account(tx, customer_id, account_id)
        if account is None:
            raise UnknownBankAccount(f"no bank account {account_id}", param="bank_account_id")
        return account

    def remove(self, customer_id: str, account_id: str) -> None:
        """Remove a bank account, which ends its mandate; refused while collections on it wait for a run (they
        were credited to the purse under that mandate). Collections already sent still settle as usual."""
        with self._db.transaction() as tx:
            if store.find_bank_account(tx, customer_id, account_id, lock=True) is None:
                raise UnknownBankAccount(f"no bank account {account_id}", param="bank_account_id")
            if store.has_pending_collections(tx, account_id):
                raise CollectionsPending(
                    "direct debits on this account are waiting to be collected: remove it once they are sent",
                    param="bank_account_id",
                )
            store.mark_bank_account_deleted(tx, customer_id, account_id, epoch_us(self._clock()))


def _bank_details(iban: str, bic: str | None) -> tuple[str, str | None]:
    """The IBAN (compact) and the BIC given or derived, or None when the registry does not know the bank."""
    try:
        parsed = IBAN(iban)
    except SchwiftyException:
        parsed = None  # bank_details below names what is wrong with it
    if parsed is not None and not parsed.in_sepa_zone:
        raise InvalidIban(
            f"iban: {parsed.country_code} is outside the SEPA zone, and top-ups are SEPA direct debits", param="iban"
        )
    given = bic is not None and bool(bic.strip())
    try:
        details = bank_details(iban, bic)
    except InvalidBic:
        if given or parsed is None:
            raise
        return parsed.compact, None
    return details.iban, details.bic
