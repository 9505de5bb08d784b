"""Top-ups by direct debit: the purse credited at once against the bank, within the limits and strong
authentication of every top-up, with a collection left to make."""

from __future__ import annotations

import pyotp
import pytest

from kleline.bootstrap import Kleline
from kleline.collections import CollectionStatus, ReceivableOutstanding, UnknownBankAccount
from kleline.errors import ValidationError
from kleline.ledger.audit import trial_balance, verify
from kleline.money import Money
from kleline.wallet.customers import purse_code
from kleline.wallet.limits import LimitExceeded
from kleline.wallet.strong_auth import EnrolmentRequired

from ...conftest import FakeClock
from ...operator_keys import OPERATOR
from .conftest import balance, bank_account, build_kleline, collected, customer, eur, pay_from_purse, returned, top_up


def test_a_direct_debit_top_up_credits_the_purse_at_once_against_the_bank_in_transit(kleline: Kleline) -> None:
    ada = customer(kleline)
    account = bank_account(kleline, ada)
    done = kleline.collections.top_ups.top_up(ada, eur(2500), account.id)
    assert done.top_up.status == "succeeded" and done.top_up.id.startswith("top_")
    assert (done.top_up.card_id, done.top_up.bank_account_id) == (None, account.id)
    collection = done.collection
    assert collection is not None
    assert collection.id.startswith("dd_") and len(collection.end_to_end_id) <= 35  # a SEPA end-to-end id
    assert (collection.status, collection.amount, collection.top_up_id) == (
        CollectionStatus.PENDING,
        eur(2500),
        done.top_up.id,
    )
    assert balance(kleline, purse_code(ada)) == 2500
    assert balance(kleline, kleline.own_account.in_transit_code) == 2500
    entry = kleline.ledger.entry(done.top_up.id)
    assert {(p.account, p.amount) for p in entry.postings} == {
        (kleline.own_account.in_transit_code, 2500),
        (purse_code(ada), -2500),
    }
    assert kleline.collections.get(collection.id) == collection
    assert trial_balance(kleline.db).balanced
    assert verify(kleline.db).ok


def test_direct_debits_and_card_top_ups_count_together_against_the_purse_ceiling(kleline: Kleline) -> None:
    ada = customer(kleline)
    account = bank_account(kleline, ada)
    card = kleline.cards.register(ada, "4242424242424242", 12, 2030, "123", "Ada Lovelace")
    assert kleline.top_ups.top_up(ada, eur(3000), card.id).status == "succeeded"
    top_up(kleline, ada, account.id, 3000)
    top_up(kleline, ada, account.id, 3000)  # 90 EUR in the purse: 60 EUR left under the 150 EUR ceiling
    with pytest.raises(LimitExceeded, match="at most 60.00 EUR can be added now"):
        kleline.collections.top_ups.top_up(ada, eur(6001), account.id)
    with pytest.raises(LimitExceeded, match="at most 60.00 EUR can be added now"):
        kleline.top_ups.top_up(ada, eur(6001), card.id)
    assert balance(kleline, purse_code(ada)) == 9000
    assert len(kleline.collections.list(customer_id=ada)[0]) == 2


def test_direct_debits_count_against_the_monthly_top_up_limit(database_url: str, clock: FakeClock) -> None:
    kleline = build_kleline(database_url, clock, sca_cumulative_limit=10**7)
    try:
        ada = customer(kleline)
        account = bank_account(kleline, ada)
        for _ in range(3):
            top_up(kleline, ada, account.id, 3000)
        pay_from_purse(kleline, ada, 3000)
        pay_from_purse(kleline, ada, 3000)  # 90 EUR topped up this month, 30 EUR left in the purse
        with pytest.raises(LimitExceeded, match="60.00 EUR is left this month"):
            kleline.collections.top_ups.top_up(ada, eur(6001), account.id)
        top_up(kleline, ada, account.id, 3000)
        top_up(kleline, ada, account.id, 3000)  # exactly the 150 EUR of the month
        with pytest.raises(LimitExceeded, match="0.00 EUR is left this month"):
            kleline.collections.top_ups.top_up(ada, eur(1), account.id)
    finally:
        kleline.close()


def test_a_top_up_above_30_eur_waits_for_strong_authentication(kleline: Kleline, clock: FakeClock) -> None:
    ada = customer(kleline)
    account = bank_account(kleline, ada)
    with pytest.raises(EnrolmentRequired):
        kleline.collections.top_ups.top_up(ada, eur(3001), account.id)
    totp = pyotp.parse_uri(kleline.strong_auth.enrol(ada, "ada@example.org").provisioning_uri)
    assert isinstance(totp, pyotp.TOTP)
    waiting = kleline.collections.top_ups.top_up(ada, eur(3001), account.id)
    assert (waiting.top_up.status, waiting.collection) == ("requires_action", None)
    assert waiting.top_up.challenge_id is not None
    assert balance(kleline, purse_code(ada)) == 0
    done = kleline.collections.top_ups.top_up(
        ada, eur(3001), account.id, challenge_id=waiting.top_up.challenge_id, sca_code=totp.at(clock.now)
    )
    assert done.top_up.status == "succeeded" and done.collection is not None
    assert balance(kleline, purse_code(ada)) == 3001
    assert len(kleline.collections.list(customer_id=ada)[0]) == 1


@pytest.mark.parametrize(
    ("minor", "currency", "param"), [(0, "EUR", "amount"), (-5, "EUR", "amount"), (1000, "USD", "currency")]
)
def test_a_bad_amount_or_currency_is_refused_and_changes_nothing(
    kleline: Kleline, minor: int, currency: str, param: str
) -> None:
    ada = customer(kleline)
    account = bank_account(kleline, ada)
    with pytest.raises(ValidationError) as refused:
        kleline.collections.top_ups.top_up(ada, Money(minor, currency), account.id)
    assert refused.value.param == param
    assert kleline.ledger.history(purse_code(ada)) == []
    assert kleline.collections.list()[0] == []


def test_another_customers_or_a_removed_bank_account_is_not_found(kleline: Kleline) -> None:
    ada, bob = customer(kleline), customer(kleline, "bob@example.org")
    bobs = bank_account(kleline, bob)
    with pytest.raises(UnknownBankAccount):
        kleline.collections.top_ups.top_up(ada, eur(1000), bobs.id)
    kleline.collections.bank_accounts.remove(bob, bobs.id)
    with pytest.raises(UnknownBankAccount):
        kleline.collections.top_ups.top_up(bob, eur(1000), bobs.id)
    assert kleline.collections.list()[0] == []
    assert balance(kleline, purse_code(ada)) == balance(kleline, purse_code(bob)) == 0


def test_a_return_the_purse_covers_leaves_no_debt_and_direct_debits_go_on(kleline: Kleline) -> None:
    ada = customer(kleline)
    account = bank_account(kleline, ada)
    first = top_up(kleline, ada, account.id, 2000)
    kleline.collections.runs.run(actor=OPERATOR)
    collected(kleline, first.id)
    returned(kleline, first.id)
    assert balance(kleline, purse_code(ada)) == 0
    assert kleline.collections.receivables() == ([], False)
    top_up(kleline, ada, account.id, 1000)
    assert balance(kleline, purse_code(ada)) == 1000


def test_direct_debits_stop_while_a_shortfall_is_owed(kleline: Kleline) -> None:
    ada = customer(kleline)
    account = bank_account(kleline, ada)
    collection = top_up(kleline, ada, account.id, 2000)
    pay_from_purse(kleline, ada, 1500)
    kleline.collections.runs.run(actor=OPERATOR)
    returned(kleline, collection.id)
    with pytest.raises(ReceivableOutstanding) as refused:
        kleline.collections.top_ups.top_up(ada, eur(1000), account.id)
    assert (refused.value.status, refused.value.code) == (422, "receivable_outstanding")
    assert len(kleline.collections.list(customer_id=ada)[0]) == 1
