"""A merchant's application as compliance reviews it: each check run again on what was stored, and the other
merchants sharing its IBAN or SIRET (``kleline.merchants.review``). Operators only; reading it changes nothing."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from kleline.api.auth import kleline_of, require_power
from kleline.merchants.review import CheckName
from kleline.staff.roles import Power

__all__ = ["router"]

router = APIRouter(prefix="/v1/merchants", tags=["merchants"])


class CheckOut(BaseModel):
    """One check of the application: whether it passed, and what it found."""

    name: CheckName = Field(description="`iban`, `siret`, `vat_number`, `same_iban` or `same_siret`")
    passed: bool
    detail: str = Field(examples=["no other merchant has this IBAN"])
    merchant_ids: list[str] = Field(description="for `same_iban` and `same_siret`: the other merchants found")


class ReviewOut(BaseModel):
    """The application's checks; ``clear`` when every one passed."""

    merchant_id: str
    status: str
    clear: bool
    checks: list[CheckOut]


@router.get(
    "/{merchant_id}/review",
    response_model=ReviewOut,
    dependencies=[Depends(require_power(Power.READ))],
    responses={404: {"description": "`not_found`: no such merchant"}},
)
def get_review(merchant_id: str, request: Request) -> ReviewOut:
    """Run the application's checks again, for the operator who approves or refuses it."""
    review = kleline_of(request).merchants.review(merchant_id)
    return ReviewOut(
        merchant_id=review.merchant.id,
        status=review.merchant.status,
        clear=review.clear,
        checks=[
            CheckOut(name=c.name, passed=c.passed, detail=c.detail, merchant_ids=list(c.others)) for c in review.checks
        ],
    )
