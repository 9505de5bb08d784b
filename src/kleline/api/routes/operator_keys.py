"""Operator keys (``op_...``) from the API, for an operator whose role manages staff: make a key for automation in one
role, list the keys, revoke one. A new key always has a role; a key made before roles existed shows ``role: null``
(every power) until it is revoked. Making and revoking a key are recorded in the staff audit trail; a secret is shown
once, in the answer that makes it, and never stored.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, Field

from kleline.api.auth import StaffManager, kleline_of
from kleline.clock import to_rfc3339
from kleline.operators.service import LABEL_LENGTH, KeyInfo, create_key, list_keys, revoke_key
from kleline.staff.roles import Role

__all__ = ["router"]

router = APIRouter(prefix="/v1/operator-keys", tags=["operators"])

RoleName = Literal["admin", "compliance", "finance", "support"]


class OperatorKeyIn(BaseModel):
    """A key for automation: who or what it is for, and the role it acts in (least privilege: the smallest that
    does the job)."""

    label: str = Field(min_length=1, max_length=LABEL_LENGTH, examples=["nightly settlement"])
    role: RoleName = Field(examples=["finance"])


class OperatorKeyOut(BaseModel):
    """An operator key as it is listed: never its secret. ``role`` is null for a key made before roles existed, which
    keeps every power until it is revoked."""

    id: int
    object: Literal["operator_key"] = "operator_key"
    label: str
    role: RoleName | None
    created_at: str
    revoked_at: str | None


class NewOperatorKeyOut(OperatorKeyOut):
    """A new operator key: ``secret`` (``op_...``) is shown only here; send it as ``Authorization: Bearer``."""

    secret: str


class OperatorKeyList(BaseModel):
    """The operator keys, newest first."""

    data: list[OperatorKeyOut]
    has_more: bool


def key_out(key: KeyInfo) -> OperatorKeyOut:
    """The API view of a key."""
    return OperatorKeyOut(
        id=key.id,
        label=key.label,
        role=None if key.role is None else key.role.value,
        created_at=to_rfc3339(key.created_at),
        revoked_at=None if key.revoked_at is None else to_rfc3339(key.revoked_at),
    )


@router.post("", status_code=201, response_model=NewOperatorKeyOut)
def create_operator_key(body: OperatorKeyIn, request: Request, operator: StaffManager) -> NewOperatorKeyOut:
    """Make an operator key acting in ``role``; its secret is in this answer only."""
    kleline = kleline_of(request)
    new = create_key(kleline.db, body.label, role=Role(body.role), actor=operator, clock=kleline.clock)
    assert new.created_at is not None  # create_key gives it
    return NewOperatorKeyOut(
        id=new.id,
        label=new.label,
        role=body.role,
        created_at=to_rfc3339(new.created_at),
        revoked_at=None,
        secret=new.secret,
    )


@router.get("", response_model=OperatorKeyList)
def list_operator_keys(
    request: Request,
    _operator: StaffManager,
    include_revoked: Annotated[bool, Query(description="list the revoked keys too")] = False,
) -> OperatorKeyList:
    """The operator keys, newest first: the live ones, or every one with ``include_revoked``."""
    keys = list_keys(kleline_of(request).db, include_revoked=include_revoked)
    return OperatorKeyList(data=[key_out(key) for key in keys], has_more=False)


@router.delete("/{key_id}", status_code=204, response_class=Response)
def revoke_operator_key(
    key_id: Annotated[int, Path(ge=1, le=2**63 - 1)], request: Request, operator: StaffManager
) -> Response:
    """Revoke a live operator key: from now on it is answered 401 (a key already revoked, or none, is a 404)."""
    kleline = kleline_of(request)
    revoke_key(kleline.db, key_id, actor=operator, clock=kleline.clock)
    return Response(status_code=204)
