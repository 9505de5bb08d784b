"""Proposals and the four-eyes rule, as plain values (standard library and the staff's actors only).

A proposal is one act of Kleline's staff (``ProposalKind``) on one subject, with its parameters as the proposer saw
them. It is ``pending`` until a second person decides it:

    pending ──approve──▶ approved      the act applied, in the same transaction as the decision
       │    ──approve──▶ failed        the act could no longer apply (the subject changed): nothing applied
       │    ──reject───▶ rejected      with a reason
       └────withdraw──▶ withdrawn     by whoever proposed it

Whoever approves or rejects is not whoever proposed (the same kind of actor with the same id: two ``op_`` keys are two
actors, the command line is the system user running it); whoever withdraws is whoever proposed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Final, Literal, get_args

from kleline.proposals.errors import InvalidProposal, NotProposer, ProposalDecided, SameApprover
from kleline.staff.actor import StaffActor
from kleline.staff.roles import Power

__all__ = [
    "ACTOR_ID_LENGTH",
    "MAX_REASON",
    "POWERS",
    "STATUSES",
    "SUBJECT_TYPES",
    "Decision",
    "Proposal",
    "ProposalKind",
    "ProposalStatus",
    "check_decision",
    "check_reason",
    "same_actor",
]


class ProposalKind(StrEnum):
    """The acts that take two people."""

    WRITE_OFF = "write_off"
    """Write a customer's debt off to Kleline's loss account."""
    SUSPENSE_RESOLUTION = "suspense_resolution"
    """Say by hand where a statement line held in suspense belongs."""
    COMMISSION_RATE = "commission_rate"
    """Change an active merchant's commission rate."""
    BANK_ACCOUNT = "bank_account"
    """Approve the new bank account a merchant's owner asked for."""
    INTRO_FEE_RATE = "intro_fee_rate"
    """Change an active merchant's introduction fee rate (issue 15)."""


ProposalStatus = Literal["pending", "approved", "rejected", "withdrawn", "failed"]
Decision = Literal["approved", "rejected", "withdrawn"]
STATUSES: Final[tuple[ProposalStatus, ...]] = get_args(ProposalStatus)
MAX_REASON: Final = 500
ACTOR_ID_LENGTH: Final = 80  # as the staff audit trail keeps an actor's id

POWERS: Final[Mapping[ProposalKind, Power]] = {
    ProposalKind.WRITE_OFF: Power.MANAGE_RECEIVABLES,
    ProposalKind.SUSPENSE_RESOLUTION: Power.RESOLVE_SUSPENSE,
    ProposalKind.COMMISSION_RATE: Power.DECIDE_MERCHANTS,
    ProposalKind.BANK_ACCOUNT: Power.DECIDE_MERCHANTS,
    ProposalKind.INTRO_FEE_RATE: Power.DECIDE_MERCHANTS,
}
"""The power that proposing, approving or rejecting each kind of act takes."""

SUBJECT_TYPES: Final[Mapping[ProposalKind, str]] = {
    ProposalKind.WRITE_OFF: "customer",
    ProposalKind.SUSPENSE_RESOLUTION: "suspense_item",
    ProposalKind.COMMISSION_RATE: "merchant",
    ProposalKind.BANK_ACCOUNT: "merchant",
    ProposalKind.INTRO_FEE_RATE: "merchant",
}
"""What each kind of act is done to (the subject's id names one of these)."""


@dataclass(frozen=True, slots=True)
class Proposal:
    """One act waiting for (or past) its second pair of eyes."""

    id: str
    kind: ProposalKind
    subject_type: str
    subject_id: str
    parameters: Mapping[str, Any]  # what exactly is to be done, as the proposer saw it
    status: ProposalStatus
    proposed_by: StaffActor
    proposed_at: datetime
    decided_by: StaffActor | None = None
    decided_at: datetime | None = None
    reason: str | None = None  # a rejection's reason, or why the act failed
    failure_code: str | None = None  # the act's refusal code, when it failed
    result: Mapping[str, Any] | None = None  # what the act did, once approved

    @property
    def power(self) -> Power:
        """The power deciding this proposal takes."""
        return POWERS[self.kind]


def same_actor(one: StaffActor, other: StaffActor) -> bool:
    """True when both are the same person: the same door and the same id (the role and address do not matter)."""
    return (one.kind, one.id[:ACTOR_ID_LENGTH]) == (other.kind, other.id[:ACTOR_ID_LENGTH])


def check_decision(proposal: Proposal, actor: StaffActor, decision: Decision) -> None:
    """Refuse a decision the rule does not allow: on a proposal no longer pending (``ProposalDecided``), an approval
    or rejection by the proposer (``SameApprover``), a withdrawal by anyone else (``NotProposer``)."""
    if proposal.status != "pending":
        raise ProposalDecided(f"proposal {proposal.id} is {proposal.status} already", status=proposal.status)
    mine = same_actor(proposal.proposed_by, actor)
    if decision == "withdrawn" and not mine:
        raise NotProposer(f"only {proposal.proposed_by.label}, who proposed it, may withdraw it: reject it instead")
    if decision == "approved" and mine:
        raise SameApprover("you proposed this act: a second person must approve it")
    if decision == "rejected" and mine:
        raise SameApprover("you proposed this act: withdraw it, or let a second person decide it")


def check_reason(reason: str) -> str:
    """A rejection's reason, as the proposer will read it: 1 to 500 characters on one line."""
    reason = " ".join(reason.split())
    if not 1 <= len(reason) <= MAX_REASON:
        raise InvalidProposal(f"reason: say why in 1 to {MAX_REASON} characters", param="reason")
    if any(not character.isprintable() for character in reason):
        raise InvalidProposal("reason: control characters are not allowed", param="reason")
    return reason
