"""What the bank's statement says of a collection, as reconciliation records it: collected, or returned, which
reverses the top-up and books what the purse cannot give back as the customer's debt. Each answer counts once."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

import pytest

from kleline.bootstrap import Kleline
from kleline.collections import (
    CollectionAlreadySettled,
    CollectionNotSubmitted,
    CollectionStatus,
    receivable_code,
)
from kleline.ledger import Entry, HoldRequest, NormalSide, credit, debit
from kleline.ledger.audit import trial_balance, verify
from kleline.wallet.customers import purse_code

from ...conftest import FakeClock
from ...operator_keys import OPERATOR
from .conftest import balance, bank_account, collected, customer, eur, pay_from_purse, returned, top_up


def legs(entry: Entry) -> set[tuple[str, int]]:
    return {(p.account, p.amount) for p in entry.postings}


def sent(kleline: Kleline, minor: int, email: str = "ada@example.org") -> tuple[str, str]:
    """A customer's direct-debit top-up of ``minor`` cents, sent in a run: (customer id, collection id)."""
    customer_id = customer(kleline, email)
    collection = top_up(kleline, customer_id, bank_account(kleline, customer_id).id, minor)
    kleline.collections.runs.run(actor=OPERATOR)
    return customer_id, collection.id


def test_a_collection_on_the_statement_moves_the_money_from_in_transit_to_safeguarding(kleline: Kleline) -> None:
    own = kleline.own_account
    ada, collection_id = sent(kleline, 2500)
    entry = collected(kleline, collection_id, "stmt-1:7")
    assert entry.id == f"{collection_id}:collected"
    assert legs(entry) == {(own.safeguarding_code, 2500), (own.in_transit_code, -2500)}
    assert (balance(kleline, own.in_transit_code), balance(kleline, own.safeguarding_code)) == (0, 2500)
    done = kleline.collections.get(collection_id)
    assert (done.status, done.collected_line_ref) == (CollectionStatus.COLLECTED, "stmt-1:7")
    assert balance(kleline, purse_code(ada)) == 2500


def test_the_same_statement_line_again_changes_nothing_and_another_line_is_a_duplicate(kleline: Kleline) -> None:
    _, collection_id = sent(kleline, 2500)
    first = collected(kleline, collection_id, "stmt-1:7")
    assert collected(kleline, collection_id, "stmt-1:7").id == first.id
    with pytest.raises(CollectionAlreadySettled):
        collected(kleline, collection_id, "stmt-2:1")
    assert balance(kleline, kleline.own_account.safeguarding_code) == 2500


def test_a_returned_collection_takes_the_top_up_back_from_the_purse(kleline: Kleline) -> None:
    own = kleline.own_account
    ada, collection_id = sent(kleline, 2500)
    collected(kleline, collection_id)
    entry = returned(kleline, collection_id, "stmt-2:1", "MD06")
    assert entry.id == f"{collection_id}:returned"
    assert legs(entry) == {(purse_code(ada), 2500), (own.safeguarding_code, -2500)}
    done = kleline.collections.get(collection_id)
    assert (done.status, done.return_reason, done.shortfall) == (CollectionStatus.RETURNED, "MD06", eur(0))
    assert balance(kleline, purse_code(ada)) == 0
    assert balance(kleline, own.safeguarding_code) == balance(kleline, own.in_transit_code) == 0
    assert balance(kleline, receivable_code(ada)) == 0
    assert kleline.collections.receivables() == ([], False)


def test_a_spent_purse_gives_back_what_it_has_and_the_rest_is_owed_by_the_customer(kleline: Kleline) -> None:
    own = kleline.own_account
    ada, collection_id = sent(kleline, 2500)
    pay_from_purse(kleline, ada, 1800)
    collected(kleline, collection_id)
    entry = returned(kleline, collection_id)
    assert legs(entry) == {(purse_code(ada), 700), (receivable_code(ada), 1800), (own.safeguarding_code, -2500)}
    assert balance(kleline, purse_code(ada)) == 0
    assert balance(kleline, receivable_code(ada)) == 1800
    assert kleline.collections.get(collection_id).shortfall == eur(1800)
    owing, more = kleline.collections.receivables()
    assert more is False
    assert [(r.customer_id, r.outstanding, r.returned_collections) for r in owing] == [(ada, eur(1800), 1)]
    assert trial_balance(kleline.db).balanced
    assert verify(kleline.db).ok


def test_money_held_for_an_authorised_purse_payment_stays_held(kleline: Kleline) -> None:
    from kleline.payments.model import PaymentRequest

    ada, collection_id = sent(kleline, 2500)
    shop, _ = kleline.merchants.register(name="Le Comptoir", email="shop@example.fr", iban="DE89370400440532013000")
    kleline.merchants.approve(shop.id, actor=OPERATOR)
    payment = kleline.payments.create(shop.id, PaymentRequest(eur(1000), capture_method="manual"))
    assert kleline.payments.confirm(payment.id, ada, "purse").status == "authorized"
    entry = returned(kleline, collection_id)  # returned before the statement ever showed it collected
    assert legs(entry) == {
        (purse_code(ada), 1500),
        (receivable_code(ada), 1000),
        (kleline.own_account.in_transit_code, -2500),
    }
    purse = kleline.ledger.balance(purse_code(ada))
    assert (purse.posted, purse.held, purse.available) == (1000, 1000, 0)
    assert kleline.payments.capture(shop.id, payment.id).status == "succeeded"  # the shop still gets paid


def test_a_return_answered_twice_counts_once_and_a_second_return_is_a_duplicate(kleline: Kleline) -> None:
    ada, collection_id = sent(kleline, 2500)
    pay_from_purse(kleline, ada, 2000)
    first = returned(kleline, collection_id, "stmt-1:2")
    assert returned(kleline, collection_id, "stmt-1:2").id == first.id
    with pytest.raises(CollectionAlreadySettled):
        returned(kleline, collection_id, "stmt-9:9")
    with pytest.raises(CollectionAlreadySettled):
        collected(kleline, collection_id, "stmt-9:8")  # the money never came: a credit now is not this one's
    assert balance(kleline, receivable_code(ada)) == 2000
    assert balance(kleline, kleline.own_account.in_transit_code) == 0


def test_a_line_for_a_collection_never_sent_is_refused_and_posts_nothing(kleline: Kleline) -> None:
    ada = customer(kleline)
    collection = top_up(kleline, ada, bank_account(kleline, ada).id, 2500)
    with pytest.raises(CollectionNotSubmitted):
        collected(kleline, collection.id)
    with pytest.raises(CollectionNotSubmitted):
        returned(kleline, collection.id)
    assert balance(kleline, kleline.own_account.safeguarding_code) == 0
    assert kleline.collections.get(collection.id).status is CollectionStatus.PENDING


def test_an_end_to_end_id_that_is_not_a_collection_finds_nothing(kleline: Kleline) -> None:
    with kleline.db.transaction() as tx:
        assert kleline.collections.collection_by_end_to_end(tx, "po_0123") is None
        assert kleline.collections.collection_by_end_to_end(tx, "dd_unknown") is None


def test_receivables_list_only_customers_who_still_owe_a_page_at_a_time(kleline: Kleline) -> None:
    owing = []
    for index in range(3):
        customer_id, collection_id = sent(kleline, 1000, f"c{index}@example.org")
        pay_from_purse(kleline, customer_id, 400 + index)
        returned(kleline, collection_id)
        owing.append((customer_id, 400 + index))
    owing.sort()
    first_page, more = kleline.collections.receivables(limit=2)
    assert more is True
    assert [(r.customer_id, r.outstanding.minor) for r in first_page] == owing[:2]
    rest, more = kleline.collections.receivables(limit=2, after=first_page[-1].customer_id)
    assert ([(r.customer_id, r.outstanding.minor) for r in rest], more) == (owing[2:], False)
    assert rest[0].last_returned_at is not None and rest[0].last_returned_at.date() == date(2026, 1, 15)


def test_a_purse_payment_held_while_the_return_is_booked_is_not_taken_twice(kleline: Kleline, clock: FakeClock) -> None:
    """On PostgreSQL the return reads the purse, then waits on the row the hold locked: when the hold commits, the
    ledger's floor refuses the first try and the return is booked again from what is left. SQLite serialises the
    two writers, and the outcome must be the same."""
    ada, collection_id = sent(kleline, 2500)
    kleline.ledger.open_account("merchant:mer_x:balance", "EUR", NormalSide.CREDIT, floor=0)
    held = threading.Event()

    def hold_part_of_the_purse() -> None:
        with kleline.db.transaction() as tx:
            kleline.ledger.hold_in(
                tx,
                HoldRequest(
                    "hold-purse-payment",
                    (debit(purse_code(ada), eur(1500)), credit("merchant:mer_x:balance", eur(1500))),
                    clock.now + timedelta(days=1),
                ),
            )
            held.set()
            time.sleep(1.0)

    with ThreadPoolExecutor(1) as pool:
        holding = pool.submit(hold_part_of_the_purse)
        assert held.wait(10)
        entry = returned(kleline, collection_id)
        holding.result()
    own = kleline.own_account
    assert legs(entry) == {(purse_code(ada), 1000), (receivable_code(ada), 1500), (own.in_transit_code, -2500)}
    purse = kleline.ledger.balance(purse_code(ada))
    assert (purse.posted, purse.held, purse.available) == (1500, 1500, 0)
    assert trial_balance(kleline.db).balanced
