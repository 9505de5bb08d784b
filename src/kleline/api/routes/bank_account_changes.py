"""A merchant's bank account changes, from the operator's side: the changes its owners asked for on the dashboard,
and the operator's decision once the new account is re-checked (``kleline.merchant_users.bank_changes``).

Operators only, who read the full IBAN (they must, to check it): reading needs the ``read`` power, a decision
``decide_merchants`` (recorded in the staff audit trail with the IBANs' last four characters only). A change is
reached through its merchant: another merchant's change id is a 404, as an unknown one. Approving takes two
operators (four eyes, ``kleline.api.routes.proposals``): ``approve`` proposes it (``202``, the change stays
``pending``), and a second operator approves the proposal. A rejection keeps things as they are and takes one:
rejecting a rejected change answers it as it stands and changes nothing; rejecting one decided otherwise is a ``409``
``bank_account_change_decided`` with the change's ``change_status``. ``Idempotency-Key`` is taken as on every
``POST``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from kleline.api.auth import MerchantDecider, ReadingOperator, kleline_of
from kleline.api.routes.proposals import PROPOSED, ProposalOut, proposal_out
from kleline.clock import to_rfc3339
from kleline.merchant_users import BankAccountChange
from kleline.staff.actor import StaffActor

__all__ = ["router"]

router = APIRouter(prefix="/v1/merchants/{merchant_id}/bank-account-changes", tags=["merchants"])

Status = Literal["pending", "approved", "rejected", "withdrawn"]
_CHANGE = "/{change_id}"
_DECIDED: dict[int | str, dict[str, object]] = {
    409: {
        "description": "`bank_account_change_decided`: the change was decided otherwise already (its "
        "`change_status` says how), or `idempotency_key_reused`"
    },
}


_PROPOSED: dict[int | str, dict[str, object]] = {
    **PROPOSED,
    409: {
        "description": "`proposal_pending`: an approval of this merchant's change already waits for a second "
        "operator; `bank_account_change_decided`: the change was decided already (its `change_status` says how); or "
        "`idempotency_key_reused`"
    },
}


class BankAccountChangeOut(BaseModel):
    """A change of a merchant's bank account, as an owner asked for it, and where it stands: ``pending`` until an
    operator approves it (the merchant's payouts then go to ``iban``) or rejects it (``reason``), or an owner
    withdraws it."""

    id: str = Field(examples=["bac_4f1c..."])
    merchant_id: str
    status: Status
    iban: str = Field(description="the new account, in full (operators only)", examples=["DE89370400440532013000"])
    iban_last4: str
    bic: str = Field(examples=["COBADEFFXXX"])
    requested_by: str = Field(description="the owner who asked (a dashboard user id, `mu_...`)")
    requested_at: str
    decided_at: str | None
    decided_by: str | None = Field(
        description="who decided: the operator key or the command line, or the owner (`mu_...`) who withdrew it"
    )
    reason: str | None = Field(description="why it was rejected, as the merchant's owners read it")
    previous_iban: str | None = Field(description="the account it replaced, once approved")
    previous_bic: str | None


class BankAccountChangeList(BaseModel):
    """A page of a merchant's bank account changes, newest first."""

    data: list[BankAccountChangeOut]
    has_more: bool


class RejectionIn(BaseModel):
    """Why the new account is refused: the merchant's owners read it on their dashboard, and in the event."""

    reason: str = Field(
        min_length=1, max_length=500, examples=["The account holder's name is not the shop's legal name."]
    )


def change_out(change: BankAccountChange) -> BankAccountChangeOut:
    """The operator's view of a change (the IBAN in full)."""
    return BankAccountChangeOut(
        id=change.id,
        merchant_id=change.merchant_id,
        status=change.status,
        iban=change.iban,
        iban_last4=change.iban[-4:],
        bic=change.bic,
        requested_by=change.requested_by,
        requested_at=to_rfc3339(change.requested_at),
        decided_at=None if change.decided_at is None else to_rfc3339(change.decided_at),
        decided_by=change.decided_by,
        reason=change.reason,
        previous_iban=change.previous_iban,
        previous_bic=change.previous_bic,
    )


def _operator(operator: StaffActor) -> str:
    return f"operator key {operator.id}"


@router.get("", response_model=BankAccountChangeList)
def list_changes(
    merchant_id: str,
    request: Request,
    _operator_key: ReadingOperator,
    status: Annotated[Status | None, Query(description="only the changes in this state (`pending`: to check)")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    starting_after: Annotated[str | None, Query(max_length=40, description="id of the last change seen")] = None,
) -> BankAccountChangeList:
    """The merchant's bank account changes, newest first; ``status=pending`` is the one waiting for a decision (a
    merchant has at most one)."""
    changes = kleline_of(request).bank_account_changes.list(
        merchant_id, status=status, limit=limit + 1, starting_after=starting_after
    )
    return BankAccountChangeList(data=[change_out(c) for c in changes[:limit]], has_more=len(changes) > limit)


@router.get(_CHANGE, response_model=BankAccountChangeOut)
def get_change(
    merchant_id: str, change_id: str, request: Request, _operator_key: ReadingOperator
) -> BankAccountChangeOut:
    """One of the merchant's bank account changes."""
    return change_out(kleline_of(request).bank_account_changes.get(merchant_id, change_id))


@router.post(_CHANGE + "/approve", status_code=202, response_model=ProposalOut, responses=_PROPOSED)
def approve(merchant_id: str, change_id: str, request: Request, operator: MerchantDecider) -> ProposalOut:
    """Propose to approve the new account once checked (four eyes): the change stays ``pending`` until a second
    operator approves the proposal (``POST /v1/proposals/{id}/approve``). Then the merchant's next payouts go to it
    (payouts already made keep the account they were sent to), the merchant's owners are told (dashboard, trail) and
    its webhooks get ``merchant.bank_account.changed``. A change decided already is ``409
    bank_account_change_decided``."""
    return proposal_out(kleline_of(request).proposals.propose_bank_account(operator, merchant_id, change_id))


@router.post(_CHANGE + "/reject", response_model=BankAccountChangeOut, responses=_DECIDED)
def reject(
    merchant_id: str, change_id: str, body: RejectionIn, request: Request, operator: MerchantDecider
) -> BankAccountChangeOut:
    """Reject the new account, saying why: the merchant keeps its account. The merchant's owners are told (dashboard,
    trail) and its webhooks get ``merchant.bank_account.change_rejected``."""
    changes = kleline_of(request).bank_account_changes
    return change_out(changes.reject(merchant_id, change_id, body.reason, by=_operator(operator), actor=operator))
