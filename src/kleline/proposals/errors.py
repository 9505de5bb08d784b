"""What a four-eyes proposal refuses, each with a stable code.

KlelineError
 └── ProposalError
      ├── InvalidProposal        validation_error: a filter or a rejection's reason breaks a rule
      ├── UnknownProposal        not_found: no such proposal
      ├── ProposalPending        409 proposal_pending: the subject already has a pending proposal of this kind
      ├── ProposalDecided        409 proposal_decided: approved, rejected, withdrawn or failed already
      ├── SameApprover           403 same_approver: whoever proposed an act may not approve (or reject) it
      ├── NotProposer            403 not_proposer: only whoever proposed an act may withdraw it
      └── ProposalFailed         409 proposal_failed: approved, the act could no longer apply (``cause`` says why)

The act's own refusals (``nothing_owed``, ``suspense_item_resolved``, ``invalid_iban``...) pass through unchanged when
a proposal is made: a proposal that could not apply now is not made.
"""

from __future__ import annotations

from kleline.errors import Conflict, KlelineError, NotFound, ValidationError

__all__ = [
    "InvalidProposal",
    "NotProposer",
    "ProposalDecided",
    "ProposalError",
    "ProposalFailed",
    "ProposalPending",
    "SameApprover",
    "UnknownProposal",
]


class ProposalError(KlelineError):
    """The root of the proposals' refusals."""


class InvalidProposal(ProposalError, ValidationError):
    """A filter of the list, or a rejection's reason, breaks a rule."""


class UnknownProposal(ProposalError, NotFound):
    """No proposal has this id."""


class ProposalPending(ProposalError, Conflict):
    """The subject already has a pending proposal of this kind: it must be decided or withdrawn first."""

    code = "proposal_pending"

    def __init__(self, detail: str, *, proposal_id: str) -> None:
        super().__init__(detail)
        self.proposal_id = proposal_id

    def extensions(self) -> dict[str, object]:
        """The pending proposal's id, to read or withdraw it."""
        return {"proposal_id": self.proposal_id}


class ProposalDecided(ProposalError, Conflict):
    """The proposal is no longer pending: it was approved, rejected, withdrawn, or failed when it was approved."""

    code = "proposal_decided"

    def __init__(self, detail: str, *, status: str) -> None:
        super().__init__(detail)
        self.status_now = status

    def extensions(self) -> dict[str, object]:
        """Where the proposal stands, so that a client can tell what happened without another call."""
        return {"proposal_status": self.status_now}


class SameApprover(ProposalError):
    """The approver (or rejecter) is whoever proposed the act: a second person must decide it."""

    code = "same_approver"
    status = 403


class NotProposer(ProposalError):
    """Someone other than the proposer tried to withdraw a proposal (reject it instead)."""

    code = "not_proposer"
    status = 403


class ProposalFailed(ProposalError, Conflict):
    """The proposal was approved but its act could no longer apply (the subject changed since): nothing was applied,
    and the proposal is now ``failed`` with the reason."""

    code = "proposal_failed"

    def __init__(self, detail: str, *, proposal_id: str, cause: str) -> None:
        super().__init__(detail)
        self.proposal_id = proposal_id
        self.cause = cause

    def extensions(self) -> dict[str, object]:
        """The failed proposal and the act's own refusal code (``nothing_owed``, ``debt_changed``...)."""
        return {"proposal_id": self.proposal_id, "cause": self.cause}
