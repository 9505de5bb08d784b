"""Importing camt.053 statements: every line matched to what it confirms, or held in suspense for an operator.

1. The document is read and checked whole before anything is written (``kleline.sepa.read_statements``: XML,
   schema, amounts): a malformed file, a statement of another account, or a statement id imported before with
   other content is refused and leaves no trace.
2. Every statement of the document is recorded (once: its id is derived from the account and the bank's statement
   id) in one transaction, with the document itself (``document_store``); then each line is booked in a
   transaction of its own (``booking``). A crash between two lines loses nothing: importing again skips the lines
   already recorded and finishes the statement, and if nobody does, the worker's
   ``reconciliation.finish_interrupted`` sweep finishes it from the stored document (``finish_interrupted``).
3. A statement's import is ``importing`` until its last line is booked, then ``complete`` (``completed_at``).

An import is an operator's act (``actor``, whose role must run money): it is recorded in the staff audit trail in the
transaction that records the statements (2.), so a replay of a complete import, which writes nothing, records nothing.

The same statement imported again (same content) changes nothing and answers the first result. A booking that
reappears in a later, overlapping statement (same bank entry reference, same content) is a *duplicate*: recorded,
never posted. The same entry reference with other content is held in suspense (``reference_reused``).
"""

from __future__ import annotations

import builtins
import logging
from collections.abc import Callable
from datetime import timedelta

from kleline.clock import Clock, epoch_us
from kleline.db.engine import INTEGRITY_ERRORS, Database
from kleline.errors import KlelineError
from kleline.ledger import Ledger, NormalSide, UnknownAccount
from kleline.reconciliation import document_store, store
from kleline.reconciliation.booking import LineBooking
from kleline.reconciliation.counterparts import Counterparts
from kleline.reconciliation.document_store import Document
from kleline.reconciliation.errors import (
    StatementConflict,
    StatementNotFound,
    StatementTooLarge,
    UnknownBankAccount,
)
from kleline.reconciliation.identity import content_hash, statement_key
from kleline.reconciliation.model import ImportResult, StatementImport
from kleline.reconciliation.postings import SUSPENSE_ACCOUNT
from kleline.sepa import DEFAULT_MAX_BYTES, BankStatement, MalformedStatement, OwnAccount, read_statements
from kleline.staff import audit
from kleline.staff.actor import StaffActor
from kleline.staff.roles import Power
from kleline.wallet.customers import PURSE_CURRENCY

__all__ = ["Reconciliation"]

_ATTEMPTS = 3
_SWEEP_BATCH = 100

_log = logging.getLogger(__name__)


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
        self._clock = clock
        self._lines = LineBooking(db, ledger, own, counterparts, clock=clock)
        self.max_bytes = max_bytes
        # Called with the statement and the position of each line once it is committed: tests stop an import there
        # (as a crash would) and check that importing again, or the worker, finishes it with every line posted once.
        self._on_line = on_line

    def import_document(self, xml: bytes, *, actor: StaffActor) -> ImportResult:
        """Reconcile every statement of a camt.053 document; a document imported before answers what it did then.
        ``actor``'s role must run money."""
        actor.require(Power.RUN_MONEY)
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
        replayed = True
        with self._db.transaction(write=False) as tx:
            for key, (statement, digest) in planned.items():
                header = store.statement_header(tx, key)
                if header is not None and header.content_hash != digest:
                    raise _conflict(statement)
                replayed = replayed and header is not None and header.completed
        if replayed:  # a complete import never changes: answer it without a write (nor compressing the file)
            return ImportResult(tuple(self.statement(key) for key in planned), True)
        currency = self._books_currency()
        completed = self._begin(planned, Document.of(xml), actor)
        for key, (statement, _) in planned.items():
            if not completed[key]:
                self._book(key, statement, currency)
        return ImportResult(tuple(self.statement(key) for key in planned), all(completed.values()))

    def finish_interrupted(self, stalled_after: timedelta) -> builtins.list[str]:
        """Finish, from their stored documents, the imports a crash interrupted (untouched for ``stalled_after``);
        the ids of the statements finished."""
        now = self._clock()
        before, taken_at = epoch_us(now - stalled_after), epoch_us(now)
        with self._db.transaction(write=False) as tx:
            candidates = document_store.interrupted_imports(tx, before, _SWEEP_BATCH)
        finished = []
        for key in candidates:
            with self._db.transaction() as tx:
                store.lock_statement(tx, key)
                taken = document_store.take_up(tx, key, before, taken_at)
            if not taken:
                continue  # finished meanwhile, or taken up by another worker or by an import of the same file
            try:
                self._resume(key)
            except KlelineError:
                # The stored document is damaged, or no longer reads as it did (a stricter reader, say): leave this
                # one to an operator, logged each time a sweep takes it up again, rather than block the others.
                _log.exception("the interrupted import of bank statement %s cannot be finished", key)
                continue
            finished.append(key)
        return finished

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

    def _begin(
        self, planned: dict[str, tuple[BankStatement, str]], document: Document, actor: StaffActor
    ) -> dict[str, bool]:
        """Record the document's statements that are not, with the document and ``actor``'s audit record, in one
        transaction; whether each one's import was already complete."""
        for _ in range(_ATTEMPTS):
            completed: dict[str, bool] = {}
            try:
                with self._db.transaction() as tx:
                    now = epoch_us(self._clock())
                    for key, (statement, digest) in planned.items():
                        header = store.statement_header(tx, key)
                        if header is None:
                            store.insert_statement(tx, key, statement, digest, now)
                        elif header.content_hash != digest:
                            raise _conflict(statement)  # imported meanwhile with other content: roll back all
                        completed[key] = header is not None and header.completed
                        if not completed[key]:
                            # A statement recorded before documents were kept gets this one, to be finished from.
                            document_store.attach_document(tx, key, document, now)
                    keys = list(planned)
                    after = {
                        "statements": keys,
                        "lines": sum(len(statement.lines) for statement, _ in planned.values()),
                    }
                    at = self._clock()
                    audit.record(tx, actor, "bank_statement_imported", "bank_statement", keys[0], at=at, after=after)
                return completed
            except INTEGRITY_ERRORS:
                continue  # a concurrent import of the same statement recorded it first: read it
        raise AssertionError("unreachable: the statement rows either exist or were just inserted")

    def _book(self, key: str, statement: BankStatement, currency: str) -> None:
        """Book every line of a recorded statement not booked yet, then mark its import complete."""
        for position, line in enumerate(statement.lines):
            self._lines.book(key, statement.account_iban, position, line, currency)
            if self._on_line is not None:
                self._on_line(key, position)
        with self._db.transaction() as tx:
            store.complete_statement(tx, key, epoch_us(self._clock()))

    def _resume(self, key: str) -> None:
        """Book what an interrupted import left, reading its statement again from the stored document."""
        with self._db.transaction(write=False) as tx:
            header = store.statement_header(tx, key)
            xml = document_store.document(tx, key)
        assert header is not None and xml is not None  # a sweep took the import up by its document
        # The document was within the limit when it was imported; a limit lowered since must not strand it.
        for statement in read_statements(xml, max_bytes=max(self.max_bytes, len(xml))):
            if statement_key(statement.account_iban, statement.statement_id) == key:
                if content_hash(statement) != header.content_hash:
                    raise _conflict(statement)
                self._book(key, statement, self._books_currency())
                return
        raise MalformedStatement(f"the stored document does not hold bank statement {key}")


def _conflict(statement: BankStatement) -> StatementConflict:
    return StatementConflict(
        f"statement {statement.statement_id!r} of {statement.account_iban} was imported before with other content",
        param="statement_id",
    )
