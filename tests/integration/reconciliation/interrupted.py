"""An import interrupted half-way, and what finishing it must leave: the story every interrupted-import test tells
(a statement of five lines naming real payments and a payout), a way to cut an import off after a chosen line, and
the checks that every line was booked once, as an import never interrupted books it."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest

from kleline.bootstrap import Kleline
from kleline.merchants.model import balance_account
from kleline.payments.model import Payment
from kleline.reconciliation import Counterparts, LineStatus, Reconciliation
from kleline.reconciliation.identity import statement_key
from kleline.settlement import Payout
from kleline.worker.sweeps import STALLED_AFTER

from ...operator_keys import OPERATOR
from ..helpers import book_snapshot, count_rows
from .conftest import RECEIVABLE, SUSPENSE, World, balance, balanced, credit, debit, statement

TABLES = ("bank_statements", "bank_statement_lines", "suspense_items", "events", "statement_documents")
EXPECTED = [LineStatus.MATCHED, LineStatus.MATCHED, LineStatus.SUSPENSE, LineStatus.MATCHED, LineStatus.MATCHED]


class Crash(Exception):
    """Stands for the process dying between two lines."""


@dataclass(frozen=True)
class Story:
    """A statement of five lines and what they name: two card settlements, a payout paid then returned, and a
    credit the books cannot explain."""

    document: bytes
    key: str
    payments: tuple[Payment, Payment]
    payout: Payout


def story(kleline: Kleline, world: World) -> Story:
    """The payments and the payout happen, then the bank writes the statement that reports them."""
    first, second = world.card_payment(1_000), world.card_payment(1_500)
    payout = world.payout(3_000)  # pays the merchant for all three payments; the third stays on the receivable
    document = statement(
        kleline,
        credit("NTRY-0", first.amount.minor, first.authorization_id),
        debit("NTRY-P", payout.amount.minor, payout.id),
        credit("NTRY-X", 42, "UNKNOWN"),
        credit("NTRY-R", payout.amount.minor, payout.id, reason="AC04"),
        credit("NTRY-1", second.amount.minor, second.authorization_id),
    )
    return Story(document, statement_key(kleline.own_account.iban, "STMT-1"), (first, second), payout)


def rows(kleline: Kleline) -> tuple[int, ...]:
    """Counts of what reconciliation writes, and of the books."""
    return (*(count_rows(kleline.db, table) for table in TABLES), *book_snapshot(kleline.db))


def stopping(kleline: Kleline, after: int) -> Reconciliation:
    """Kleline's reconciliation, but crashing once the ``after``-th line it goes through (from 0) is committed."""
    seen = itertools.count()

    def after_line(_statement: str, _position: int) -> None:
        if next(seen) == after:
            raise Crash

    counterparts = Counterparts(kleline.ledger, kleline.own_account, kleline.settlement, kleline.collections)
    return Reconciliation(
        kleline.db, kleline.ledger, kleline.own_account, counterparts, clock=kleline.clock, on_line=after_line
    )


def interrupt(kleline: Kleline, document: bytes, after: int) -> None:
    with pytest.raises(Crash):
        stopping(kleline, after).import_document(document, actor=OPERATOR)


def check_interrupted(kleline: Kleline, key: str, booked: int) -> None:
    """The import stopped with ``booked`` lines recorded, each with its entry, and the books balanced."""
    found = kleline.reconciliation.statement(key)
    assert found.completed_at is None
    assert found.lines is not None and len(found.lines) == booked
    balanced(kleline)


def check_finished(kleline: Kleline, told: Story) -> None:
    """Every line booked once, as an import never interrupted books it: the settlements off the receivable, the
    payout paid then returned, the unexplained credit in suspense."""
    found = kleline.reconciliation.statement(told.key)
    assert found.completed_at is not None
    assert found.lines is not None
    assert [line.status for line in found.lines] == EXPECTED
    assert (found.matched, found.unmatched, found.duplicates) == (4, 1, 0)
    entries = [line.entry_id for line in found.lines]
    assert None not in entries and len(set(entries)) == len(entries)
    payout = kleline.settlement.get_payout(told.payout.id)
    assert (payout.status, payout.failure_reason) == ("failed", "AC04")
    settled = sum(p.amount.minor for p in told.payments)
    assert balance(kleline, RECEIVABLE) == 3_000
    assert balance(kleline, SUSPENSE) == 42
    assert balance(kleline, kleline.own_account.safeguarding_code) == settled + 42
    assert balance(kleline, balance_account(kleline.settlement.get_payout(told.payout.id).merchant_id)) == (
        told.payout.amount.minor
    )
    assert count_rows(kleline.db, "suspense_items") == 1
    balanced(kleline)


def check_settled_for_good(kleline: Kleline, told: Story) -> None:
    """A second sweep and a re-import change nothing."""
    before = rows(kleline)
    assert kleline.reconciliation.finish_interrupted(STALLED_AFTER) == []
    again = kleline.reconciliation.import_document(told.document, actor=OPERATOR)
    assert again.replayed
    assert rows(kleline) == before
