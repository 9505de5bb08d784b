"""Importing statements: exactly once whatever happens (twice, concurrently, interrupted, overlapping), and refused
whole, with no trace, when the document is not a usable statement of Kleline's account."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from functools import partial

import pytest

from kleline.bootstrap import Kleline
from kleline.reconciliation import (
    Counterparts,
    LineStatus,
    Reconciliation,
    StatementConflict,
    SuspenseReason,
    Target,
    UnknownBankAccount,
)
from kleline.sepa import MalformedStatement, read_statement, read_statements

from ...operator_keys import OPERATOR
from ..helpers import book_snapshot, count_rows
from .conftest import RECEIVABLE, SUSPENSE, World, balance, balanced, credit, debit, statement
from .handmade import camt053_v08, entry

TABLES = ("bank_statements", "bank_statement_lines", "suspense_items", "events")


def rows(kleline: Kleline) -> tuple[int, ...]:
    """Counts of what reconciliation writes, and of the books."""
    return (*(count_rows(kleline.db, table) for table in TABLES), *book_snapshot(kleline.db))


class Crash(Exception):
    """Stands for the process dying between two lines."""


def test_importing_the_same_statement_twice_changes_nothing_and_answers_the_first_result(
    kleline: Kleline, world: World
) -> None:
    payment = world.card_payment(2_500)
    document = statement(kleline, credit("NTRY-1", 2_500, payment.authorization_id), credit("NTRY-2", 10, "X"))
    first = kleline.reconciliation.import_document(document, actor=OPERATOR)
    before = rows(kleline)

    again = kleline.reconciliation.import_document(document, actor=OPERATOR)

    assert rows(kleline) == before
    assert (again.replayed, first.replayed) == (True, False)
    assert again.statements == first.statements
    assert (again.matched, again.unmatched) == (1, 1)


def test_the_same_statement_in_another_camt_version_is_recognised_as_the_same(kleline: Kleline) -> None:
    version_02 = statement(kleline, credit("NTRY-1", 1_000, "REF-1"), debit("NTRY-2", 400, None))
    version_08 = camt053_v08(
        kleline.own_account.iban,
        [entry("NTRY-1", "10.00", "CRDT", e2e="REF-1"), entry("NTRY-2", "4.00", "DBIT")],
        opening="0.00",
        closing="6.00",
    )
    assert read_statement(version_08) == read_statement(version_02)  # what the test rests on
    kleline.reconciliation.import_document(version_02, actor=OPERATOR)
    before = rows(kleline)

    assert kleline.reconciliation.import_document(version_08, actor=OPERATOR).replayed
    assert rows(kleline) == before


def test_a_statement_id_imported_before_with_other_content_is_refused_whole(kleline: Kleline) -> None:
    kleline.reconciliation.import_document(statement(kleline, credit("NTRY-1", 1_000, "REF-1")), actor=OPERATOR)
    before = rows(kleline)

    with pytest.raises(StatementConflict) as refused:
        kleline.reconciliation.import_document(
            statement(kleline, credit("NTRY-1", 1_000, "REF-1"), credit("NTRY-2", 5, "REF-2")), actor=OPERATOR
        )

    assert refused.value.status == 409
    assert rows(kleline) == before


def test_a_booking_repeated_by_an_overlapping_statement_is_recorded_as_a_duplicate_and_posted_once(
    kleline: Kleline, world: World
) -> None:
    payment = world.card_payment(2_500)
    shared = credit("NTRY-1", 2_500, payment.authorization_id)
    kleline.reconciliation.import_document(statement(kleline, shared, statement_id="STMT-1"), actor=OPERATOR)

    result = kleline.reconciliation.import_document(
        statement(kleline, shared, credit("NTRY-2", 700, "X"), statement_id="STMT-2"), actor=OPERATOR
    )

    (duplicate, other) = result.statements[0].lines or ()
    first_line = kleline.reconciliation.statements()[0][1].id  # the older statement
    assert (duplicate.status, duplicate.entry_id) == (LineStatus.DUPLICATE, None)
    assert duplicate.duplicate_of == (kleline.reconciliation.statement(first_line).lines or ())[0].id
    assert other.status is LineStatus.SUSPENSE
    assert (result.matched, result.unmatched, result.duplicates) == (0, 1, 1)
    assert balance(kleline, kleline.own_account.safeguarding_code) == 3_200
    assert balance(kleline, RECEIVABLE) == 0
    balanced(kleline)


def test_an_entry_reference_seen_before_with_other_content_is_held_rather_than_dropped(kleline: Kleline) -> None:
    kleline.reconciliation.import_document(statement(kleline, credit("NTRY-1", 1_000, "REF-1")), actor=OPERATOR)

    result = kleline.reconciliation.import_document(
        statement(kleline, credit("NTRY-1", 1_500, "REF-1"), statement_id="STMT-2"), actor=OPERATOR
    )

    (line,) = result.statements[0].lines or ()
    assert (line.status, line.reason) == (LineStatus.SUSPENSE, SuspenseReason.REFERENCE_REUSED)
    assert line.duplicate_of is not None
    assert balance(kleline, SUSPENSE) == 2_500  # both movements are real until an operator says otherwise


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (b"this is not XML", "line 1"),
        (b"", "the file is empty"),
        (b'<?xml version="1.0"?><Document xmlns="urn:example"/>', "not a camt.053 statement"),
        (b'<!DOCTYPE d [<!ENTITY x "y">]><d>&x;</d>', "DOCTYPE"),
    ],
)
def test_a_document_that_is_not_a_statement_is_refused_with_where_and_changes_nothing(
    kleline: Kleline, document: bytes, expected: str
) -> None:
    before = rows(kleline)

    with pytest.raises(MalformedStatement) as refused:
        kleline.reconciliation.import_document(document, actor=OPERATOR)

    assert expected in refused.value.detail
    assert (refused.value.status, refused.value.code) == (400, "malformed_statement")
    assert rows(kleline) == before


def test_a_statement_breaking_its_schema_is_refused_naming_the_element(kleline: Kleline) -> None:
    valid = statement(kleline, credit("NTRY-1", 1_000, "REF-1"))
    broken = valid.replace(b"<CdtDbtInd>CRDT</CdtDbtInd>", b"<CdtDbtInd>SIDEWAYS</CdtDbtInd>", 1)
    before = rows(kleline)

    with pytest.raises(MalformedStatement) as refused:
        kleline.reconciliation.import_document(broken, actor=OPERATOR)

    assert "CdtDbtInd" in (refused.value.path or "") + refused.value.detail
    assert refused.value.line is not None
    assert rows(kleline) == before


def test_a_statement_of_another_account_is_refused_before_anything_is_written(kleline: Kleline) -> None:
    before = rows(kleline)

    with pytest.raises(UnknownBankAccount) as refused:
        kleline.reconciliation.import_document(
            statement(kleline, credit("NTRY-1", 1_000, "REF-1"), iban="DE89370400440532013000"), actor=OPERATOR
        )

    assert (refused.value.status, refused.value.code) == (400, "unknown_bank_account")
    assert rows(kleline) == before


def test_hand_made_edge_cases_reconcile_as_a_bank_would_mean_them(kleline: Kleline, world: World) -> None:
    first, second = world.card_payment(1_500), world.card_payment(2_000)
    payout = world.payout(1_000)  # its own payment: 1,000 at 3.5 %, then every balance is paid out
    paid_out = f"{payout.amount.to_decimal():f}"
    document = camt053_v08(
        kleline.own_account.iban,
        [
            entry(
                "BATCH-1",
                "35.00",
                "CRDT",
                details=[(first.authorization_id, "15.00"), (second.authorization_id, "20.00")],
            ),
            entry("PAYOUT-1", paid_out, "DBIT", e2e=payout.id),
            entry("RETURN-1", paid_out, "CRDT", e2e=payout.id, reason="AC04"),
            entry("UNKNOWN-1", "3.00", "CRDT", e2e="NOTPROVIDED"),
            entry("USD-1", "10.00", "CRDT", currency="USD"),
            entry("PENDING-1", "99.00", "CRDT", status="PDNG"),
        ],
    )

    result = kleline.reconciliation.import_document(document, actor=OPERATOR)

    lines = result.statements[0].lines or ()
    assert [(line.line.entry_ref, line.status, line.target or line.reason) for line in lines] == [
        ("BATCH-1/1", LineStatus.MATCHED, Target.CARD_PAYMENT),
        ("BATCH-1/2", LineStatus.MATCHED, Target.CARD_PAYMENT),
        ("PAYOUT-1", LineStatus.MATCHED, Target.PAYOUT),
        ("RETURN-1", LineStatus.MATCHED, Target.PAYOUT),
        ("UNKNOWN-1", LineStatus.SUSPENSE, SuspenseReason.UNKNOWN_REFERENCE),
        ("USD-1", LineStatus.SUSPENSE, SuspenseReason.OTHER_CURRENCY),
    ]  # the pending entry may still change: it is booked when a later statement shows it BOOK
    assert kleline.settlement.get_payout(payout.id).status == "failed"
    assert balance(kleline, RECEIVABLE) == 1_000  # only the payout's own payment is not settled yet
    assert balance(kleline, SUSPENSE) == 300
    balanced(kleline)


def test_a_document_with_two_statements_imports_both(kleline: Kleline) -> None:
    iban = kleline.own_account.iban
    two = camt053_v08(
        iban,
        [entry("A-1", "1.00", "CRDT", e2e="A")],
        extra_statements=[("STMT-B", [entry("B-1", "2.00", "DBIT", e2e="B")])],
    )
    assert len(read_statements(two)) == 2

    result = kleline.reconciliation.import_document(two, actor=OPERATOR)

    assert [s.statement_id for s in result.statements] == ["STMT-1", "STMT-B"]
    assert result.unmatched == 2
    assert balance(kleline, SUSPENSE) == -100


def test_an_import_stopped_between_lines_is_finished_by_importing_again_each_line_posted_once(
    kleline: Kleline, world: World
) -> None:
    payments = [world.card_payment(1_000 + n) for n in range(4)]
    document = statement(
        kleline, *(credit(f"NTRY-{n}", p.amount.minor, p.authorization_id) for n, p in enumerate(payments))
    )
    counterparts = Counterparts(kleline.ledger, kleline.own_account, kleline.settlement, kleline.collections)

    def crash_after_second(_statement: str, position: int) -> None:
        if position == 1:
            raise Crash

    stopping = Reconciliation(
        kleline.db, kleline.ledger, kleline.own_account, counterparts, clock=kleline.clock, on_line=crash_after_second
    )
    with pytest.raises(Crash):
        stopping.import_document(document, actor=OPERATOR)
    (interrupted,) = kleline.reconciliation.statements()[0]
    assert (interrupted.completed_at, interrupted.matched) == (None, 2)
    assert balance(kleline, RECEIVABLE) == 2_005

    result = kleline.reconciliation.import_document(document, actor=OPERATOR)

    assert (result.replayed, result.matched, result.statements[0].completed_at is not None) == (False, 4, True)
    assert balance(kleline, RECEIVABLE) == 0
    assert balance(kleline, kleline.own_account.safeguarding_code) == sum(p.amount.minor for p in payments)
    balanced(kleline)


@pytest.mark.slow
def test_concurrent_imports_of_the_same_statement_post_each_line_once(kleline: Kleline, world: World) -> None:
    payments = [world.card_payment(1_000 + n) for n in range(3)]
    payout = world.payout(1_000)
    document = statement(
        kleline,
        *(credit(f"NTRY-{n}", p.amount.minor, p.authorization_id) for n, p in enumerate(payments)),
        debit("NTRY-P", payout.amount.minor, payout.id),
        credit("NTRY-X", 42, "UNKNOWN"),
    )

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: kleline.reconciliation.import_document(document, actor=OPERATOR), range(4)))

    assert {(r.matched, r.unmatched) for r in results} == {(4, 1)}
    assert count_rows(kleline.db, "bank_statement_lines") == 5
    assert count_rows(kleline.db, "suspense_items") == 1
    assert balance(kleline, RECEIVABLE) == 1_000  # the payout's own payment is the one not settled
    assert balance(kleline, SUSPENSE) == 42
    balanced(kleline)


@pytest.mark.slow
def test_concurrent_overlapping_statements_settle_a_shared_capture_once(kleline: Kleline, world: World) -> None:
    payment = world.card_payment(2_000)
    shared = credit("NTRY-1", 2_000, payment.authorization_id)
    documents = [
        statement(kleline, shared, replace(shared, entry_ref=f"OTHER-{n}", amount=shared.amount), statement_id=f"S-{n}")
        for n in range(4)
    ]

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(partial(kleline.reconciliation.import_document, actor=OPERATOR), documents))

    assert balance(kleline, RECEIVABLE) == 0
    # NTRY-1 is one booking (posted once, three duplicates); each OTHER-n settles the same capture again: held.
    assert count_rows(kleline.db, "suspense_items") == 4
    assert balance(kleline, kleline.own_account.safeguarding_code) == 5 * 2_000
    assert balance(kleline, SUSPENSE) == 4 * 2_000
    balanced(kleline)
