"""The operator's queue of statement lines the books could not explain, and how each is resolved.

A held line's money sits in ``kleline:suspense`` (its bank movement is already booked on the safeguarding account).
An operator resolves it in one of three ways, in one transaction under the item's row lock:

- **an object** (a payout, a collection, a card payment or top-up, a card refund): the line is checked against it
  with the same rules as an import (amount, direction, not already settled), then the suspense entry is reversed
  and the object's own confirming entry posted, exactly as if the line had matched on import;
- **an account** (bank charges to an expense account, a misdirected transfer to a liability, ...): suspense → that
  account, in the line's currency;
- **dismissed**, with a note: only for a line that posted nothing (another currency, no money).

Resolving again the same way returns the item unchanged; resolving a resolved item another way is refused.

A manual resolution is a four-eyes act: one operator proposes it and a second approves it (``kleline.proposals``),
which checks it with ``check_in`` when it is proposed and applies it with ``resolve_in`` in the approval's own
transaction. A resolution names the ``StaffActor`` who decided it (its role must resolve suspense) and is recorded in
the staff audit trail in its transaction.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from typing import Final

from kleline.clock import Clock
from kleline.db.engine import INTEGRITY_ERRORS, Database, RawTx
from kleline.errors import NotFound, ValidationError
from kleline.ledger import EntryRequest, Ledger
from kleline.reconciliation import suspense_store
from kleline.reconciliation.counterparts import Counterparts
from kleline.reconciliation.errors import (
    InvalidResolution,
    ResolutionRefused,
    SuspenseItemNotFound,
    SuspenseItemResolved,
)
from kleline.reconciliation.model import Action, Match, Resolution, Suspend, SuspenseItem, Target, decide
from kleline.reconciliation.postings import SUSPENSE_ACCOUNT, out_of_suspense, release_from_suspense
from kleline.sepa.model import OwnAccount
from kleline.staff import audit
from kleline.staff.actor import StaffActor
from kleline.staff.roles import Power

__all__ = ["ACCOUNT", "DISMISSED", "RESOLUTION_KINDS", "ResolutionRequest", "SuspenseQueue"]

ACCOUNT: Final = "account"
DISMISSED: Final = "dismissed"
RESOLUTION_KINDS: Final = (*(target.value for target in Target), ACCOUNT, DISMISSED)
STATUSES: Final = ("open", "resolved")
_ATTEMPTS = 2


@dataclass(frozen=True, slots=True)
class ResolutionRequest:
    """Where an operator says a held line belongs: ``kind`` is a ``Target`` value (with the object's id), ``account``
    (with an account code), or ``dismissed`` (no target)."""

    kind: str
    target: str | None
    note: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in RESOLUTION_KINDS:
            raise InvalidResolution(f"a resolution is one of {', '.join(RESOLUTION_KINDS)}", param="kind")
        if (self.kind == DISMISSED) != (self.target is None):
            what = "names no target" if self.kind == DISMISSED else f"names its {self.kind}"
            raise InvalidResolution(f"a {self.kind} resolution {what}", param=self.kind)


class SuspenseQueue:
    """List, read and resolve suspense items."""

    def __init__(self, db: Database, ledger: Ledger, own: OwnAccount, counterparts: Counterparts, *, clock: Clock):
        self._db = db
        self._ledger = ledger
        self._own = own
        self._counterparts = counterparts
        self._clock = clock

    def open_count(self) -> int:
        """How many items wait for a resolution."""
        with self._db.transaction(write=False) as tx:
            return suspense_store.count_open_items(tx)

    def items(
        self, *, status: str | None = "open", limit: int = 20, after: str | None = None
    ) -> tuple[builtins.list[SuspenseItem], bool]:
        """A page of items, oldest first (a queue), of one status (or all), and whether more follow."""
        if status is not None and status not in STATUSES:
            raise ValidationError(f"status must be one of {', '.join(STATUSES)}", param="status")
        with self._db.transaction(write=False) as tx:
            if after is not None and suspense_store.load_suspense_item(tx, after) is None:
                raise SuspenseItemNotFound(f"no suspense item {after}", param="starting_after")
            found = suspense_store.list_suspense_items(tx, status=status, limit=limit + 1, after=after)
        return found[:limit], len(found) > limit

    def get(self, item_id: str) -> SuspenseItem:
        """One suspense item, with its line."""
        with self._db.transaction(write=False) as tx:
            return _found(suspense_store.load_suspense_item(tx, item_id), item_id)

    def resolve(
        self, item_id: str, request: ResolutionRequest, *, actor: StaffActor, resolved_by: str | None = None
    ) -> SuspenseItem:
        """Move a held line's money to where ``request`` says it belongs, and close the item; ``actor``'s role must
        resolve suspense (``resolved_by``, shown with the resolution, names it as its caller wishes). The interfaces
        do not call this: an operator's resolution is a proposal that a second one approves (``kleline.proposals``),
        which resolves with ``resolve_in``."""
        actor.require(Power.RESOLVE_SUSPENSE)
        for attempt in range(_ATTEMPTS):
            try:
                return self._resolve(item_id, request, resolved_by, actor)
            except INTEGRITY_ERRORS:
                # An import settled the same card capture (its entry id is the capture's) while this resolution
                # ran; looking again finds it settled and refuses with a reason.
                if attempt == _ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    def check_in(self, tx: RawTx, item_id: str, request: ResolutionRequest) -> SuspenseItem:
        """The open item, if ``request`` could resolve it now; otherwise the error ``resolve_in`` would raise
        (resolved already, a target that does not fit...). Writes nothing: what a proposal checks before a second
        operator is asked to approve it."""
        item = _found(suspense_store.load_suspense_item(tx, item_id), item_id)
        _refuse_if_resolved(item)
        self._plan(tx, item, request)
        return item

    def resolve_in(self, tx: RawTx, item_id: str, request: ResolutionRequest, *, resolved_by: str) -> SuspenseItem:
        """Resolve the open item as ``request`` says, in the caller's transaction (under the item's row lock); an item
        resolved already, in whatever way, is refused (``SuspenseItemResolved``): the caller decided on the item as
        it was. A concurrent import that settled the same object raises a driver integrity error: the caller's
        transaction must roll back, and may try again (it then gets the refusal with its reason)."""
        item = _found(suspense_store.load_suspense_item(tx, item_id, lock=True), item_id)
        _refuse_if_resolved(item)
        return self._apply(tx, item, request, resolved_by)

    def _resolve(
        self, item_id: str, request: ResolutionRequest, resolved_by: str | None, actor: StaffActor
    ) -> SuspenseItem:
        with self._db.transaction() as tx:
            item = _found(suspense_store.load_suspense_item(tx, item_id, lock=True), item_id)
            if item.resolution is not None:
                if (item.resolution.kind, item.resolution.target) == (request.kind, request.target):
                    return item
                _refuse_if_resolved(item)
            done = self._apply(tx, item, request, resolved_by)
            assert done.resolution is not None  # resolved just now
            audit.record(
                tx,
                actor,
                "suspense_item_resolved",
                "suspense_item",
                item.id,
                at=done.resolution.resolved_at,
                before={"status": "open", "reason": item.reason.value},
                after={
                    "status": "resolved",
                    "kind": request.kind,
                    "target": request.target,
                    "entry_id": done.resolution.entry_id,
                },
            )
            return done

    def _apply(
        self, tx: RawTx, item: SuspenseItem, request: ResolutionRequest, resolved_by: str | None
    ) -> SuspenseItem:
        entry_id, action = self._post(tx, item, request, self._plan(tx, item, request))
        resolution = Resolution(request.kind, request.target, entry_id, request.note, self._clock(), resolved_by)
        suspense_store.resolve_suspense_item(tx, item.id, resolution, action)
        return _found(suspense_store.load_suspense_item(tx, item.id), item.id)

    def _plan(self, tx: RawTx, item: SuspenseItem, request: ResolutionRequest) -> Match | Account | None:
        """Check that ``request`` can resolve ``item`` (raising why not): the match to post for an object, the
        account for an account, None for a dismissal."""
        line = item.line
        if request.kind == DISMISSED:
            if item.entry_id is not None:
                raise InvalidResolution(
                    f"{line.amount} of this line sit in {SUSPENSE_ACCOUNT}: name the object or the account it belongs "
                    "to, it cannot be dismissed",
                    param="dismissed",
                )
            if not request.note or not request.note.strip():
                raise InvalidResolution("say in a note why the line is dismissed", param="note")
            return None
        if item.entry_id is None:
            raise ResolutionRefused(
                f"nothing was posted for this line ({item.reason.value}: {item.detail}); dismiss it with a note",
                param=request.kind,
            )
        assert request.target is not None  # ResolutionRequest checks it
        if request.kind == ACCOUNT:
            return self._account(item, request.target)
        target = Target(request.kind)
        counterpart = self._counterparts.by_id(tx, target, request.target)
        if counterpart is None:
            raise NotFound(f"no {target.value.replace('_', ' ')} {request.target}", param=f"{target.value}_id")
        decision = decide(line, counterpart, line.amount.currency)
        if isinstance(decision, Suspend):
            raise ResolutionRefused(f"{decision.reason.value}: {decision.detail}", param=f"{target.value}_id")
        return decision

    def _post(
        self, tx: RawTx, item: SuspenseItem, request: ResolutionRequest, plan: Match | Account | None
    ) -> tuple[str | None, Action | None]:
        """Post the resolving entries ``plan`` calls for; the id of the last one, and what it did to its object."""
        if plan is None:
            return None, None
        if isinstance(plan, Account):
            return self._to_account(tx, item, plan.code), None
        release = EntryRequest(
            f"{item.id}:released",
            release_from_suspense(self._own, item.line),
            "bank statement line released from suspense",
            {
                "suspense_item": item.id,
                "statement_line": item.line_id,
                plan.counterpart.target.value: plan.counterpart.id,
            },
        )
        self._ledger.post_in(tx, release)
        return self._counterparts.confirm_in(tx, plan, item.line, line_ref=item.line_id), plan.action

    def _account(self, item: SuspenseItem, code: str) -> Account:
        if code in (SUSPENSE_ACCOUNT, self._own.safeguarding_code):
            raise ResolutionRefused(
                f"the line's money cannot go to {code}: the bank movement happened, name where it belongs",
                param="account_code",
            )
        account = self._ledger.account(code)  # UnknownAccount (404) for a code that names nothing
        if account.currency != item.line.amount.currency:
            raise ResolutionRefused(
                f"account {code} is kept in {account.currency}, the line is in {item.line.amount.currency}",
                param="account_code",
            )
        return Account(code)

    def _to_account(self, tx: RawTx, item: SuspenseItem, code: str) -> str:
        request = EntryRequest(
            f"{item.id}:resolved",
            out_of_suspense(item.line, code),
            "bank statement line resolved to an account",
            {"suspense_item": item.id, "statement_line": item.line_id},
        )
        return self._ledger.post_in(tx, request).id


@dataclass(frozen=True, slots=True)
class Account:
    """A resolution's account, checked: it exists, is not suspense nor safeguarding, and keeps the line's currency."""

    code: str


def _refuse_if_resolved(item: SuspenseItem) -> None:
    if item.resolution is not None:
        done = " ".join(part for part in (item.resolution.kind, item.resolution.target) if part)
        raise SuspenseItemResolved(f"suspense item {item.id} was already resolved ({done})", param="id")


def _found(item: SuspenseItem | None, item_id: str) -> SuspenseItem:
    if item is None:
        raise SuspenseItemNotFound(f"no suspense item {item_id}", param="id")
    return item
