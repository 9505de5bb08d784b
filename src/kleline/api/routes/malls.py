"""Malls: operators curate them; anyone reads the directory.

The public directory lists active merchants only. An operator (a valid ``op_`` key whose role may read, on any call
here) sees every member, pending and suspended ones too, so that a mall can be prepared before its shops open.
Curating (creating a mall, placing or removing a merchant) needs the ``manage_settings`` power, and is recorded in the
staff audit trail.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from kleline.api.auth import MaybeOperator, SettingsManager, kleline_of
from kleline.clock import to_rfc3339
from kleline.merchants import Mall
from kleline.staff.actor import StaffActor
from kleline.staff.roles import Power

router = APIRouter(prefix="/v1/malls", tags=["malls"])


class MallIn(BaseModel):
    """A new mall: ``slug`` names its public page (lower-case letters, digits, single hyphens)."""

    name: str = Field(max_length=200, examples=["Galerie du Bac"])
    slug: str = Field(max_length=60, examples=["galerie-du-bac"])


class MemberIn(BaseModel):
    """A merchant to place in the mall."""

    merchant_id: str = Field(max_length=40)


class MemberOut(BaseModel):
    """A merchant as the directory shows it."""

    id: str
    name: str
    website: str | None
    category: str | None
    description: str | None = Field(description="what the shop sells, in a sentence")
    status: str


class MallOut(BaseModel):
    """A mall and its merchants, by name."""

    id: str
    name: str
    slug: str
    merchant_ids: list[str]
    merchants: list[MemberOut]
    created_at: str


class MallList(BaseModel):
    """A page of malls, in slug order."""

    data: list[MallOut]
    has_more: bool


def mall_out(mall: Mall, *, operator: bool) -> MallOut:
    """The API view of a mall: every member for an operator, the active ones for everybody else."""
    shown = mall if operator else mall.listed()
    return MallOut(
        id=shown.id,
        name=shown.name,
        slug=shown.slug,
        merchant_ids=list(shown.merchant_ids),
        merchants=[
            MemberOut(
                id=m.id,
                name=m.name,
                website=m.website,
                category=m.category,
                description=m.description,
                status=m.status,
            )
            for m in shown.members
        ],
        created_at=to_rfc3339(shown.created_at),
    )


def _sees_every_member(operator: StaffActor | None) -> bool:
    """An operator whose role may read sees a mall's pending and suspended members; the public, the active ones."""
    return operator is not None and operator.may(Power.READ)


@router.post("", status_code=201, response_model=MallOut)
def create_mall(body: MallIn, request: Request, operator: SettingsManager) -> MallOut:
    """Open an empty mall (operators); a slug already in use is refused (409 ``slug_taken``)."""
    return mall_out(kleline_of(request).malls.create(body.name, body.slug, actor=operator), operator=True)


@router.get("", response_model=MallList)
def list_malls(
    request: Request,
    operator: MaybeOperator,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    starting_after: Annotated[str | None, Query(max_length=40, description="id of the last mall seen")] = None,
) -> MallList:
    """The public directory of malls, in slug order."""
    malls = kleline_of(request).malls.list(limit=limit + 1, starting_after=starting_after)
    everyone = _sees_every_member(operator)
    return MallList(data=[mall_out(m, operator=everyone) for m in malls[:limit]], has_more=len(malls) > limit)


@router.get("/{mall_id}", response_model=MallOut)
def get_mall(mall_id: str, request: Request, operator: MaybeOperator) -> MallOut:
    """One mall's public page."""
    return mall_out(kleline_of(request).malls.get(mall_id), operator=_sees_every_member(operator))


@router.post("/{mall_id}/merchants", response_model=MallOut)
def add_merchant(mall_id: str, body: MemberIn, request: Request, operator: SettingsManager) -> MallOut:
    """Place a merchant in the mall (operators; placing it twice changes nothing)."""
    return mall_out(kleline_of(request).malls.add_merchant(mall_id, body.merchant_id, actor=operator), operator=True)


@router.delete("/{mall_id}/merchants/{merchant_id}", response_model=MallOut)
def remove_merchant(mall_id: str, merchant_id: str, request: Request, operator: SettingsManager) -> MallOut:
    """Take a merchant out of the mall (operators)."""
    malls = kleline_of(request).malls
    return mall_out(malls.remove_merchant(mall_id, merchant_id, actor=operator), operator=True)
