"""The wallet pages' world, beyond the checkout's: bank accounts, direct-debit top-ups and a debt, made through
Kleline's own services as the API would make them."""

from __future__ import annotations

from kleline.bootstrap import Kleline
from kleline.collections import BankAccount

from ..operator_keys import OPERATOR
from .checkout_world import eur, payment, shop

CUSTOMER_IBAN = "FR7630006000011234567890189"
OTHER_IBAN = "DE89370400440532013000"


def bank_account(kleline: Kleline, customer_id: str, iban: str = CUSTOMER_IBAN) -> BankAccount:
    """A bank account in the customer's wallet, its mandate signed."""
    return kleline.collections.bank_accounts.register(customer_id, iban, "Ada Lovelace", mandate_accepted=True)


def in_debt(kleline: Kleline, customer_id: str, *, spent: int = 1500, merchant_id: str | None = None) -> BankAccount:
    """The customer's direct debit of 20 EUR comes back unpaid after they spent ``spent`` cents of it: they owe that.
    Their bank account."""
    account = bank_account(kleline, customer_id)
    debited = kleline.collections.top_ups.top_up(customer_id, eur(2000), account.id)
    assert debited.collection is not None, debited
    kleline.collections.runs.run(actor=OPERATOR)
    paying = payment(kleline, merchant_id or shop(kleline), spent, return_url=None)
    assert kleline.payments.confirm(paying.id, customer_id, "purse", None).status == "succeeded"
    with kleline.db.transaction() as tx:  # what reconciliation does with the statement's return line
        collection = kleline.collections.collection_by_end_to_end(tx, debited.collection.end_to_end_id)
        assert collection is not None
        kleline.collections.confirm_returned_in(tx, collection, line_ref="stmt-1:1", reason="AM04")
    assert kleline.collections.debts.owed(customer_id) == eur(spent)
    return account
