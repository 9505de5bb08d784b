"""A merchant's bank account changes: asked for by an owner, re-checked by an operator, announced to every owner.

A payout to a wrong account is slow and costly to recover, and changing where a shop's money goes is what someone
who took over one owner's account would do first. So a new IBAN never takes effect when it is typed:

1. an owner asks for it (``request``: the second factor given in the last 15 minutes, which the dashboard checks;
   the IBAN and BIC checked as a registration's are, ``kleline.merchants.checks``); the change is ``pending``;
2. an operator re-checks it and proposes to approve it, and a second operator approves that proposal (four eyes,
   ``kleline.proposals``, which calls ``approve_in``): the merchant's ``iban`` and ``bic`` take the new values
   (settlement reads them when it makes a run's payouts, and each payout records the account it was sent to, so
   payouts made before keep the old one); or an operator ``reject``s it with a reason (one operator is enough to
   keep things as they are); an owner may ``withdraw`` it while it is pending.

A merchant has one pending change at a time: a second request is refused (``BankChangePending``), not merged into
the first, so that what every owner was told of, and what the operator is checking, is what gets decided.

Each step is one transaction that takes the merchant's row lock (``store.lock_team``, as team changes do) and writes
the change, its record in the merchant's audit trail and its event for the merchant's webhooks (the outbox), all or
nothing. The events (``BANK_CHANGE_EVENTS``) carry the change with its IBAN masked, as does the trail; the full IBAN
is only in the answer to the owner who typed it, and to operators, who must read it to check it.

Who may: ``request``, ``withdraw`` and the owners' reads take an ``Actor`` whose role allows ``settings`` (owners),
re-read under the lock; ``approve``, ``reject`` and the operator's reads take the merchant's id and an operator's name
for the trail (``by``); a decision also takes the ``StaffActor`` (its role must decide merchants), recorded in the staff
audit trail with the IBANs' last four characters only. Either way a change is reached through its merchant: another
merchant's change id is ``UnknownBankChange``, as an unknown one. A decision repeated (approving an approved change)
answers the change as it stands and changes nothing, so that a retried call is harmless; the opposite decision is
``BankChangeDecided``."""

from __future__ import annotations

import builtins
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Final, Literal

from kleline.clock import Clock, epoch_us, to_rfc3339
from kleline.db.engine import INTEGRITY_ERRORS, Database, RawTx, Read
from kleline.errors import KlelineError
from kleline.events import outbox
from kleline.ids import new_id
from kleline.merchant_users import audit, store
from kleline.merchant_users import bank_change_store as changes
from kleline.merchant_users.audit import Actor
from kleline.merchant_users.errors import (
    BankChangeDecided,
    BankChangePending,
    InvalidBankChange,
    NotAllowed,
    UnknownBankChange,
)
from kleline.merchant_users.model import BankAccountChange, BankChangeStatus, decision_refusal, is_announced
from kleline.merchants import InvalidIban, UnknownMerchant
from kleline.merchants import store as merchant_store
from kleline.merchants.checks import BankDetails, bank_details, bank_name
from kleline.merchants.model import Merchant
from kleline.staff import audit as staff_audit
from kleline.staff.actor import StaffActor
from kleline.staff.roles import Power

__all__ = [
    "BANK_CHANGE_EVENTS",
    "MAX_REASON",
    "STATUSES",
    "BankAccountChanges",
    "BankAccountState",
    "BankChangeReview",
    "bank_change_problems",
    "change_json",
    "check_reason",
]

BANK_CHANGE_EVENTS: Final = {
    "requested": "merchant.bank_account.change_requested",
    "approved": "merchant.bank_account.changed",
    "rejected": "merchant.bank_account.change_rejected",
    "withdrawn": "merchant.bank_account.change_withdrawn",
}
"""The events a merchant's webhooks receive at each step of a change."""
_AUDIT_ACTIONS: Final = {
    "requested": "bank_account_change_requested",
    "approved": "bank_account_changed",
    "rejected": "bank_account_change_rejected",
    "withdrawn": "bank_account_change_withdrawn",
}
STATUSES: Final[tuple[BankChangeStatus, ...]] = ("pending", "approved", "rejected", "withdrawn")
MAX_REASON: Final = 500
_MAX_LIST: Final = 100

ClosedHook = Callable[[RawTx, str, str, StaffActor | None, str], object]
"""Called in the transaction that withdraws or rejects a change: ``(tx, merchant_id, change_id, actor, why)``, the
operator who rejected it as ``actor`` (None for an owner's withdrawal), ``why`` in words for the record."""


@dataclass(frozen=True, slots=True)
class BankAccountState:
    """What the settings page shows of the merchant's bank account: the change pending, if any, and the last one
    decided, if any."""

    pending: BankAccountChange | None
    last_decided: BankAccountChange | None


@dataclass(frozen=True, slots=True)
class BankChangeReview:
    """A pending change as an operator checks it before proposing it: the account asked for, the name of its bank when
    the registry knows it, and the other merchants already paid into that account (a refused shop's, or a second shop
    of one owner)."""

    change: BankAccountChange
    bank_name: str | None
    sharing: tuple[Merchant, ...]


def change_json(change: BankAccountChange) -> dict[str, object]:
    """A change as its events carry it, its IBAN masked (``iban_last4`` to recognise it)."""
    return {
        "object": "bank_account_change",
        "id": change.id,
        "merchant_id": change.merchant_id,
        "status": change.status,
        "iban": change.masked_iban,
        "iban_last4": change.iban[-4:],
        "bic": change.bic,
        "requested_at": to_rfc3339(change.requested_at),
        "decided_at": None if change.decided_at is None else to_rfc3339(change.decided_at),
        "reason": change.reason,
    }


def bank_change_problems(iban: str, bic: str | None) -> list[KlelineError]:
    """What is wrong with a new account's IBAN and BIC (the registration's checks), for a form to show; empty when
    they will do. The BIC is checked against the IBAN, so a wrong IBAN is the only problem named."""
    try:
        _checked(iban, bic)
    except KlelineError as refused:
        return [refused]
    return []


def _checked(iban: str, bic: str | None) -> BankDetails:
    if not iban.strip():
        raise InvalidIban("iban: give the new account's IBAN", param="iban")
    return bank_details(iban, bic)


def check_reason(reason: str) -> str:
    """A rejection's reason, as the owners will read it: 1 to 500 characters on one line."""
    reason = " ".join(reason.split())
    if not 1 <= len(reason) <= MAX_REASON:
        raise InvalidBankChange(f"reason: say why in 1 to {MAX_REASON} characters", param="reason")
    if any(not character.isprintable() for character in reason):
        raise InvalidBankChange("reason: control characters are not allowed", param="reason")
    return reason


class BankAccountChanges:
    """Ask for a new bank account, withdraw the request, approve or reject it, and read where it stands."""

    def __init__(self, db: Database, *, clock: Clock) -> None:
        self._db = db
        self._clock = clock
        self._closed_hooks: builtins.list[ClosedHook] = []

    def when_closed(self, hook: ClosedHook) -> None:
        """Have ``hook`` run in the transaction that withdraws or rejects a change, after its own writes: the
        proposals' service closes there the proposal to approve it, which the change's end leaves with nothing to
        decide (it sits above this package, hence a hook that the composition root sets)."""
        self._closed_hooks.append(hook)

    def _closed(self, tx: RawTx, change: BankAccountChange, actor: StaffActor | None, why: str) -> None:
        for hook in self._closed_hooks:
            hook(tx, change.merchant_id, change.id, actor, why)

    # The owners' side ----------------------------------------------------------------------------------------------

    def request(self, actor: Actor, iban: str, bic: str | None = None) -> BankAccountChange:
        """Ask for the merchant's payouts to go to another account, once an operator approves it; the change,
        ``pending``. Refused while another change is pending (``BankChangePending``)."""
        _allowed(actor)
        details = _checked(iban, bic)
        merchant_id = actor.user.merchant_id
        change = BankAccountChange(
            id=new_id("bac"),
            merchant_id=merchant_id,
            iban=details.iban,
            bic=details.bic,
            status="pending",
            requested_by=actor.user.id,
            requested_at=self._clock(),
            requested_by_name=actor.user.name,
        )
        try:
            with self._db.transaction() as tx:
                _lock(tx, merchant_id, actor)
                merchant = merchant_store.find_merchant(tx, merchant_id)
                assert merchant is not None  # locked just now
                if merchant.iban == details.iban:
                    raise InvalidBankChange("iban: this is already the account the shop is paid into", param="iban")
                _refuse_if_pending(tx, merchant_id)
                changes.insert_change(tx, change)
                self._announce(tx, change, "requested", actor, {"bic": change.bic})
        except INTEGRITY_ERRORS:  # another request won the race for the one pending place
            with self._db.transaction(write=False) as tx:
                _refuse_if_pending(tx, merchant_id)
            raise
        return change

    def withdraw(self, actor: Actor, change_id: str) -> BankAccountChange:
        """Withdraw the merchant's pending change (a mistaken request): it will never take effect."""
        _allowed(actor)
        with self._db.transaction() as tx:
            _lock(tx, actor.user.merchant_id, actor)
            change, moved = self._decide(tx, actor.user.merchant_id, change_id, "withdrawn", by=actor.user.id)
            if moved:
                self._announce(tx, change, "withdrawn", actor, {})
                self._closed(tx, change, None, "the merchant's owner withdrew the bank account change")
        return change

    def state(self, actor: Actor) -> BankAccountState:
        """The merchant's pending change and its last decided one."""
        _allowed(actor)
        with self._db.transaction(write=False) as tx:
            merchant_id = actor.user.merchant_id
            return BankAccountState(changes.pending_change(tx, merchant_id), changes.latest_decided(tx, merchant_id))

    def announcement(self, actor: Actor) -> BankAccountChange | None:
        """The change owners are being told of: the pending one, else the last decided in the past 14 days."""
        with self._db.transaction(write=False) as tx:
            return tx.read(self.announcement_read(actor))

    def announcement_read(self, actor: Actor) -> Read[BankAccountChange | None]:
        """``announcement`` as a read of one row, which a page may join to its other figures (``one_row_reads``)."""
        _allowed(actor)
        query = changes.shown_change(actor.user.merchant_id)

        def announced(rows: list[Any]) -> BankAccountChange | None:
            shown = query.decode(rows)
            return shown if shown is not None and is_announced(shown, self._clock()) else None

        return Read(query.sql, query.params, announced, query.width)

    # The operators' side -------------------------------------------------------------------------------------------

    def get(self, merchant_id: str, change_id: str) -> BankAccountChange:
        """One of the merchant's changes."""
        with self._db.transaction(write=False) as tx:
            _merchant_exists(tx, merchant_id)
            change = changes.find_change(tx, merchant_id, change_id)
        if change is None:
            raise UnknownBankChange(f"merchant {merchant_id} has no bank account change {change_id}")
        return change

    def list(
        self, merchant_id: str, *, status: str | None = None, limit: int = 20, starting_after: str | None = None
    ) -> builtins.list[BankAccountChange]:
        """The merchant's changes, newest first, of ``status`` if given, after the change ``starting_after`` if
        given: ``limit`` of them, up to 101 (a page of 100 and one more, which tells a list there is more)."""
        if status is not None and status not in STATUSES:
            raise InvalidBankChange(f"status: one of {', '.join(STATUSES)}", param="status")
        with self._db.transaction(write=False) as tx:
            _merchant_exists(tx, merchant_id)
            before = None
            if starting_after is not None:
                last = changes.find_change(tx, merchant_id, starting_after)
                if last is None:
                    raise UnknownBankChange(f"no bank account change {starting_after}", param="starting_after")
                before = (epoch_us(last.requested_at), last.id)
            bounded = min(max(limit, 1), _MAX_LIST + 1)  # one more than a page: the caller's has_more
            return changes.list_changes(tx, merchant_id, limit=bounded, status=status, before=before)

    def review(self, merchant_id: str) -> BankChangeReview | None:
        """The merchant's pending change as an operator checks it, or None when none waits."""
        with self._db.transaction(write=False) as tx:
            change = changes.pending_change(tx, merchant_id)
            if change is None:
                return None
            sharing = merchant_store.merchants_sharing(tx, "iban", change.iban, merchant_id)
        return BankChangeReview(change, bank_name(change.iban), tuple(sharing))

    def pending_count(self) -> int:
        """How many changes wait for an operator's check, every merchant's."""
        with self._db.transaction(write=False) as tx:
            return changes.count_pending(tx)

    def queue(self, *, limit: int = 100) -> builtins.list[BankAccountChange]:
        """Every merchant's pending change, oldest first: what operators have to check."""
        with self._db.transaction(write=False) as tx:
            return changes.queue(tx, min(max(limit, 1), 1000))

    def approve(self, merchant_id: str, change_id: str, *, by: str, actor: StaffActor) -> BankAccountChange:
        """Make the change take effect by one operator alone, in a transaction of its own: the merchant's next
        payouts go to the new account. ``by`` names the operator for the merchant's trail; ``actor``'s role must
        decide merchants, and the decision goes to the staff audit trail. The interfaces do not call this: an
        operator's approval is a proposal that a second one approves (``kleline.proposals``), which applies it with
        ``approve_in``."""
        actor.require(Power.DECIDE_MERCHANTS)
        with self._db.transaction() as tx:
            return self._approve(tx, merchant_id, change_id, by=by, strict=False, actor=actor)

    def pending_in(self, tx: RawTx, merchant_id: str, change_id: str) -> BankAccountChange:
        """The merchant's change, if it is still pending (``UnknownBankChange``, ``BankChangeDecided`` otherwise), read
        in the caller's transaction: what a proposal to approve it checks."""
        _merchant_exists(tx, merchant_id)
        change = changes.find_change(tx, merchant_id, change_id)
        if change is None:
            raise UnknownBankChange(f"merchant {merchant_id} has no bank account change {change_id}")
        if change.status != "pending":
            raise BankChangeDecided(f"bank account change {change_id} is {change.status} already", status=change.status)
        return change

    def approve_in(self, tx: RawTx, merchant_id: str, change_id: str, *, by: str) -> BankAccountChange:
        """Make the pending change take effect in the caller's transaction (under the merchant's lock); a change
        decided already, even approved, is refused (``BankChangeDecided``): the caller decided on a pending one, and
        records the decision in the staff audit trail itself."""
        return self._approve(tx, merchant_id, change_id, by=by, strict=True, actor=None)

    def _approve(
        self, tx: RawTx, merchant_id: str, change_id: str, *, by: str, strict: bool, actor: StaffActor | None
    ) -> BankAccountChange:
        _lock(tx, merchant_id, None)
        merchant = merchant_store.find_merchant(tx, merchant_id)
        assert merchant is not None  # locked just now
        previous = (merchant.iban, merchant.bic)
        if strict:
            self.pending_in(tx, merchant_id, change_id)
        change, moved = self._decide(tx, merchant_id, change_id, "approved", by=by, previous=previous)
        if moved:
            merchant_store.set_bank_details(tx, merchant_id, change.iban, change.bic)
            detail = {"previous_iban": change.masked_previous_iban, "by": by}
            self._announce(tx, change, "approved", None, detail)
            if actor is not None:
                self._record(tx, actor, change, "bank_account_change_approved")
        return change

    def reject(self, merchant_id: str, change_id: str, reason: str, *, by: str, actor: StaffActor) -> BankAccountChange:
        """Refuse the change, saying why (the owners read the reason): the merchant keeps its account. ``actor``'s
        role must decide merchants."""
        actor.require(Power.DECIDE_MERCHANTS)
        checked = check_reason(reason)
        with self._db.transaction() as tx:
            _lock(tx, merchant_id, None)
            change, moved = self._decide(tx, merchant_id, change_id, "rejected", by=by, reason=checked)
            if moved:
                self._announce(tx, change, "rejected", None, {"reason": change.reason, "by": by})
                self._closed(tx, change, actor, "an operator rejected the bank account change")
                self._record(tx, actor, change, "bank_account_change_rejected")
        return change

    def _record(self, tx: RawTx, actor: StaffActor, change: BankAccountChange, action: str) -> None:
        """The operator's decision in the staff audit trail (last write of ``tx``): the accounts' last four only."""
        staff_audit.record(
            tx,
            actor,
            action,
            "merchant",
            change.merchant_id,
            at=self._clock(),
            before={"change_id": change.id, "status": "pending"},
            after={
                "change_id": change.id,
                "status": change.status,
                "iban_last4": change.iban[-4:],
                "previous_iban_last4": None if change.previous_iban is None else change.previous_iban[-4:],
            },
        )

    # Helpers -------------------------------------------------------------------------------------------------------

    def _decide(
        self,
        tx: RawTx,
        merchant_id: str,
        change_id: str,
        status: Literal["approved", "rejected", "withdrawn"],
        *,
        by: str | None,
        reason: str | None = None,
        previous: tuple[str, str] | None = None,
    ) -> tuple[BankAccountChange, bool]:
        """The change moved to ``status`` now (True), or as it stands when it already was (False: nothing
        changed)."""
        change = changes.find_change(tx, merchant_id, change_id)
        if change is None:
            raise UnknownBankChange(f"no bank account change {change_id}")
        refusal = decision_refusal(change.status, status)
        if refusal is not None:
            raise BankChangeDecided(refusal, status=change.status)
        if change.status == status:
            return change, False
        now = self._clock()
        # Under the merchant's lock nothing else decides it meanwhile; the condition guards it all the same.
        if not changes.decide(tx, change, status, at=epoch_us(now), by=by, reason=reason, previous=previous):
            raise BankChangeDecided("this bank account change was decided meanwhile", status="decided")
        kept = previous if status == "approved" else None
        moved = replace(
            change,
            status=status,
            decided_at=now,
            decided_by=by,
            reason=reason,
            previous_iban=None if kept is None else kept[0],
            previous_bic=None if kept is None else kept[1],
        )
        return moved, True

    def _announce(
        self,
        tx: RawTx,
        change: BankAccountChange,
        step: str,
        actor: Actor | None,
        detail: Mapping[str, object],
    ) -> None:
        """The step's record in the merchant's trail and its event for the merchant's webhooks, in ``tx``."""
        now = self._clock()
        audit.record(
            tx,
            change.merchant_id,
            None if actor is None else actor.user.id,
            _AUDIT_ACTIONS[step],
            epoch_us(now),
            object_id=change.id,
            detail={"iban": change.masked_iban, **detail},
            address=None if actor is None else actor.address,
        )
        outbox.record(
            tx,
            type=BANK_CHANGE_EVENTS[step],
            merchant_id=change.merchant_id,
            object_id=change.id,
            data=change_json(change),
            created_at=now,
        )


def _allowed(actor: Actor) -> None:
    if not actor.user.can("settings"):
        raise NotAllowed(f"a user with the role {actor.user.role} cannot change the shop's bank account")


def _lock(tx: RawTx, merchant_id: str, actor: Actor | None) -> None:
    """Take the merchant's row lock, and check (under it) that the actor is still one of its owners."""
    if not store.lock_team(tx, merchant_id):
        raise UnknownMerchant(f"no merchant {merchant_id}")
    if actor is None:
        return
    current = store.find_user(tx, actor.user.id, merchant_id)
    if current is None:
        raise NotAllowed("this user no longer belongs to the merchant")
    if not current.can("settings"):
        raise NotAllowed(f"a user with the role {current.role} cannot change the shop's bank account")


def _merchant_exists(tx: RawTx, merchant_id: str) -> None:
    if merchant_store.find_merchant(tx, merchant_id) is None:
        raise UnknownMerchant(f"no merchant {merchant_id}")


def _refuse_if_pending(tx: RawTx, merchant_id: str) -> None:
    pending = changes.pending_change(tx, merchant_id)
    if pending is not None:
        raise BankChangePending(
            f"bank account change {pending.id} is already waiting for an operator: it must be decided or withdrawn "
            "before another is asked for",
            change_id=pending.id,
        )
