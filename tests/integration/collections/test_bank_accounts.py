"""Customers' bank accounts: the IBAN checked, the mandate signed, one live registration per IBAN, removal."""

from __future__ import annotations

import pytest

from kleline.bootstrap import Kleline
from kleline.collections import (
    BankAccountExists,
    CollectionsPending,
    InvalidBankAccount,
    MandateRequired,
    UnknownBankAccount,
    receivable_code,
)
from kleline.errors import KlelineError
from kleline.merchants.errors import InvalidBic, InvalidIban

from ...conftest import FakeClock
from ...operator_keys import OPERATOR
from .conftest import IBAN, OTHER_IBAN, bank_account, customer, top_up


def test_registering_an_account_checks_the_iban_derives_the_bic_and_signs_a_mandate(
    kleline: Kleline, clock: FakeClock
) -> None:
    ada = customer(kleline)
    account = kleline.collections.bank_accounts.register(
        ada, "fr76 3000 6000 0112 3456 7890 189", "  Ada Lovelace ", mandate_accepted=True
    )
    assert account.id.startswith("ba_")
    assert (account.iban, account.bic, account.holder_name) == (IBAN, "AGRIFRPPXXX", "Ada Lovelace")
    assert account.masked_iban == "FR76*******************0189"
    assert len(account.mandate_id) == 35 and account.mandate_id.isalnum()
    assert account.mandate_signed_at == clock.now
    assert kleline.collections.bank_accounts.list(ada) == [account]
    # The account a returned collection would book the customer's debt on is open already.
    assert kleline.ledger.account(receivable_code(ada)).currency == "EUR"


def test_every_mandate_has_its_own_reference(kleline: Kleline) -> None:
    ada, bob = customer(kleline), customer(kleline, "bob@example.org")
    mandates = {bank_account(kleline, ada).mandate_id, bank_account(kleline, bob).mandate_id}
    mandates.add(bank_account(kleline, ada, OTHER_IBAN).mandate_id)
    assert len(mandates) == 3


def test_a_bank_the_registry_does_not_know_is_registered_without_a_bic(kleline: Kleline) -> None:
    account = bank_account(kleline, customer(kleline), "AT611904300234573201")
    assert account.bic is None


@pytest.mark.parametrize(
    ("iban", "bic", "error", "param"),
    [
        ("FR7630006000011234567890188", None, InvalidIban, "iban"),  # check digits off by one
        ("not an iban", None, InvalidIban, "iban"),
        ("SA0380000000608010167519", None, InvalidIban, "iban"),  # outside the SEPA zone
        (IBAN, "DEUTDEFF", InvalidBic, "bic"),  # a German bank for a French account
    ],
)
def test_a_wrong_iban_or_bic_is_refused_and_records_nothing(
    kleline: Kleline, iban: str, bic: str | None, error: type[KlelineError], param: str
) -> None:
    ada = customer(kleline)
    with pytest.raises(error) as refused:
        kleline.collections.bank_accounts.register(ada, iban, "Ada Lovelace", bic=bic, mandate_accepted=True)
    assert refused.value.param == param
    assert kleline.collections.bank_accounts.list(ada) == []


def test_an_iban_outside_the_sepa_zone_is_refused_because_direct_debits_are_sepa(kleline: Kleline) -> None:
    with pytest.raises(InvalidIban, match="outside the SEPA zone, and top-ups are SEPA direct debits"):
        bank_account(kleline, customer(kleline), "SA0380000000608010167519")


def test_without_the_mandate_accepted_nothing_is_registered(kleline: Kleline) -> None:
    ada = customer(kleline)
    with pytest.raises(MandateRequired) as refused:
        kleline.collections.bank_accounts.register(ada, IBAN, "Ada Lovelace", mandate_accepted=False)
    assert (refused.value.code, refused.value.param) == ("mandate_required", "mandate_accepted")
    assert kleline.collections.bank_accounts.list(ada) == []


@pytest.mark.parametrize("name", ["", "   ", "x" * 71])
def test_the_holder_name_is_1_to_70_characters(kleline: Kleline, name: str) -> None:
    with pytest.raises(InvalidBankAccount) as refused:
        kleline.collections.bank_accounts.register(customer(kleline), IBAN, name, mandate_accepted=True)
    assert refused.value.param == "holder_name"


def test_the_same_iban_twice_is_a_conflict_until_the_first_is_removed(kleline: Kleline) -> None:
    ada = customer(kleline)
    first = bank_account(kleline, ada)
    with pytest.raises(BankAccountExists):
        bank_account(kleline, ada)
    assert bank_account(kleline, customer(kleline, "bob@example.org")).iban == IBAN  # another customer's own
    kleline.collections.bank_accounts.remove(ada, first.id)
    again = bank_account(kleline, ada)
    assert again.id != first.id and again.mandate_id != first.mandate_id
    assert kleline.collections.bank_accounts.list(ada) == [again]


def test_another_customers_account_is_not_found_and_cannot_be_removed(kleline: Kleline) -> None:
    ada, bob = customer(kleline), customer(kleline, "bob@example.org")
    bobs = bank_account(kleline, bob)
    with pytest.raises(UnknownBankAccount):
        kleline.collections.bank_accounts.get(ada, bobs.id)
    with pytest.raises(UnknownBankAccount):
        kleline.collections.bank_accounts.remove(ada, bobs.id)
    assert kleline.collections.bank_accounts.get(bob, bobs.id) == bobs


def test_an_account_with_collections_still_to_send_cannot_be_removed(kleline: Kleline) -> None:
    ada = customer(kleline)
    account = bank_account(kleline, ada)
    top_up(kleline, ada, account.id, 2000)
    with pytest.raises(CollectionsPending):
        kleline.collections.bank_accounts.remove(ada, account.id)
    kleline.collections.runs.run(actor=OPERATOR)  # sent: the mandate has done its work for that collection
    kleline.collections.bank_accounts.remove(ada, account.id)
    assert kleline.collections.bank_accounts.list(ada) == []
    with pytest.raises(UnknownBankAccount):
        kleline.collections.bank_accounts.remove(ada, account.id)
