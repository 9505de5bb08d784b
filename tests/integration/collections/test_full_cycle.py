"""A direct debit's whole life against the simulated bank: top-up, collection run, the pain.008 booked by the bank
(one debtor pays, one has too little and the bank returns it AM04), the camt.053 statement reconciled."""

from __future__ import annotations

from kleline.banksim.simulator import BankSimulator
from kleline.bootstrap import Kleline
from kleline.collections import CollectionStatus, receivable_code
from kleline.ledger.audit import trial_balance, verify
from kleline.wallet.customers import purse_code

from ...operator_keys import OPERATOR
from .conftest import IBAN, OTHER_IBAN, balance, bank_account, customer, eur, pay_from_purse, top_up


def test_a_collection_paid_and_one_returned_leave_the_books_where_they_should_be(kleline: Kleline) -> None:
    own = kleline.own_account
    bank = BankSimulator(acquirer_iban=own.iban, clock=kleline.clock)
    ada, bob = customer(kleline), customer(kleline, "bob@example.org")
    adas = top_up(kleline, ada, bank_account(kleline, ada, IBAN).id, 2500)
    bobs = top_up(kleline, bob, bank_account(kleline, bob, OTHER_IBAN).id, 3000)
    bank.update_account(OTHER_IBAN, balance=eur(1000))  # Bob's bank cannot pay 30 EUR
    pay_from_purse(kleline, bob, 2000)  # and Bob spent most of the top-up already
    run = kleline.collections.runs.run(actor=OPERATOR)
    receipt, _ = bank.receive_file(kleline.collections.runs.file(run.id))
    assert receipt.transactions == 2
    statement = bank.close_statement(own.iban)
    imported = kleline.reconciliation.import_document(statement.xml, actor=OPERATOR)
    assert [(s.matched, s.unmatched) for s in imported.statements] == [(3, 0)]
    assert kleline.collections.get(adas.id).status is CollectionStatus.COLLECTED
    returned = kleline.collections.get(bobs.id)
    assert (returned.status, returned.return_reason, returned.shortfall) == (
        CollectionStatus.RETURNED,
        "AM04",
        eur(2000),
    )
    assert (balance(kleline, purse_code(ada)), balance(kleline, purse_code(bob))) == (2500, 0)
    assert balance(kleline, receivable_code(bob)) == 2000
    assert balance(kleline, own.in_transit_code) == 0
    assert balance(kleline, own.safeguarding_code) == 2500  # Ada's 25 EUR; Bob's 30 EUR came and went back
    assert balance(kleline, "kleline:suspense") == 0
    assert kleline.reconciliation.import_document(statement.xml, actor=OPERATOR).replayed  # again: nothing changes
    assert balance(kleline, receivable_code(bob)) == 2000
    assert trial_balance(kleline.db).balanced
    assert verify(kleline.db).ok
    bank.close()
