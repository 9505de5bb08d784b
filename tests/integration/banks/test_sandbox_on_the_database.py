"""The sandbox issuers' stories, told again on the store ``KLELINE_BANK_URL=sandbox:`` uses: the database.

The same tests as ``tests/unit/banks/test_sandbox*.py`` (which run on the store kept in memory), with the issuers'
books in ``DatabaseSandboxStore`` on each backend: both stores keep the same records the same way. Then what only
the database gives: the books outlive the object that wrote them, two processes' issuers are the same issuers, and no
card number or security code reaches a table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from kleline.banks import CardDetails, DatabaseSandboxStore, InProcessTransport, IsoBankNetwork, SandboxIssuers
from kleline.clock import Clock
from kleline.db.engine import Database
from kleline.money import Money

from ...conftest import FakeClock
from ...unit.banks.conftest import fixed_clock
from ...unit.banks.test_sandbox import (  # noqa: F401 (collected here, on this module's fixtures)
    test_a_card_is_valid_to_the_end_of_its_expiry_month,
    test_a_closed_authorisation_is_neither_captured_after_reversal_nor_reversed_after_capture,
    test_a_partial_capture_takes_its_amount_and_releases_the_rest,
    test_a_retry_with_the_same_reference_gets_the_first_answer_and_holds_once,
    test_a_verification_holds_nothing_so_there_is_nothing_to_capture,
    test_an_unknown_authorisation_id_is_refused,
    test_capture_above_the_authorised_amount_is_refused_and_changes_nothing,
    test_card_verification_is_a_zero_amount_authorisation_that_holds_nothing,
    test_insufficient_funds_comes_from_earlier_holds_and_goes_after_a_reversal,
    test_numbers_outside_the_test_set_follow_the_luhn_check_and_the_card_ranges,
    test_reversing_twice_is_harmless,
    test_the_approving_test_cards_are_approved_and_hold_the_amount,
    test_the_declining_test_cards_decline_with_their_code_as_a_value,
    test_the_same_capture_again_is_harmless_but_another_is_refused,
    test_the_sandbox_books_are_only_for_its_cardholders,
    test_the_security_code_check_is_reported_and_skipped_without_a_code,
    test_the_security_code_is_in_no_result_and_not_kept_by_the_issuers,
    test_twenty_threads_never_overdraw_one_cardholder,
)
from ...unit.banks.test_sandbox_retention import (  # noqa: F401
    test_a_recent_authorisation_is_still_reversed_and_a_forgotten_one_is_unknown,
    test_a_thousand_authorisations_over_days_leave_only_the_last_hour_remembered,
    test_activity_keeps_an_authorisation_remembered,
)

FINGERPRINT_KEY = b"sandbox-test-fingerprint-key-32b"
VISA = "4242424242424242"


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    try:
        yield database
    finally:
        database.dispose()


def on_database(db: Database, clock: Clock, **options: Any) -> SandboxIssuers:
    """Sandbox issuers whose books are in ``db``, as ``KLELINE_BANK_URL=sandbox:`` builds them."""
    return SandboxIssuers(clock=clock, store=DatabaseSandboxStore(db, FINGERPRINT_KEY), **options)


@pytest.fixture
def issuers(db: Database) -> SandboxIssuers:
    return on_database(db, fixed_clock)


@pytest.fixture
def network(issuers: SandboxIssuers) -> IsoBankNetwork:
    return IsoBankNetwork(InProcessTransport(issuers), clock=fixed_clock)


@pytest.fixture
def sandbox(db: Database) -> Callable[..., SandboxIssuers]:
    return lambda clock, **options: on_database(db, clock, **options)


def euros(minor: int) -> Money:
    return Money(minor, "EUR")


def test_an_authorisation_outlives_the_issuers_that_made_it_and_is_captured_by_others(
    db: Database, clock: FakeClock
) -> None:
    first = IsoBankNetwork(InProcessTransport(on_database(db, clock)), clock=clock)
    authorization = first.authorize(first_card(), euros(2_500), "pay_1")
    assert authorization.authorization_id is not None
    other_db = Database(db.url)  # another process: its own connections, its own issuers object
    try:
        second_issuers = on_database(other_db, clock)
        second = IsoBankNetwork(InProcessTransport(second_issuers), clock=clock)
        assert second_issuers.balance(VISA, "EUR").held == euros(2_500)
        assert second.capture(authorization.authorization_id, euros(2_000)).code == "00"
        assert first.capture(authorization.authorization_id, euros(2_000)).code == "00"  # the same advice: once
        assert second.refund(authorization.authorization_id, euros(500), "re_1").code == "00"
        assert first.refund(authorization.authorization_id, euros(500), "re_1").code == "00"  # credited once
        balance = second_issuers.balance(VISA, "EUR")
        assert (balance.posted, balance.held) == (euros(10_000_000 - 2_000 + 500), euros(0))
        assert second_issuers.remembered == 1
    finally:
        other_db.dispose()


def test_no_card_number_or_security_code_reaches_the_database(db: Database, clock: FakeClock) -> None:
    issuers = on_database(db, clock)
    network = IsoBankNetwork(InProcessTransport(issuers), clock=clock)
    authorization = network.authorize(first_card(), euros(100), "pay_1")
    assert authorization.authorization_id is not None
    network.capture(authorization.authorization_id, euros(100))
    network.refund(authorization.authorization_id, euros(40), "re_1")
    with db.transaction(write=False) as tx:
        rows = [
            repr(row)
            for table in ("sandbox_cardholders", "sandbox_balances", "sandbox_rrns", "sandbox_refunds")
            for row in tx.fetchall(f"SELECT * FROM {table}")
        ]
    assert len(rows) == 4
    assert not any(VISA in row or VISA[-4:] + "'" in row or "'123'" in row for row in rows)


def first_card() -> CardDetails:
    return CardDetails(VISA, 12, 2030, "123")
