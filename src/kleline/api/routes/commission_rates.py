"""A merchant's commission rate and introduction fee rate (issue 15), each changed by two operators (four eyes,
``kleline.api.routes.proposals``): one proposes the new rate here, a second approves the proposal, and the merchant's
next payments take it (payments made before keep the rate they were made at). Operators whose role decides merchants
only; ``Idempotency-Key`` as on every ``POST``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field, StrictInt

from kleline.api.auth import kleline_of, require_power
from kleline.api.routes.proposals import PROPOSED, ProposalOut, proposal_out
from kleline.merchants import MAX_FEE_BPS, MIN_FEE_BPS
from kleline.merchants.model import MAX_INTRO_FEE_BPS, MIN_INTRO_FEE_BPS
from kleline.staff.actor import StaffActor
from kleline.staff.roles import Power

__all__ = ["router"]

router = APIRouter(tags=["merchants"])

Decider = Annotated[StaffActor, Depends(require_power(Power.DECIDE_MERCHANTS))]


def _responses(rate: str) -> dict[int | str, dict[str, Any]]:
    """The answers of a proposal of a new ``rate``, as the OpenAPI document lists them: both rates' proposals are
    refused for the same reasons."""
    return {
        **PROPOSED,
        409: {
            "description": f"`proposal_pending`: a change of this merchant's {rate} already waits for a second "
            "operator; `invalid_status_transition`: the merchant is neither active nor suspended; or "
            "`idempotency_key_reused`"
        },
    }


class CommissionRateIn(BaseModel):
    """The commission Kleline is to take on the merchant's next payments, in basis points (350 = 3.5 %)."""

    fee_bps: StrictInt = Field(ge=MIN_FEE_BPS, le=MAX_FEE_BPS, examples=[380])


@router.post(
    "/v1/merchants/{merchant_id}/commission-rate",
    status_code=202,
    response_model=ProposalOut,
    responses=_responses("rate"),
)
def propose_commission_rate(
    merchant_id: str, body: CommissionRateIn, request: Request, operator: Decider
) -> ProposalOut:
    """Propose a new commission rate for an active (or suspended) merchant: nothing changes until a second operator
    approves the proposal (``POST /v1/proposals/{id}/approve``). The proposal names the rate it replaces; if that rate
    changed before the approval, the approval fails (``commission_rate_changed``). The same rate as now is ``400
    validation_error``."""
    proposals = kleline_of(request).proposals
    return proposal_out(proposals.propose_commission_rate(operator, merchant_id, body.fee_bps))


class IntroFeeRateIn(BaseModel):
    """The introduction fee Kleline is to take on the payments of customers the merchant's offers introduce (within
    30 days of the offer they answered), in basis points (500 = 5 %)."""

    intro_fee_bps: StrictInt = Field(ge=MIN_INTRO_FEE_BPS, le=MAX_INTRO_FEE_BPS, examples=[600])


@router.post(
    "/v1/merchants/{merchant_id}/intro-fee-rate",
    status_code=202,
    response_model=ProposalOut,
    responses=_responses("introduction fee rate"),
)
def propose_intro_fee_rate(merchant_id: str, body: IntroFeeRateIn, request: Request, operator: Decider) -> ProposalOut:
    """Propose a new introduction fee rate for an active (or suspended) merchant, as its commission rate is changed:
    nothing changes until a second operator approves the proposal (``POST /v1/proposals/{id}/approve``), which the
    staff audit trail records as ``merchant_intro_fee_rate_changed``. Payments keep the rate they were confirmed at.
    If the rate changed before the approval, the approval fails (``intro_fee_rate_changed``). The same rate as now
    is ``400 validation_error``."""
    proposals = kleline_of(request).proposals
    return proposal_out(proposals.propose_intro_fee_rate(operator, merchant_id, body.intro_fee_bps))
