"""Four eyes: acts of Kleline's staff that one person proposes and a second approves (``service``), the rule and the
proposals as values (``model``), the acts over the services that do them (``acts``), their refusals (``errors``)."""

from kleline.proposals.acts import Act, Applied, acts
from kleline.proposals.errors import (
    InvalidProposal,
    NotProposer,
    ProposalDecided,
    ProposalError,
    ProposalFailed,
    ProposalPending,
    SameApprover,
    UnknownProposal,
)
from kleline.proposals.model import (
    POWERS,
    STATUSES,
    SUBJECT_TYPES,
    Proposal,
    ProposalKind,
    ProposalStatus,
    same_actor,
)
from kleline.proposals.service import Proposals

__all__ = [
    "POWERS",
    "STATUSES",
    "SUBJECT_TYPES",
    "Act",
    "Applied",
    "InvalidProposal",
    "NotProposer",
    "Proposal",
    "ProposalDecided",
    "ProposalError",
    "ProposalFailed",
    "ProposalKind",
    "ProposalPending",
    "ProposalStatus",
    "Proposals",
    "SameApprover",
    "UnknownProposal",
    "acts",
    "same_actor",
]
