"""Four eyes over HTTP: the acts one operator proposes and a second approves (``kleline.proposals``).

A write-off (``POST /v1/receivables/{customer_id}/write-offs``), a manual suspense resolution
(``POST /v1/suspense-items/{id}/resolve``), a merchant's new commission rate (``POST
/v1/merchants/{id}/commission-rate``) and the approval of a merchant's new bank account (``POST
/v1/merchants/{id}/bank-account-changes/{change_id}/approve``) each answer ``202`` with a pending proposal: nothing
has happened yet. A second operator (another ``op_`` key, a staff user, the command line) approves it here, and the
act applies then, with the decision; the proposer may not (``403 same_approver``), and may withdraw it instead.

Every call is an operator's; reading takes the ``read`` power, deciding the power of the act (``resolve_suspense``,
``manage_receivables``, ``decide_merchants``). Every ``POST`` takes an ``Idempotency-Key``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from kleline.api.auth import kleline_of, require_power
from kleline.clock import to_rfc3339
from kleline.proposals import Proposal
from kleline.staff.actor import StaffActor
from kleline.staff.roles import Power

__all__ = ["PROPOSED", "ProposalOut", "proposal_out", "router"]

router = APIRouter(prefix="/v1/proposals", tags=["proposals"])

Kind = Literal["write_off", "suspense_resolution", "commission_rate", "bank_account", "intro_fee_rate"]
Status = Literal["pending", "approved", "rejected", "withdrawn", "failed"]


Reader = Annotated[StaffActor, Depends(require_power(Power.READ))]
"""The operator calling; deciding checks the act's own power in the service, once the proposal is read."""
_FORBIDDEN = "`forbidden`: a key of another kind, or an operator whose role does not grant the act's power"


class ActorOut(BaseModel):
    """Who proposed or decided: a staff user (`st_...`), an operator key (its number) or the command line (the system
    user), and the role it acted in (`null`: a key made before roles, or the command line, with every power)."""

    kind: Literal["staff", "key", "cli"]
    id: str = Field(examples=["2"])
    role: Literal["admin", "compliance", "finance", "support"] | None


class SubjectOut(BaseModel):
    """What the act is done to."""

    type: Literal["customer", "suspense_item", "merchant"]
    id: str = Field(examples=["cus_4f1c..."])


class ProposalOut(BaseModel):
    """An act that takes two people, and where it stands: `pending` until a second operator approves it (the act
    applies then: `result` says what it did) or rejects it (`reason`), the proposer withdraws it, or, approved, the act
    could no longer apply because its subject changed (`failed`: nothing applied, `reason` and `failure_code` say
    why).

    `parameters` are the act as the proposer saw it: `write_off` `{amount, currency, owed}` (the debt it was
    proposed against: approval fails with `debt_changed` if it is another by then); `suspense_resolution` `{type,
    target, note, line}`; `commission_rate` `{fee_bps, previous_fee_bps}`; `bank_account` `{change_id, iban, bic}`;
    `intro_fee_rate` `{intro_fee_bps, previous_intro_fee_bps}`."""

    id: str = Field(examples=["prop_4f1c..."])
    object: Literal["proposal"] = "proposal"
    kind: Kind
    status: Status
    subject: SubjectOut
    parameters: dict[str, Any]
    proposed_by: ActorOut
    proposed_at: str
    decided_by: ActorOut | None = Field(description="who approved, rejected or withdrew it (or whose approval failed)")
    decided_at: str | None
    reason: str | None = Field(description="why it was rejected, or why the act could no longer apply")
    failure_code: str | None = Field(description="the act's refusal when it failed (`debt_changed`, ...)")
    result: dict[str, Any] | None = Field(
        description="what the act did, once approved: `entry_id` of the ledger entry (write-off, suspense), the rate "
        "or account replaced"
    )


class ProposalList(BaseModel):
    """A page of proposals, newest first."""

    data: list[ProposalOut]
    has_more: bool


class RejectionIn(BaseModel):
    """Why the act is refused, as the proposer will read it."""

    reason: str = Field(min_length=1, max_length=500, examples=["The customer promised to repay by card."])


def _actor(actor: StaffActor | None) -> ActorOut | None:
    if actor is None:
        return None
    return ActorOut(kind=actor.kind, id=actor.id, role=actor.role.value if actor.role else None)


def proposal_out(proposal: Proposal) -> ProposalOut:
    """The API view of a proposal."""
    proposed_by = _actor(proposal.proposed_by)
    assert proposed_by is not None
    return ProposalOut(
        id=proposal.id,
        kind=proposal.kind.value,
        status=proposal.status,
        subject=SubjectOut(type=proposal.subject_type, id=proposal.subject_id),
        parameters=dict(proposal.parameters),
        proposed_by=proposed_by,
        proposed_at=to_rfc3339(proposal.proposed_at),
        decided_by=_actor(proposal.decided_by),
        decided_at=None if proposal.decided_at is None else to_rfc3339(proposal.decided_at),
        reason=proposal.reason,
        failure_code=proposal.failure_code,
        result=None if proposal.result is None else dict(proposal.result),
    )


PROPOSED: dict[int | str, dict[str, Any]] = {
    202: {"model": ProposalOut, "description": "proposed: nothing happens until a second operator approves it"},
    403: {"description": _FORBIDDEN},
    409: {
        "description": "`proposal_pending`: a proposal of this act on this subject already waits for approval (its "
        "`proposal_id` is given), or `idempotency_key_reused`, or the act cannot apply to the subject as it is"
    },
}
"""The ``responses=`` of a route that proposes an act."""

_DECIDING: dict[int | str, dict[str, Any]] = {
    403: {
        "description": _FORBIDDEN + "; `same_approver`: whoever proposed the act may not approve or reject it "
        "(withdraw it instead)"
    },
    409: {
        "description": "`proposal_decided`: approved, rejected, withdrawn or failed already (`proposal_status`); "
        "`proposal_failed`: the act could no longer apply, nothing was done and the proposal is now `failed` "
        "(`cause` is the act's own refusal code); or `idempotency_key_reused`"
    },
}


_READING: dict[int | str, dict[str, Any]] = {403: {"description": "`forbidden`: a merchant key or a customer token"}}


@router.get("", response_model=ProposalList, responses=_READING)
def list_proposals(
    request: Request,
    _actor: Reader,
    status: Annotated[Status | None, Query(description="only these (`pending`: waiting for a second operator)")] = None,
    kind: Annotated[Kind | None, Query()] = None,
    subject: Annotated[
        str | None, Query(max_length=64, description="only those on this customer, suspense item or merchant id")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    starting_after: Annotated[str | None, Query(max_length=40, description="id of the last proposal seen")] = None,
) -> ProposalList:
    """Proposals, newest first, filtered by status, kind and subject."""
    found = kleline_of(request).proposals.list(
        status=status, kind=kind, subject_id=subject, limit=limit + 1, starting_after=starting_after
    )
    return ProposalList(data=[proposal_out(p) for p in found[:limit]], has_more=len(found) > limit)


@router.get("/{proposal_id}", response_model=ProposalOut, responses=_READING)
def get_proposal(proposal_id: str, request: Request, _actor: Reader) -> ProposalOut:
    """One proposal."""
    return proposal_out(kleline_of(request).proposals.get(proposal_id))


@router.post("/{proposal_id}/approve", response_model=ProposalOut, responses=_DECIDING)
def approve(proposal_id: str, request: Request, actor: Reader) -> ProposalOut:
    """Approve the act another operator proposed: it applies now, in the same transaction as this decision, and
    ``result`` says what it did. The approver's role must grant the act's power. If the act can no longer apply
    (its subject changed since), nothing is done and the answer is ``409 proposal_failed``."""
    return proposal_out(kleline_of(request).proposals.approve(actor, proposal_id))


@router.post("/{proposal_id}/reject", response_model=ProposalOut, responses=_DECIDING)
def reject(proposal_id: str, body: RejectionIn, request: Request, actor: Reader) -> ProposalOut:
    """Reject the act another operator proposed, saying why: it never applies."""
    return proposal_out(kleline_of(request).proposals.reject(actor, proposal_id, body.reason))


@router.post(
    "/{proposal_id}/withdraw",
    response_model=ProposalOut,
    responses={
        403: {"description": "`not_proposer`: only whoever proposed the act may withdraw it; or `forbidden`"},
        409: {"description": "`proposal_decided`: no longer pending; or `idempotency_key_reused`"},
    },
)
def withdraw(proposal_id: str, request: Request, actor: Reader) -> ProposalOut:
    """Withdraw your own pending proposal: the act never applies."""
    return proposal_out(kleline_of(request).proposals.withdraw(actor, proposal_id))
