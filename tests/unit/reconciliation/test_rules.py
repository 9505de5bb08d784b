"""Reconciliation's rules without a database: which line matches what, which waits in suspense and why, and the
identifiers that make an import land on the same rows however often it runs."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kleline.money import Money
from kleline.reconciliation.identity import content_hash, line_id, same_booking, statement_key, suspense_item_id
from kleline.reconciliation.model import (
    Action,
    Counterpart,
    Match,
    Suspend,
    SuspenseReason,
    Target,
    decide,
    expected_direction,
)
from kleline.reconciliation.postings import into_suspense, out_of_suspense, release_from_suspense
from kleline.sepa import BankStatement, Direction, OwnAccount, StatementLine, read_statement, write_statement

IBAN = "FR7630003000000005000000167"
OWN = OwnAccount(IBAN, "SOGEFRPP", "Kleline SAS", "FR72ZZZ123456")


def eur(minor: int) -> Money:
    return Money(minor, "EUR")


def line(
    direction: Direction = Direction.CREDIT,
    minor: int = 1_000,
    e2e: str | None = "po_1",
    reason: str | None = None,
    currency: str = "EUR",
) -> StatementLine:
    return StatementLine("NTRY-1", Money(minor, currency), direction, date(2026, 1, 16), e2e, reason, None, None, None)


def payout(*, confirmed: bool = False, returned: bool = False, minor: int = 1_000) -> Counterpart:
    return Counterpart(Target.PAYOUT, "po_1", eur(minor), confirmed, returned)


def reason(decision: Match | Suspend) -> SuspenseReason:
    assert isinstance(decision, Suspend), decision
    return decision.reason


def test_a_payout_is_confirmed_by_a_debit_and_returned_by_a_later_credit_with_a_reason() -> None:
    assert decide(line(Direction.DEBIT), payout(), "EUR") == Match(payout(), Action.CONFIRM)
    returned = decide(line(Direction.CREDIT, reason="AC04"), payout(confirmed=True), "EUR")
    assert returned == Match(payout(confirmed=True), Action.RETURN)


@pytest.mark.parametrize(
    ("target", "confirm", "returned"),
    [
        (Target.PAYOUT, Direction.DEBIT, Direction.CREDIT),
        (Target.COLLECTION, Direction.CREDIT, Direction.DEBIT),
        (Target.CARD_PAYMENT, Direction.CREDIT, Direction.DEBIT),
        (Target.CARD_TOP_UP, Direction.CREDIT, Direction.DEBIT),
        (Target.CARD_REFUND, Direction.DEBIT, Direction.CREDIT),
    ],
)
def test_each_kind_of_counterpart_moves_money_one_way_and_its_return_the_other(
    target: Target, confirm: Direction, returned: Direction
) -> None:
    assert expected_direction(target, Action.CONFIRM) is confirm
    assert expected_direction(target, Action.RETURN) is returned


def test_a_line_that_does_not_fit_its_counterpart_is_held_with_the_reason() -> None:
    assert reason(decide(line(Direction.DEBIT), None, "EUR")) is SuspenseReason.UNKNOWN_REFERENCE
    assert reason(decide(line(Direction.DEBIT, minor=999), payout(), "EUR")) is SuspenseReason.AMOUNT_MISMATCH
    assert reason(decide(line(Direction.CREDIT), payout(), "EUR")) is SuspenseReason.DIRECTION_MISMATCH
    assert reason(decide(line(Direction.DEBIT), payout(confirmed=True), "EUR")) is SuspenseReason.ALREADY_MATCHED
    assert reason(decide(line(Direction.DEBIT, minor=0), payout(), "EUR")) is SuspenseReason.ZERO_AMOUNT
    other = decide(line(Direction.DEBIT, currency="USD"), payout(), "EUR")
    assert reason(other) is SuspenseReason.OTHER_CURRENCY


def test_a_return_needs_a_returnable_counterpart_whose_booking_a_line_has_shown() -> None:
    before_its_debit = decide(line(Direction.CREDIT, reason="AC04"), payout(), "EUR")
    assert reason(before_its_debit) is SuspenseReason.UNEXPECTED_RETURN
    twice = decide(line(Direction.CREDIT, reason="AC04"), payout(confirmed=True, returned=True), "EUR")
    assert reason(twice) is SuspenseReason.ALREADY_MATCHED
    card = Counterpart(Target.CARD_PAYMENT, "pay_1", eur(1_000), True, False, "card:visa:receivable")
    assert reason(decide(line(Direction.DEBIT, reason="MD06"), card, "EUR")) is SuspenseReason.UNEXPECTED_RETURN


def test_the_detail_names_both_amounts() -> None:
    held = decide(line(Direction.DEBIT, minor=999), payout(), "EUR")
    assert isinstance(held, Suspend)
    assert held.detail == "the line is 9.99 EUR, payout po_1 is 10.00 EUR"


def test_only_lines_the_books_can_hold_move_money_into_suspense() -> None:
    assert not SuspenseReason.OTHER_CURRENCY.posts and not SuspenseReason.ZERO_AMOUNT.posts
    assert all(r.posts for r in SuspenseReason if r not in (SuspenseReason.OTHER_CURRENCY, SuspenseReason.ZERO_AMOUNT))


@pytest.mark.parametrize("direction", list(Direction))
def test_suspense_postings_mirror_the_bank_and_release_undoes_them(direction: Direction) -> None:
    held = line(direction, minor=1_234)
    into, release = into_suspense(OWN, held), release_from_suspense(OWN, held)
    bank_leg = {p.account: p.amount for p in into}[OWN.safeguarding_code]
    assert bank_leg == (1_234 if direction is Direction.CREDIT else -1_234)  # debit-normal: money in is a debit
    assert {p.account: p.amount for p in release} == {p.account: -p.amount for p in into}
    moved = {p.account: p.amount for p in out_of_suspense(held, "kleline:other-income")}
    assert moved["kleline:suspense"] == -{p.account: p.amount for p in into}["kleline:suspense"]


def test_identifiers_are_derived_so_that_a_rerun_lands_on_the_same_rows() -> None:
    key = statement_key(IBAN, "STMT-1")
    assert key == statement_key(IBAN, "STMT-1") != statement_key(IBAN, "STMT-2")
    assert key != statement_key("DE89370400440532013000", "STMT-1")
    assert key.startswith("bst_") and len(key) == 36
    assert line_id(key, 0) == line_id(key, 0) != line_id(key, 1)
    assert suspense_item_id(line_id(key, 3)) == "si_" + line_id(key, 3).removeprefix("bsl_")


def test_the_same_booking_is_the_same_content_not_merely_the_same_reference() -> None:
    assert same_booking(line(), line())
    assert not same_booking(line(), line(minor=1_001))
    assert not same_booking(line(), replace(line(), remittance="other"))


_lines = st.builds(
    StatementLine,
    entry_ref=st.from_regex(r"[A-Z0-9]{1,20}", fullmatch=True),
    amount=st.integers(1, 10**9).map(eur),
    direction=st.sampled_from(list(Direction)),
    booking_date=st.dates(date(2020, 1, 1), date(2030, 12, 31)),
    end_to_end_id=st.none() | st.from_regex(r"[a-z0-9_]{1,30}", fullmatch=True),
    return_reason=st.none() | st.sampled_from(["AC04", "AM04", "MD06"]),
    counterparty_name=st.none(),
    counterparty_iban=st.none(),
    remittance=st.none() | st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9 ]{0,30}[A-Za-z0-9])?", fullmatch=True),
)


@given(st.lists(_lines, max_size=5))
def test_a_statement_hashes_the_same_after_a_round_trip_through_xml_and_differently_when_a_line_changes(
    lines: list[StatementLine],
) -> None:
    statement = BankStatement(
        "MSG-1", "STMT-1", IBAN, "EUR", datetime(2026, 1, 16, 18, tzinfo=UTC), eur(0), eur(0), tuple(lines)
    )
    assert content_hash(read_statement(write_statement(statement))) == content_hash(statement)
    if lines:
        changed = replace(lines[0], amount=lines[0].amount + eur(1))
        assert content_hash(replace(statement, lines=(changed, *lines[1:]))) != content_hash(statement)
