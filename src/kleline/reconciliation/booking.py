"""Booking one statement line: recorded with what it confirms (or with its suspense item) in one transaction.

Each line is booked in a transaction of its own under its statement's row lock, and only if it is not recorded yet:
the line's row, the entry that confirms its counterpart (or moves its money into suspense), the counterpart's new
state and event, and the suspense item commit together. Whoever books a line (an import, the same import run
again, a concurrent twin, the worker finishing an interrupted import) books it once. A line whose counterpart's
service refuses the confirmation (say, a payout another line already paid) is rolled back and recorded again in
suspense with the refusal as its reason: nothing half-done, nothing lost.
"""

from __future__ import annotations

from kleline.clock import Clock, epoch_us
from kleline.db.engine import INTEGRITY_ERRORS, Database, RawTx
from kleline.errors import KlelineError
from kleline.ledger import EntryRequest, Ledger
from kleline.reconciliation import store, suspense_store
from kleline.reconciliation.counterparts import Counterparts
from kleline.reconciliation.identity import line_id, same_booking, suspense_item_id
from kleline.reconciliation.model import (
    LineOutcome,
    LineStatus,
    Match,
    Suspend,
    SuspenseReason,
    decide,
    unpostable,
)
from kleline.reconciliation.postings import into_suspense
from kleline.sepa import OwnAccount
from kleline.sepa.model import StatementLine

__all__ = ["LineBooking"]

_ATTEMPTS = 3


class LineBooking:
    """Books the lines of recorded statements, each exactly once."""

    def __init__(
        self, db: Database, ledger: Ledger, own: OwnAccount, counterparts: Counterparts, *, clock: Clock
    ) -> None:
        self._db = db
        self._ledger = ledger
        self._own = own
        self._counterparts = counterparts
        self._clock = clock

    def book(self, key: str, iban: str, position: int, line: StatementLine, currency: str) -> None:
        """Record and settle the line at ``position`` of statement ``key``, unless it is recorded already."""
        line_ref = line_id(key, position)
        refused: KlelineError | None = None
        for attempt in range(_ATTEMPTS):
            try:
                with self._db.transaction() as tx:
                    store.lock_statement(tx, key)
                    if not store.line_recorded(tx, line_ref):
                        self._settle(tx, key, iban, line_ref, position, line, currency)
                return
            except INTEGRITY_ERRORS:
                # A concurrent import of an overlapping statement recorded the same booking, or settled the same
                # card capture, first: look again, and this line is now a duplicate or an already matched one.
                if attempt == _ATTEMPTS - 1:
                    raise
            except KlelineError as error:
                refused = error
                break
        assert refused is not None
        with self._db.transaction() as tx:
            store.lock_statement(tx, key)
            if not store.line_recorded(tx, line_ref):
                decision = Suspend(SuspenseReason.REFUSED, f"{refused.code}: {refused.detail}")
                self._suspend(tx, key, iban, line_ref, position, line, decision, None)

    def _settle(
        self, tx: RawTx, key: str, iban: str, line_ref: str, position: int, line: StatementLine, currency: str
    ) -> None:
        original = store.original_line(tx, iban, line.entry_ref)
        if original is not None:
            first, seen = original
            if same_booking(seen, line):
                outcome = _outcome(line_ref, position, line, LineStatus.DUPLICATE, duplicate_of=first)
                store.insert_line(tx, key, iban, outcome, epoch_us(self._clock()))
                return
            reused = Suspend(
                SuspenseReason.REFERENCE_REUSED,
                f"the bank's entry reference {line.entry_ref!r} was first seen on line {first} with other content",
            )
            self._suspend(tx, key, iban, line_ref, position, line, unpostable(line, currency) or reused, first)
            return
        counterpart = None
        if unpostable(line, currency) is None:
            counterpart = self._counterparts.by_reference(tx, line.end_to_end_id)
        decision = decide(line, counterpart, currency)
        if isinstance(decision, Suspend):
            self._suspend(tx, key, iban, line_ref, position, line, decision, None)
            return
        entry_id = self._counterparts.confirm_in(tx, decision, line, line_ref=line_ref)
        store.insert_line(
            tx, key, iban, _matched(line_ref, position, line, decision, entry_id), epoch_us(self._clock())
        )

    def _suspend(
        self,
        tx: RawTx,
        key: str,
        iban: str,
        line_ref: str,
        position: int,
        line: StatementLine,
        decision: Suspend,
        duplicate_of: str | None,
    ) -> None:
        entry_id = None
        if decision.reason.posts:
            request = EntryRequest(
                f"{line_ref}:suspense",
                into_suspense(self._own, line),
                "bank statement line held in suspense",
                {"statement_line": line_ref, "entry_ref": line.entry_ref, "reason": decision.reason.value},
            )
            entry_id = self._ledger.post_in(tx, request).id
        item = suspense_item_id(line_ref)
        now = epoch_us(self._clock())
        outcome = _outcome(
            line_ref,
            position,
            line,
            LineStatus.SUSPENSE,
            entry_id=entry_id,
            item=item,
            reason=decision.reason,
            duplicate_of=duplicate_of,
        )
        store.insert_line(tx, key, iban, outcome, now)
        suspense_store.insert_suspense_item(tx, item, line_ref, key, decision.reason, decision.detail, entry_id, now)


def _outcome(
    line_ref: str,
    position: int,
    line: StatementLine,
    status: LineStatus,
    *,
    entry_id: str | None = None,
    item: str | None = None,
    reason: SuspenseReason | None = None,
    duplicate_of: str | None = None,
) -> LineOutcome:
    return LineOutcome(line_ref, position, line, status, None, None, None, entry_id, item, reason, duplicate_of)


def _matched(line_ref: str, position: int, line: StatementLine, match: Match, entry_id: str) -> LineOutcome:
    counterpart = match.counterpart
    return LineOutcome(
        line_ref,
        position,
        line,
        LineStatus.MATCHED,
        counterpart.target,
        match.action,
        counterpart.id,
        entry_id,
        None,
        None,
        None,
    )
