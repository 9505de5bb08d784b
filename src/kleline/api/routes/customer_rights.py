"""The customer's rights over their data: download it (GDPR Art. 15 and 20), close and erase the wallet (Art. 17)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from kleline.api.auth import CustomerId, kleline_of
from kleline.clock import to_rfc3339
from kleline.customer_rights.erasure import retention_cutoff

router = APIRouter(prefix="/v1", tags=["wallet"])


class ErasureRequest(BaseModel):
    """The customer's password, checked again: erasure cannot be undone."""

    password: str = Field(max_length=1024)


class ErasureOut(BaseModel):
    """The relationship has ended: the data is restricted now and destroyed once the retention period allows."""

    customer_id: str
    status: str = Field(description="`restricted`: kept only for legal obligations until `shredding_after`")
    erased_at: str
    shredding_after: str = Field(description="when the customer's key may be destroyed (the retention period's end)")


_EXPORT_ERRORS: dict[int | str, dict[str, object]] = {
    409: {"description": "`export_refused`: the wallet was closed and its data is restricted"}
}
_ERASURE_ERRORS: dict[int | str, dict[str, object]] = {
    400: {"description": "`wrong_password`: the password is not the customer's"},
    409: {"description": "`erasure_refused`: the purse still holds money, or a payment or top-up is under way"},
}


@router.get("/wallet/export", responses={200: {"content": {"application/json": {}}}, **_EXPORT_ERRORS})
def export(request: Request, customer_id: CustomerId) -> Response:
    """Everything Kleline holds about the customer, as one JSON file to download: profile, purse and movements,
    cards (masked), bank accounts (masked), top-ups, payments, consents and their history, offers, sign-ins."""
    document: dict[str, Any] = kleline_of(request).customer_export.export(customer_id)
    return Response(
        json.dumps(document, ensure_ascii=False, indent=2),
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="kleline-{customer_id}.json"',
            "Cache-Control": "no-store",
        },
    )


@router.post("/wallet/erasure", response_model=ErasureOut, responses=_ERASURE_ERRORS)
def erase(body: ErasureRequest, request: Request, customer_id: CustomerId) -> ErasureOut:
    """Close the wallet and erase the customer's data: sign-in, sessions and tokens end now, every consent is
    withdrawn, and the data is restricted to legal obligations until the retention period ends, when its key is
    destroyed. Refused while the purse holds money or a payment or top-up is under way."""
    erasure = kleline_of(request).erasure
    erased_at = erasure.request(customer_id, body.password)
    shredding = retention_cutoff(erased_at, -erasure.retention_years)
    return ErasureOut(
        customer_id=customer_id,
        status="restricted",
        erased_at=to_rfc3339(erased_at),
        shredding_after=to_rfc3339(shredding),
    )
