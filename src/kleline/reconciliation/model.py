"""Reconciliation's rules as pure functions: what a statement line is, and what Kleline does with it.

A bank statement line either confirms something Kleline sent or expected (a payout leaving, a direct debit
collected, a card network settling captures or refunds), reverses it (an R-transaction: a payout or a collection
returned, with an ISO reason code), or is something the books cannot explain. ``decide`` compares one line with the
object its end-to-end id names (its *counterpart*) and answers either a ``Match`` (post the confirming entry) or a
``Suspend`` (park the money in ``kleline:suspense`` and ask an operator), with the reason an operator reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final

from kleline.money import Money
from kleline.sepa.model import Direction, StatementLine

__all__ = [
    "Action",
    "Counterpart",
    "ImportResult",
    "LineOutcome",
    "LineStatus",
    "Match",
    "Resolution",
    "StatementImport",
    "Suspend",
    "SuspenseItem",
    "SuspenseReason",
    "Target",
    "decide",
    "expected_direction",
    "unpostable",
]


class Target(StrEnum):
    """The kinds of object a statement line can confirm or reverse."""

    PAYOUT = "payout"  # a pain.001 credit transfer to a merchant (e2e = po_...)
    COLLECTION = "collection"  # a pain.008 direct debit topping up a purse (e2e = the collection's id)
    CARD_PAYMENT = "card_payment"  # a card network settling a captured payment (e2e = its authorisation's RRN)
    CARD_TOP_UP = "card_top_up"  # a card network settling a purse top-up by card (e2e = its RRN)
    CARD_REFUND = "card_refund"  # a card network charging back a refund to the cardholder (e2e = re_...)


class Action(StrEnum):
    """What a line does to its counterpart."""

    CONFIRM = "confirm"  # the bank carried it out
    RETURN = "return"  # the bank reversed it (an R-transaction with a reason code)


class LineStatus(StrEnum):
    """Where a statement line ended."""

    MATCHED = "matched"  # posted against its counterpart
    SUSPENSE = "suspense"  # unexplained: an open suspense item holds it
    DUPLICATE = "duplicate"  # the same booking as a line already imported (same entry reference): nothing posted


class SuspenseReason(StrEnum):
    """Why a line went to suspense instead of being matched."""

    UNKNOWN_REFERENCE = "unknown_reference"  # no end-to-end id, or one that names nothing in the books
    AMOUNT_MISMATCH = "amount_mismatch"  # the counterpart was for another amount
    DIRECTION_MISMATCH = "direction_mismatch"  # money moved the other way from what the counterpart implies
    ALREADY_MATCHED = "already_matched"  # the counterpart was already confirmed (or returned) by another line
    UNEXPECTED_RETURN = "unexpected_return"  # a return of something that cannot be returned (a card settlement)
    OTHER_CURRENCY = "other_currency"  # not in the books' currency: recorded, nothing posted
    REFERENCE_REUSED = "reference_reused"  # the bank's entry reference was seen before with other content
    REFUSED = "refused"  # the counterpart's service refused the confirmation (its state did not allow it)
    ZERO_AMOUNT = "zero_amount"  # the line moves no money (a bank may report one): recorded, nothing posted

    @property
    def posts(self) -> bool:
        """True when a line held for this reason moves its money into suspense; False when there is nothing the
        books could hold (no money, or money in a currency the account is not kept in)."""
        return self not in (SuspenseReason.OTHER_CURRENCY, SuspenseReason.ZERO_AMOUNT)


_CONFIRMS_AS: Final = {
    Target.PAYOUT: Direction.DEBIT,
    Target.COLLECTION: Direction.CREDIT,
    Target.CARD_PAYMENT: Direction.CREDIT,
    Target.CARD_TOP_UP: Direction.CREDIT,
    Target.CARD_REFUND: Direction.DEBIT,
}
_RETURNABLE: Final = frozenset({Target.PAYOUT, Target.COLLECTION})


def expected_direction(target: Target, action: Action) -> Direction:
    """Which way money moves on Kleline's account when the bank confirms (or returns) a ``target``."""
    confirm = _CONFIRMS_AS[target]
    if action is Action.CONFIRM:
        return confirm
    return Direction.CREDIT if confirm is Direction.DEBIT else Direction.DEBIT


@dataclass(frozen=True, slots=True)
class Counterpart:
    """The object a line's end-to-end id names, as far as reconciliation needs to know it."""

    target: Target
    id: str
    amount: Money
    confirmed: bool  # a line (or an operator's resolution) already confirmed it
    returned: bool  # a line (or an operator's resolution) already returned it
    account: str | None = None  # the account a card settlement clears (a network's receivable); None otherwise


@dataclass(frozen=True, slots=True)
class Match:
    """Post ``action`` against ``counterpart``."""

    counterpart: Counterpart
    action: Action


@dataclass(frozen=True, slots=True)
class Suspend:
    """Park the line in suspense for an operator, saying why."""

    reason: SuspenseReason
    detail: str


def unpostable(line: StatementLine, books_currency: str) -> Suspend | None:
    """Why the books cannot hold ``line`` at all (another currency, no money), or None."""
    if line.amount.currency != books_currency:
        return Suspend(
            SuspenseReason.OTHER_CURRENCY,
            f"the line is in {line.amount.currency}; the books for this account are in {books_currency}",
        )
    if line.amount.minor == 0:
        return Suspend(SuspenseReason.ZERO_AMOUNT, "the line moves no money")
    return None


def decide(line: StatementLine, counterpart: Counterpart | None, books_currency: str) -> Match | Suspend:
    """Match ``line`` to ``counterpart``, or say why it must wait in suspense."""
    refusal = unpostable(line, books_currency)
    if refusal is not None:
        return refusal
    if counterpart is None:
        if not line.end_to_end_id:
            return Suspend(SuspenseReason.UNKNOWN_REFERENCE, "the line carries no end-to-end id")
        return Suspend(
            SuspenseReason.UNKNOWN_REFERENCE,
            f"no payout, collection, card settlement or refund has end-to-end id {line.end_to_end_id!r}",
        )
    action = Action.RETURN if line.return_reason else Action.CONFIRM
    name = f"{counterpart.target.value.replace('_', ' ')} {counterpart.id}"
    if action is Action.RETURN and counterpart.target not in _RETURNABLE:
        return Suspend(
            SuspenseReason.UNEXPECTED_RETURN, f"a return ({line.return_reason}) of {name}, which cannot be returned"
        )
    if action is Action.RETURN and not counterpart.confirmed:
        # A return is the bank undoing a booking it made: the payout's debit, the collection's credit. Until a line
        # has shown that booking (statements imported out of order), matching the return would book the bank
        # movement against in-transit instead of the safeguarding account that mirrors the bank. Hold it: once
        # the booking's line is in, an operator resolves this item to the same object.
        return Suspend(
            SuspenseReason.UNEXPECTED_RETURN,
            f"a return ({line.return_reason}) of {name}, which no statement line has shown the bank booking yet",
        )
    expected = expected_direction(counterpart.target, action)
    if line.direction is not expected:
        if action is Action.RETURN:
            detail = f"a {line.direction.value} return of {name}, whose return the bank books as a {expected.value}"
        else:
            detail = f"a {line.direction.value} line for {name}, which the bank books as a {expected.value}"
        return Suspend(SuspenseReason.DIRECTION_MISMATCH, detail)
    if line.amount != counterpart.amount:
        return Suspend(SuspenseReason.AMOUNT_MISMATCH, f"the line is {line.amount}, {name} is {counterpart.amount}")
    if action is Action.CONFIRM and counterpart.confirmed:
        return Suspend(SuspenseReason.ALREADY_MATCHED, f"{name} was already confirmed by another line")
    if action is Action.RETURN and counterpart.returned:
        return Suspend(SuspenseReason.ALREADY_MATCHED, f"{name} was already returned by another line")
    return Match(counterpart, action)


@dataclass(frozen=True, slots=True)
class LineOutcome:
    """One line of an imported statement and what became of it."""

    id: str
    position: int
    line: StatementLine
    status: LineStatus
    target: Target | None  # what it matched (None in suspense or as a duplicate)
    action: Action | None
    object_id: str | None  # the payout, collection, payment, top-up or refund it matched
    entry_id: str | None  # the ledger entry it posted (None for a duplicate or a line in another currency)
    suspense_item_id: str | None
    reason: SuspenseReason | None
    duplicate_of: str | None  # the earlier line with the same entry reference


@dataclass(frozen=True, slots=True)
class StatementImport:
    """A statement as imported: the bank's identifiers and balances, how its lines ended, and (when asked for one
    statement) each line's outcome."""

    id: str
    account_iban: str
    statement_id: str
    message_id: str
    currency: str
    created_at: datetime
    opening_balance: Money | None
    closing_balance: Money | None
    imported_at: datetime
    completed_at: datetime | None  # None while an import is under way, or was interrupted (importing again ends it)
    line_count: int
    matched: int
    unmatched: int  # lines in suspense
    duplicates: int
    lines: tuple[LineOutcome, ...] | None  # None in listings


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What importing a camt.053 document did: each of its statements, and whether all were imported before."""

    statements: tuple[StatementImport, ...]
    replayed: bool  # True when every statement had been imported already: nothing changed

    @property
    def matched(self) -> int:
        """Lines matched, across the document's statements."""
        return sum(statement.matched for statement in self.statements)

    @property
    def unmatched(self) -> int:
        """Lines sent to suspense, across the document's statements."""
        return sum(statement.unmatched for statement in self.statements)

    @property
    def duplicates(self) -> int:
        """Lines that repeated a booking already imported, across the document's statements."""
        return sum(statement.duplicates for statement in self.statements)


@dataclass(frozen=True, slots=True)
class SuspenseItem:
    """A statement line the books could not explain, waiting for (or closed by) an operator."""

    id: str
    line_id: str
    statement_id: str  # Kleline's statement id (bst_...)
    line: StatementLine
    reason: SuspenseReason
    detail: str
    status: str  # "open" or "resolved"
    entry_id: str | None  # the entry that moved the line's money into suspense (None: nothing was posted)
    created_at: datetime
    resolution: Resolution | None


@dataclass(frozen=True, slots=True)
class Resolution:
    """How an operator closed a suspense item: the object or account the money belonged to, and why."""

    kind: str  # a Target value, "account", or "dismissed" (nothing was posted, nothing to move)
    target: str | None  # the object id or account code
    entry_id: str | None
    note: str | None
    resolved_at: datetime
    resolved_by: str | None
