"""Four eyes: one staff member proposes a write-off, a manual suspense resolution or a change of a merchant's
commission rate or bank account; it takes effect only when a second one approves it.

Each step is one transaction that also appends its record to the staff audit trail (``kleline.staff.audit``), as its
last write:

- ``propose`` checks the act against its subject as it is now (the act's own refusal otherwise, so that nobody is
  asked to approve what cannot apply), fixes its parameters, and records the proposal ``pending``: one per kind and
  subject (``ProposalPending`` for a second; a partial unique index holds it whatever the interleaving);
- ``approve`` locks the proposal, checks the rule (still pending, the approver holds the power and is not the
  proposer) and applies the act in the same transaction as the decision and the records of both, so that an approved
  proposal and its act commit together or not at all. Two approvals at once apply it once: the second finds it
  approved under the lock (``ProposalDecided``). If the act can no longer apply (the subject changed since), nothing
  of it is kept: the proposal is marked ``failed`` with the reason, in a transaction of its own, and the approver gets
  ``ProposalFailed`` naming the act's refusal (``cause``);
- ``reject`` (a second person, with a reason) and ``withdraw`` (the proposer) close it without the act.

Who acts is a ``StaffActor`` (a staff user, an ``op_`` key, the command line's system user); "the same person" is the
same kind of actor with the same id.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Final

from kleline.clock import Clock, epoch_us
from kleline.db.engine import INTEGRITY_ERRORS, Database, RawTx
from kleline.db.errors import DatabaseBusy, DatabaseUnavailable
from kleline.errors import KlelineError
from kleline.ids import new_id
from kleline.money import Money
from kleline.proposals import store
from kleline.proposals.acts import Act
from kleline.proposals.errors import InvalidProposal, ProposalDecided, ProposalFailed, ProposalPending, UnknownProposal
from kleline.proposals.model import (
    POWERS,
    STATUSES,
    SUBJECT_TYPES,
    Proposal,
    ProposalKind,
    ProposalStatus,
    check_decision,
    check_reason,
)
from kleline.reconciliation import ResolutionRequest
from kleline.staff import audit
from kleline.staff.actor import StaffActor

__all__ = ["Proposals"]

SUBJECT: Final = "proposal"
_ATTEMPTS: Final = 2
_MAX_LIST: Final = 100


class _ActRefused(Exception):
    """The act refused to apply on approval: carries its refusal out of the transaction, which then rolls back."""

    def __init__(self, error: KlelineError) -> None:
        super().__init__(error.detail)
        self.error = error


class Proposals:
    """Propose the four-eyes acts, and approve, reject, withdraw and read the proposals."""

    def __init__(self, db: Database, acts: Mapping[ProposalKind, Act], *, clock: Clock) -> None:
        self._db = db
        self._acts = acts
        self._clock = clock

    # Proposing -----------------------------------------------------------------------------------------------------

    def propose_write_off(self, actor: StaffActor, customer_id: str, amount: Money | None = None) -> Proposal:
        """Propose to write ``amount`` of the customer's debt off (the whole debt, as owed now, by default)."""
        parameters: dict[str, Any] = {"amount": None, "currency": "EUR"}
        if amount is not None:
            parameters = {"amount": amount.minor, "currency": amount.currency}
        return self.propose(actor, ProposalKind.WRITE_OFF, customer_id, parameters)

    def propose_suspense_resolution(self, actor: StaffActor, item_id: str, request: ResolutionRequest) -> Proposal:
        """Propose to resolve a suspense item as ``request`` says."""
        parameters = {"type": request.kind, "target": request.target, "note": request.note}
        return self.propose(actor, ProposalKind.SUSPENSE_RESOLUTION, item_id, parameters)

    def propose_commission_rate(self, actor: StaffActor, merchant_id: str, fee_bps: int) -> Proposal:
        """Propose to take ``fee_bps`` basis points on the merchant's next payments."""
        return self.propose(actor, ProposalKind.COMMISSION_RATE, merchant_id, {"fee_bps": fee_bps})

    def propose_intro_fee_rate(self, actor: StaffActor, merchant_id: str, intro_fee_bps: int) -> Proposal:
        """Propose to take ``intro_fee_bps`` basis points on the payments of customers the merchant's offers
        introduce."""
        return self.propose(actor, ProposalKind.INTRO_FEE_RATE, merchant_id, {"intro_fee_bps": intro_fee_bps})

    def propose_bank_account(self, actor: StaffActor, merchant_id: str, change_id: str) -> Proposal:
        """Propose to approve the bank account change a merchant's owner asked for."""
        return self.propose(actor, ProposalKind.BANK_ACCOUNT, merchant_id, {"change_id": change_id})

    def propose(
        self, actor: StaffActor, kind: ProposalKind, subject_id: str, parameters: Mapping[str, Any]
    ) -> Proposal:
        """Record a pending proposal of ``kind`` on the subject, once the act is checked against it."""
        act = self._acts[kind]
        actor.require(POWERS[kind])
        try:
            with self._db.transaction() as tx:
                checked = act.prepare(tx, subject_id, parameters)
                _refuse_if_pending(tx, kind, subject_id)
                proposal = Proposal(
                    id=new_id("prop"),
                    kind=kind,
                    subject_type=SUBJECT_TYPES[kind],
                    subject_id=subject_id,
                    parameters=checked,
                    status="pending",
                    proposed_by=replace(actor, address=None),
                    proposed_at=self._clock(),
                )
                store.insert(tx, proposal)
                after = {
                    "status": "pending",
                    "kind": kind.value,
                    "subject_type": proposal.subject_type,
                    "subject_id": subject_id,
                    "parameters": act.shown(checked),
                }
                audit.record(tx, actor, "proposal_made", SUBJECT, proposal.id, at=proposal.proposed_at, after=after)
        except INTEGRITY_ERRORS:  # another proposal won the race for the one pending place
            with self._db.transaction(write=False) as tx:
                _refuse_if_pending(tx, kind, subject_id)
            raise
        return proposal

    # Deciding ------------------------------------------------------------------------------------------------------

    def approve(self, actor: StaffActor, proposal_id: str) -> Proposal:
        """Approve the proposal: its act applies now, with the decision, or the proposal fails (``ProposalFailed``)
        and nothing is applied."""
        proposal = self.get(proposal_id)
        actor.require(proposal.power)
        check_decision(proposal, actor, "approved")  # early, before ``ready`` does anything; again under the lock
        act = self._acts[proposal.kind]
        act.ready(proposal)
        for attempt in range(_ATTEMPTS):
            try:
                return self._approve(actor, proposal_id, act)
            except _ActRefused as refused:
                failed = self._fail(actor, proposal_id, refused.error)
                raise ProposalFailed(
                    f"the act can no longer apply, nothing was done: {refused.error.detail}",
                    proposal_id=failed.id,
                    cause=refused.error.code,
                ) from None
            except INTEGRITY_ERRORS:
                # A concurrent writer (an import settling the same card capture) got there first: looking again
                # finds the subject changed and refuses with a reason.
                if attempt == _ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _approve(self, actor: StaffActor, proposal_id: str, act: Act) -> Proposal:
        with self._db.transaction() as tx:
            proposal = _locked(tx, proposal_id)
            actor.require(proposal.power)
            check_decision(proposal, actor, "approved")
            try:
                applied = act.apply(tx, proposal, actor)
            except (DatabaseBusy, DatabaseUnavailable):
                raise
            except KlelineError as error:
                raise _ActRefused(error) from error
            now = self._clock()
            decided = self._decide(tx, proposal, "approved", actor, result=applied.result)
            audit.record(
                tx,
                actor,
                applied.action,
                proposal.subject_type,
                proposal.subject_id,
                at=now,
                before=applied.before,
                after={**applied.after, "proposal": proposal.id},
            )
            self._record(tx, actor, decided, {"proposed_by": proposal.proposed_by.label})
        return decided

    def _fail(self, actor: StaffActor, proposal_id: str, error: KlelineError) -> Proposal:
        """Mark the proposal failed with the act's refusal (unless someone decided it meanwhile)."""
        with self._db.transaction() as tx:
            proposal = _locked(tx, proposal_id)
            check_decision(proposal, actor, "approved")
            failed = self._decide(tx, proposal, "failed", actor, reason=error.detail[:500], failure_code=error.code)
            self._record(tx, actor, failed, {"reason": failed.reason, "cause": error.code})
        return failed

    def reject(self, actor: StaffActor, proposal_id: str, reason: str) -> Proposal:
        """Reject the proposal, saying why: the act never applies."""
        checked = check_reason(reason)
        with self._db.transaction() as tx:
            proposal = _locked(tx, proposal_id)
            actor.require(proposal.power)
            check_decision(proposal, actor, "rejected")
            rejected = self._decide(tx, proposal, "rejected", actor, reason=checked)
            self._record(tx, actor, rejected, {"reason": checked})
        return rejected

    def withdraw(self, actor: StaffActor, proposal_id: str) -> Proposal:
        """Withdraw one's own pending proposal: the act never applies."""
        with self._db.transaction() as tx:
            proposal = _locked(tx, proposal_id)
            check_decision(proposal, actor, "withdrawn")
            withdrawn = self._decide(tx, proposal, "withdrawn", actor)
            self._record(tx, actor, withdrawn, {})
        return withdrawn

    def close_bank_account_in(
        self, tx: RawTx, merchant_id: str, change_id: str, actor: StaffActor | None, why: str
    ) -> Proposal | None:
        """Withdraw, in the caller's transaction, the pending proposal to approve the merchant's bank account change
        ``change_id``, which its owner withdrew or an operator rejected (``why``): nothing is left to approve. The
        decider is the operator who rejected the change, or else the proposer (on whose behalf it is withdrawn: the
        reason says why). None when no such proposal waits."""
        pending = store.pending(tx, ProposalKind.BANK_ACCOUNT, merchant_id)
        if pending is None or pending.parameters.get("change_id") != change_id:
            return None
        proposal = _locked(tx, pending.id)
        if proposal.status != "pending":
            return None
        decider = proposal.proposed_by if actor is None else actor
        withdrawn = self._decide(tx, proposal, "withdrawn", decider, reason=why[:500])
        self._record(tx, decider, withdrawn, {"reason": withdrawn.reason})
        return withdrawn

    def _decide(
        self,
        tx: RawTx,
        proposal: Proposal,
        status: ProposalStatus,
        actor: StaffActor,
        *,
        reason: str | None = None,
        failure_code: str | None = None,
        result: Mapping[str, Any] | None = None,
    ) -> Proposal:
        now = self._clock()
        decider = replace(actor, address=None)
        moved = store.decide(
            tx, proposal.id, status, decider, epoch_us(now), reason=reason, failure_code=failure_code, result=result
        )
        if not moved:  # under the row's lock nothing decides it meanwhile; the condition guards it all the same
            raise ProposalDecided(f"proposal {proposal.id} was decided meanwhile", status="decided")
        return replace(
            proposal,
            status=status,
            decided_by=decider,
            decided_at=now,
            reason=reason,
            failure_code=failure_code,
            result=None if result is None else dict(result),
        )

    def _record(self, tx: RawTx, actor: StaffActor, proposal: Proposal, detail: Mapping[str, Any]) -> None:
        """The decision's record in the staff audit trail (the transaction's last write)."""
        assert proposal.decided_at is not None
        after = {"status": proposal.status, "kind": proposal.kind.value, "subject_id": proposal.subject_id, **detail}
        at = proposal.decided_at
        audit.record(
            tx, actor, f"proposal_{proposal.status}", SUBJECT, proposal.id, at=at, before=_PENDING, after=after
        )

    # Reading -------------------------------------------------------------------------------------------------------

    def get(self, proposal_id: str) -> Proposal:
        """One proposal; ``UnknownProposal`` (404) when there is none."""
        with self._db.transaction(write=False) as tx:
            found = store.find(tx, proposal_id)
        if found is None:
            raise UnknownProposal(f"no proposal {proposal_id}")
        return found

    def pending(self, kind: ProposalKind, subject_id: str) -> Proposal | None:
        """The pending proposal of ``kind`` on the subject, if there is one."""
        with self._db.transaction(write=False) as tx:
            return store.pending(tx, kind, subject_id)

    def pending_count(self) -> int:
        """How many proposals wait for a second person."""
        with self._db.transaction(write=False) as tx:
            return store.count_pending(tx)

    def list(
        self,
        *,
        status: str | None = None,
        kind: str | None = None,
        subject_id: str | None = None,
        limit: int = 20,
        starting_after: str | None = None,
    ) -> builtins.list[Proposal]:
        """Proposals newest first, matching every filter given, after the proposal ``starting_after`` if given:
        ``limit`` of them, up to 101 (a page of 100 and one more, which tells a list there is more)."""
        if status is not None and status not in STATUSES:
            raise InvalidProposal(f"status: one of {', '.join(STATUSES)}", param="status")
        if kind is not None and kind not in {k.value for k in ProposalKind}:
            raise InvalidProposal(f"kind: one of {', '.join(k.value for k in ProposalKind)}", param="kind")
        with self._db.transaction(write=False) as tx:
            before = None
            if starting_after is not None:
                last = store.find(tx, starting_after)
                if last is None:
                    raise UnknownProposal(f"no proposal {starting_after}", param="starting_after")
                before = (epoch_us(last.proposed_at), last.id)
            bounded = min(max(limit, 1), _MAX_LIST + 1)
            return store.list_proposals(
                tx, status=status, kind=kind, subject_id=subject_id, before=before, limit=bounded
            )


_PENDING: Final = {"status": "pending"}


def _locked(tx: RawTx, proposal_id: str) -> Proposal:
    found = store.find(tx, proposal_id, lock=True)
    if found is None:
        raise UnknownProposal(f"no proposal {proposal_id}")
    return found


def _refuse_if_pending(tx: RawTx, kind: ProposalKind, subject_id: str) -> None:
    pending = store.pending(tx, kind, subject_id)
    if pending is not None:
        raise ProposalPending(
            f"proposal {pending.id} ({kind.value} of {subject_id}) is already waiting for a second person's approval:"
            " it must be decided or withdrawn before another is made",
            proposal_id=pending.id,
        )
