"""A customer's verification level, set by an operator whose role verifies customers (``verify_customers``), saying
why: the change and its reason go to the staff audit trail, with the level before and after. The level the customer
has already changes nothing; ``Idempotency-Key`` as on every ``POST``."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from kleline.api.auth import kleline_of, require_power
from kleline.api.routes.customers import CustomerOut, customer_out
from kleline.api.routes.staff_reports import forbidden
from kleline.staff.actor import StaffActor
from kleline.staff.roles import Power
from kleline.wallet.customers import MAX_LEVEL_REASON

__all__ = ["router"]

router = APIRouter(tags=["staff lookup"])

Verifier = Annotated[StaffActor, Depends(require_power(Power.VERIFY_CUSTOMERS))]


class VerificationLevelIn(BaseModel):
    """The customer's new verification level, and why (kept in the staff audit trail)."""

    level: Literal["verified", "unverified"] = Field(examples=["verified"])
    reason: str = Field(min_length=1, max_length=MAX_LEVEL_REASON, examples=["Identity documents checked"])


@router.post(
    "/v1/customers/{customer_id}/verification-level",
    response_model=CustomerOut,
    responses={
        **forbidden("the `verify_customers` power"),
        404: {"description": "`not_found`: no such customer"},
    },
)
def set_verification_level(
    customer_id: str, body: VerificationLevelIn, request: Request, operator: Verifier
) -> CustomerOut:
    """Set the customer's verification level (``verified`` after identity checks, ``unverified`` to take it back),
    with the reason the staff audit trail keeps beside the level before and after. Setting the level the customer
    has already changes nothing and records nothing."""
    customers = kleline_of(request).customers
    return customer_out(customers.set_level(customer_id, body.level, actor=operator, reason=body.reason))
