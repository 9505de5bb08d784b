"""SEPA files at the simulated banks: payouts (pain.001) and collections (pain.008) booked as a bank books them."""

from __future__ import annotations

import pytest

from kleline.banksim import (
    AccountClosed,
    BankSimulator,
    DuplicateFile,
    InsufficientFunds,
    Return,
)
from kleline.money import Money
from kleline.sepa import Direction, SepaFileInvalid

from ...conftest import FakeClock
from .conftest import (
    BAKERY,
    BOOKSHOP,
    CUSTOMER,
    KLELINE,
    OPENING,
    balance,
    collections_file,
    debit,
    eur,
    payouts_file,
    statement_lines,
    transfer,
)


def zero() -> dict[str, Money]:
    return {"EUR": Money(0, "EUR")}


def test_a_payout_file_debits_kleline_and_credits_each_merchant_with_one_line_per_payout(
    simulator: BankSimulator,
) -> None:
    receipt, new = simulator.receive_file(
        payouts_file(transfer("po_1", "120.50", BOOKSHOP), transfer("po_2", "80.00", BAKERY, "Boulangerie Weiss"))
    )

    assert new and receipt.kind == "pain.001.001.03" and receipt.message_id == "sr_1"
    assert (receipt.transactions, receipt.total, receipt.returns) == (2, eur("200.50"), ())
    assert balance(simulator, KLELINE.iban) == OPENING - eur("200.50")
    assert balance(simulator, BOOKSHOP) == OPENING + eur("120.50")
    assert balance(simulator, BAKERY) == OPENING + eur("80.00")
    lines = statement_lines(simulator)
    assert [(line.end_to_end_id, line.amount, line.direction) for line in lines] == [
        ("po_1", eur("120.50"), Direction.DEBIT),
        ("po_2", eur("80.00"), Direction.DEBIT),
    ]
    assert (lines[0].counterparty_name, lines[0].counterparty_iban) == ("Librairie Kleber", BOOKSHOP)
    assert lines[0].remittance == "Kleline payout po_1"
    merchant_line = statement_lines(simulator, BOOKSHOP)[0]
    assert (merchant_line.direction, merchant_line.end_to_end_id) == (Direction.CREDIT, "po_1")
    assert (merchant_line.counterparty_name, merchant_line.counterparty_iban) == ("Kleline SAS", KLELINE.iban)
    assert simulator.trial_balance() == zero()


def test_merchants_accounts_open_at_the_bank_their_iban_names(simulator: BankSimulator) -> None:
    simulator.receive_file(payouts_file(transfer("po_1", "1.00", BOOKSHOP), transfer("po_2", "1.00", BAKERY)))

    banks = simulator.banks()
    assert banks["PSSTFRPP"] == (BOOKSHOP,)
    assert banks["COBADEFFXXX"] == (BAKERY,)
    assert banks["SOGEFRPP"] == (KLELINE.iban,)


def test_a_payout_to_a_closed_account_comes_back_as_a_credit_with_reason_ac04(simulator: BankSimulator) -> None:
    simulator.update_account(BAKERY, closed=True)

    receipt, _ = simulator.receive_file(
        payouts_file(transfer("po_1", "120.50", BOOKSHOP), transfer("po_2", "80.00", BAKERY))
    )

    assert receipt.returns == (Return("po_2", "AC04"),)
    assert balance(simulator, BAKERY) == OPENING
    assert balance(simulator, KLELINE.iban) == OPENING - eur("120.50")
    lines = statement_lines(simulator)
    assert [(line.end_to_end_id, line.direction, line.return_reason) for line in lines] == [
        ("po_1", Direction.DEBIT, None),
        ("po_2", Direction.DEBIT, None),
        ("po_2", Direction.CREDIT, "AC04"),
    ]
    assert lines[2].amount == eur("80.00") and lines[2].counterparty_iban == BAKERY
    assert len({line.entry_ref for line in lines}) == 3
    assert simulator.trial_balance() == zero()


def test_a_payout_to_an_iban_with_a_wrong_checksum_comes_back_with_reason_ac01(simulator: BankSimulator) -> None:
    wrong = BOOKSHOP[:4] + BOOKSHOP[4:].replace("M", "N")  # the XSD accepts its shape; the check digits do not

    receipt, _ = simulator.receive_file(payouts_file(transfer("po_1", "10.00", wrong)))

    assert receipt.returns == (Return("po_1", "AC01"),)
    assert balance(simulator, KLELINE.iban) == OPENING
    assert [line.return_reason for line in statement_lines(simulator)] == [None, "AC01"]


def test_a_payout_file_larger_than_the_balance_is_refused_whole_and_books_nothing(simulator: BankSimulator) -> None:
    simulator.update_account(KLELINE.iban, balance=eur("100.00"))
    before = simulator.close_statement(KLELINE.iban)  # the adjustment's statement

    with pytest.raises(InsufficientFunds):
        simulator.receive_file(payouts_file(transfer("po_1", "60.00", BOOKSHOP), transfer("po_2", "60.00", BAKERY)))

    assert balance(simulator, KLELINE.iban) == eur("100.00")
    assert simulator.banks().keys() == {"SOGEFRPP"}  # no creditor account was even opened
    assert statement_lines(simulator) == ()
    assert before.statement.closing_balance == eur("100.00")
    # The same file once the money is there: the message id was not used up by the refusal.
    simulator.update_account(KLELINE.iban, balance=eur("120.00"))
    receipt, new = simulator.receive_file(
        payouts_file(transfer("po_1", "60.00", BOOKSHOP), transfer("po_2", "60.00", BAKERY))
    )
    assert new and receipt.returns == () and balance(simulator, KLELINE.iban) == eur("0.00")


def test_a_file_from_a_closed_account_is_refused(simulator: BankSimulator) -> None:
    simulator.update_account(KLELINE.iban, closed=True)

    with pytest.raises(AccountClosed):
        simulator.receive_file(payouts_file(transfer("po_1", "1.00", BOOKSHOP)))
    with pytest.raises(AccountClosed):
        simulator.receive_file(collections_file(debit("col_1", "1.00")))
    assert simulator.account(KLELINE.iban).balance == OPENING


def test_the_same_file_sent_twice_is_booked_once(simulator: BankSimulator) -> None:
    file = payouts_file(transfer("po_1", "120.50", BOOKSHOP))

    first, first_new = simulator.receive_file(file)
    again, again_new = simulator.receive_file(file)

    assert (first_new, again_new) == (True, False)
    assert again == first
    assert balance(simulator, BOOKSHOP) == OPENING + eur("120.50")


def test_another_file_under_a_message_id_already_used_is_refused(simulator: BankSimulator) -> None:
    simulator.receive_file(payouts_file(transfer("po_1", "120.50", BOOKSHOP), message_id="sr_1"))

    with pytest.raises(DuplicateFile):
        simulator.receive_file(payouts_file(transfer("po_1", "99.00", BOOKSHOP), message_id="sr_1"))
    assert balance(simulator, BOOKSHOP) == OPENING + eur("120.50")


def test_a_file_that_breaks_its_schema_is_refused_with_where_and_books_nothing(simulator: BankSimulator) -> None:
    file = payouts_file(transfer("po_1", "120.50", BOOKSHOP)).replace(b"<InstdAmt", b"<InstructedAmt", 1)
    file = file.replace(b"</InstdAmt>", b"</InstructedAmt>", 1)

    with pytest.raises(SepaFileInvalid) as refused:
        simulator.receive_file(file)

    assert refused.value.line is not None
    assert "InstructedAmt" in refused.value.detail
    assert simulator.banks().keys() == {"SOGEFRPP"}
    with pytest.raises(SepaFileInvalid):
        simulator.receive_file(b"not xml at all")


def test_a_collection_file_credits_kleline_and_debits_each_customer(simulator: BankSimulator) -> None:
    receipt, _ = simulator.receive_file(collections_file(debit("col_1", "50.00"), debit("col_2", "20.00", BAKERY)))

    assert (receipt.kind, receipt.transactions, receipt.total, receipt.returns) == (
        "pain.008.001.02",
        2,
        eur("70.00"),
        (),
    )
    assert balance(simulator, KLELINE.iban) == OPENING + eur("70.00")
    assert balance(simulator, CUSTOMER) == OPENING - eur("50.00")
    lines = statement_lines(simulator)
    assert [(line.end_to_end_id, line.direction, line.counterparty_iban) for line in lines] == [
        ("col_1", Direction.CREDIT, CUSTOMER),
        ("col_2", Direction.CREDIT, BAKERY),
    ]
    assert lines[0].counterparty_name == "Jeanne Martin"
    assert simulator.trial_balance() == zero()


def test_a_collection_the_customer_cannot_pay_is_credited_then_returned_with_reason_am04(
    simulator: BankSimulator,
) -> None:
    simulator.update_account(CUSTOMER, balance=eur("30.00"))

    receipt, _ = simulator.receive_file(collections_file(debit("col_1", "50.00")))

    assert receipt.returns == (Return("col_1", "AM04"),)
    assert balance(simulator, CUSTOMER) == eur("30.00")
    assert balance(simulator, KLELINE.iban) == OPENING
    lines = statement_lines(simulator)
    assert [(line.end_to_end_id, line.direction, line.amount, line.return_reason) for line in lines] == [
        ("col_1", Direction.CREDIT, eur("50.00"), None),
        ("col_1", Direction.DEBIT, eur("50.00"), "AM04"),
    ]
    assert simulator.trial_balance() == zero()


def test_a_collection_from_a_closed_account_is_returned_with_reason_ac04(simulator: BankSimulator) -> None:
    simulator.update_account(CUSTOMER, closed=True)

    receipt, _ = simulator.receive_file(collections_file(debit("col_1", "50.00"), debit("col_2", "5.00", BAKERY)))

    assert receipt.returns == (Return("col_1", "AC04"),)
    assert balance(simulator, CUSTOMER) == OPENING
    assert balance(simulator, KLELINE.iban) == OPENING + eur("5.00")
    assert [line.return_reason for line in statement_lines(simulator)] == [None, "AC04", None]


def test_a_customer_who_can_pay_the_first_collection_but_not_the_second_gets_the_second_returned(
    simulator: BankSimulator, clock: FakeClock
) -> None:
    simulator.update_account(CUSTOMER, balance=eur("60.00"))

    receipt, _ = simulator.receive_file(collections_file(debit("col_1", "50.00"), debit("col_2", "20.00")))

    assert receipt.returns == (Return("col_2", "AM04"),)
    assert balance(simulator, CUSTOMER) == eur("10.00")
