"""Importing camt.053 statements: every line matched to what it confirms, or held in suspense for an operator.

1. The document is read and checked whole before anything is written (``kleline.sepa.read_statements``: XML,
   schema, amounts): a malformed file, a statement of another account, or a statement id imported before with
   other content is refused and leaves no trace.
2. Each statement is recorded (once: its id is derived from the account and the bank's statement id), then each
   line in a transaction of its own, under the statement's row lock: the line's row, the entry that confirms its
   counterpart (or moves its money into suspense), the counterpart's new state and event, and the suspense item
   commit together. A crash between two lines loses nothing; importing again skips the lines already recorded and
   finishes the statement.
3. A line whose counterpart's service refuses the confirmation (say, a payout another line already paid) is rolled
   back and recorded again in suspense with the refusal as its reason: nothing half-done, nothing lost.

The same statement imported again (same content) changes nothing and answers the first result. A booking that
reappears in a later, overlapping statement (same bank entry reference, same content) is a *duplicate*: recorded,
never posted. The same entry reference with other content is held in suspense (``reference_reused``).
"""

from __future__ import annotations

import builtins
from collections.abc import Callable

from kleline.clock import Clock, epoch_us
from kleline.db.engine import INTEGRITY_ERRORS, Database, RawTx
from kleline.errors import KlelineError
from kleline.ledger import EntryRequest, Ledger, NormalSide, UnknownAccount
from kleline.reconciliation import store, suspense_store
from kleline.reconciliation.counterparts import Counterparts
from kleline.reconciliation.errors import (
    StatementConflict,
    StatementNotFound,
    StatementTooLarge,
    UnknownBankAccount,
)
from kleline.reconciliation.identity import content_hash, line_id, same_booking, statement_key, suspense_item_id
from kleline.reconciliation.model import (
    ImportResult,
    LineOutcome,
    LineStatus,
    Match,
    StatementImport,
    Suspend,
    SuspenseReason,
    decide,
    unpostable,
)
from kleline.reconciliation.postings import SUSPENSE_ACCOUNT, into_suspense
from kleline.sepa import DEFAULT_MAX_BYTES, BankStatement, MalformedStatement, OwnAccount, read_statements
from kleline.sepa.model import StatementLine
from kleline.wallet.customers import PURSE_CURRENCY

__all__ = ["Reconciliation"]

_ATTEMPTS = 3


class Reconciliation:
    """Import bank statements of Kleline's own account, and read what they matched."""

    def __init__(
        self,
        db: Database,
        ledger: Ledger,
        own: OwnAccount,
        counterparts: Counterparts,
        *,
        clock: Clock,
        max_bytes: int = DEFAULT_MAX_BYTES,
        on_line: Callable[[str, int], None] | None = None,
    ) -> None:
        self._db = db
        self._ledger = ledger
        self._own = own
        self._counterparts = counterparts
        self._clock = clock
        self.max_bytes = max_bytes
        # Called with the statement and the position of each line once it is committed: tests stop an import there
        # (as a crash would) and check that importing again finishes it with every line posted once.
        self._on_line = on_line

    def import_document(self, xml: bytes) -> ImportResult:
        """Reconcile every statement of a camt.053 document; a document imported before answers what it did then."""
        if len(xml) > self.max_bytes:
            raise StatementTooLarge(f"the document is {len(xml)} bytes; an import takes at most {self.max_bytes}")
        statements = read_statements(xml, max_bytes=self.max_bytes)
        if not statements:
            raise MalformedStatement("the document holds no statement")
        planned: dict[str, tuple[BankStatement, str]] = {}
        for statement in statements:
            self._check_account(statement)
            key, digest = statement_key(statement.account_iban, statement.statement_id), content_hash(statement)
            if key in planned and planned[key][1] != digest:
                raise StatementConflict(
                    f"the document holds statement {statement.statement_id!r} twice, with different content"
                )
            planned[key] = (statement, digest)
        with self._db.transaction(write=False) as tx:
            for key, (statement, digest) in planned.items():
                header = store.statement_header(tx, key)
                if header is not None and header.content_hash != digest:
                    raise _conflict(statement)
        currency = self._books_currency()
        replayed = True
        for key, (statement, digest) in planned.items():
            replayed = self._import(key, statement, digest, currency) and replayed
        return ImportResult(tuple(self.statement(key) for key in planned), replayed)

    def statement(self, key: str) -> StatementImport:
        """An imported statement, with each line's outcome."""
        with self._db.transaction(write=False) as tx:
            found = store.load_statement(tx, key)
        if found is None:
            raise StatementNotFound(f"no bank statement {key}", param="id")
        return found

    def statements(self, *, limit: int = 20, after: str | None = None) -> tuple[builtins.list[StatementImport], bool]:
        """A page of imported statements, newest import first (without their lines), and whether more follow."""
        with self._db.transaction(write=False) as tx:
            if after is not None and store.statement_header(tx, after) is None:
                raise StatementNotFound(f"no bank statement {after}", param="starting_after")
            found = store.list_statements(tx, limit=limit + 1, after=after)
        return found[:limit], len(found) > limit

    # --- importing --------------------------------------------------------------------------------------------

    def _check_account(self, statement: BankStatement) -> None:
        if statement.account_iban.replace(" ", "").upper() != self._own.iban.replace(" ", "").upper():
            raise UnknownBankAccount(
                f"statement {statement.statement_id!r} is for account {statement.account_iban}, not Kleline's "
                f"safeguarding account {self._own.iban}",
                param="account_iban",
            )

    def _books_currency(self) -> str:
        """The currency of the safeguarding account's books, opening it (and suspense) on first use."""
        try:
            currency = self._ledger.account(self._own.safeguarding_code).currency
        except UnknownAccount:
            # Kleline's books are in euros, the purse's currency; open_system_accounts opens the same account.
            currency = self._ledger.open_account(self._own.safeguarding_code, PURSE_CURRENCY, NormalSide.DEBIT).currency
        try:
            self._ledger.account(SUSPENSE_ACCOUNT)
        except UnknownAccount:
            self._ledger.open_account(SUSPENSE_ACCOUNT, currency, NormalSide.CREDIT)
        return currency

    def _import(self, key: str, statement: BankStatement, digest: str, currency: str) -> bool:
        """Import one statement; True when it had been imported completely before (nothing done now)."""
        completed = self._begin(key, statement, digest)
        if completed:
            return True
        for position, line in enumerate(statement.lines):
            self._line(key, statement.account_iban, position, line, currency)
            if self._on_line is not None:
                self._on_line(key, position)
        with self._db.transaction() as tx:
            store.complete_statement(tx, key, epoch_us(self._clock()))
        return False

    def _begin(self, key: str, statement: BankStatement, digest: str) -> bool:
        """Record the statement unless it is; whether its import was already complete."""
        for _ in range(_ATTEMPTS):
            try:
                with self._db.transaction() as tx:
                    header = store.statement_header(tx, key)
                    if header is None:
                        store.insert_statement(tx, key, statement, digest, epoch_us(self._clock()))
                        return False
            except INTEGRITY_ERRORS:
                continue  # a concurrent import of the same statement recorded it first: read it
            if header.content_hash != digest:
                raise _conflict(statement)
            return header.completed
        raise AssertionError("unreachable: the statement row either exists or was just inserted")

    def _line(self, key: str, iban: str, position: int, line: StatementLine, currency: str) -> None:
        """Record and settle one line in a transaction of its own (see the module's docstring)."""
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


def _conflict(statement: BankStatement) -> StatementConflict:
    return StatementConflict(
        f"statement {statement.statement_id!r} of {statement.account_iban} was imported before with other content",
        param="statement_id",
    )


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
