"""A merchant's audiences and offers: a noisy estimate of an audience's size, offers sent to an audience, their
noisy reach and how many answered. Every figure about people here is differentially private (``kleline.privacy.noise``)
and paid from the merchant's monthly privacy budget; none below 50 is ever given ("fewer than 50": ``null``)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from pydantic import AwareDatetime, BaseModel, Field, StrictStr

from kleline.api.auth import MerchantId, kleline_of
from kleline.clock import to_rfc3339
from kleline.privacy.audience_model import MINIMUM, Audience, Budget, Estimate
from kleline.privacy.offer_model import MAX_BODY, MAX_TITLE, Offer, OfferDraft

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["audiences"])

SpendBand = Literal["under_50", "50_to_200", "200_to_1000", "over_1000"]
RecencyBand = Literal["30_days", "90_days", "365_days"]


class AudienceIn(BaseModel):
    """Customers who consented to offers from a mall the merchant is in or from its category, narrowed by what they
    bought in the last 12 months (counted only for those who let their purchases count). Every field is optional."""

    mall_id: StrictStr | None = Field(None, max_length=40, description="bought at a merchant of this mall")
    category: StrictStr | None = Field(None, max_length=40, description="bought at a merchant of this category")
    spend: SpendBand | None = Field(
        None, description="spent over the last 12 months, EUR: under 50, 50 to 200, 200 to 1,000, over 1,000"
    )
    recency: RecencyBand | None = Field(None, description="last purchase at most this long ago")

    def audience(self) -> Audience:
        return Audience(self.mall_id, self.category, self.spend, self.recency)


class BudgetOut(BaseModel):
    """The merchant's privacy budget of the month (UTC), in thousandths of epsilon."""

    month: str = Field(examples=["2026-12"])
    spent_milli: int
    limit_milli: int
    remaining_milli: int
    releases_left: int = Field(description="estimates or offers the month still allows")


class EstimateOut(BaseModel):
    """A noisy audience size: ``size`` is null when the noisy value is below 50 ("fewer than 50")."""

    id: str = Field(examples=["arl_4f1c..."])
    audience: AudienceIn
    size: int | None
    below_minimum: bool
    minimum: int = MINIMUM
    mechanism: str = "discrete Laplace (OpenDP), sensitivity 1"
    epsilon_milli: int
    budget: BudgetOut
    created_at: str


def budget_out(budget: Budget) -> BudgetOut:
    return BudgetOut(
        month=budget.month,
        spent_milli=budget.spent_milli,
        limit_milli=budget.limit_milli,
        remaining_milli=budget.remaining_milli,
        releases_left=budget.releases_left,
    )


def _audience_out(audience: Audience) -> AudienceIn:
    return AudienceIn(**audience.as_dict())


_SPENDING_ERRORS: dict[int | str, dict[str, object]] = {
    400: {"description": "``invalid_audience``, ``invalid_offer`` or ``validation_error``"},
    403: {"description": "``privacy_budget_exhausted``: the month's budget is spent; ``merchant_not_active``"},
}


@router.post("/audiences/estimate", response_model=EstimateOut, responses=_SPENDING_ERRORS)
def estimate(body: AudienceIn, request: Request, merchant_id: MerchantId) -> EstimateOut:
    """Estimate how many customers an audience holds, with differential privacy: spends one release's epsilon."""
    found: Estimate = kleline_of(request).audiences.estimate(merchant_id, body.audience())
    return EstimateOut(
        id=found.id,
        audience=_audience_out(found.audience),
        size=found.size,
        below_minimum=found.size is None,
        epsilon_milli=found.epsilon_milli,
        budget=budget_out(found.budget),
        created_at=to_rfc3339(found.created_at),
    )


@router.get("/audiences/budget", response_model=BudgetOut)
def budget(request: Request, merchant_id: MerchantId) -> BudgetOut:
    """What is left of the merchant's privacy budget this month (reading it spends nothing)."""
    return budget_out(kleline_of(request).audiences.budget(merchant_id))


class OfferIn(BaseModel):
    """An offer to an audience: delivered to each member's wallet inbox; valid at most 90 days."""

    title: StrictStr = Field(min_length=1, max_length=MAX_TITLE)
    body: StrictStr = Field(min_length=1, max_length=MAX_BODY)
    link: StrictStr = Field(max_length=2000, examples=["https://shop.example/offer"], description="an https URL")
    valid_from: AwareDatetime | None = Field(None, description="RFC 3339; now when left out")
    valid_until: AwareDatetime = Field(description="RFC 3339, after valid_from")
    audience: AudienceIn = Field(default_factory=AudienceIn)


class OfferOut(BaseModel):
    """An offer as its merchant sees it: ``reach`` is the noisy number who received it (null: fewer than 50),
    ``answered`` how many chose to answer (interested, or sharing their email)."""

    id: str = Field(examples=["ofr_4f1c..."])
    title: str
    body: str
    link: str
    valid_from: str
    valid_until: str
    audience: AudienceIn
    reach: int | None
    reach_below_minimum: bool
    answered: int
    created_at: str


class OfferList(BaseModel):
    """A page of offers, newest first."""

    data: list[OfferOut]
    has_more: bool


def offer_out(offer: Offer) -> OfferOut:
    return OfferOut(
        id=offer.id,
        title=offer.title,
        body=offer.body,
        link=offer.link,
        valid_from=to_rfc3339(offer.valid_from),
        valid_until=to_rfc3339(offer.valid_until),
        audience=_audience_out(offer.audience),
        reach=offer.reach,
        reach_below_minimum=offer.reach is None,
        answered=offer.answered,
        created_at=to_rfc3339(offer.created_at),
    )


@router.post("/offers", status_code=201, response_model=OfferOut, responses=_SPENDING_ERRORS)
def send_offer(body: OfferIn, request: Request, merchant_id: MerchantId) -> OfferOut:
    """Send an offer to an audience. Its noisy reach spends one release's epsilon; when the month's budget is spent
    the offer is refused (``privacy_budget_exhausted``) and nothing is delivered."""
    kleline = kleline_of(request)
    draft = OfferDraft(
        body.title,
        body.body,
        body.link,
        body.valid_from or kleline.clock(),
        body.valid_until,
        body.audience.audience(),
    )
    return offer_out(kleline.offers.send(merchant_id, draft))


@router.get("/offers", response_model=OfferList)
def list_offers(
    request: Request,
    merchant_id: MerchantId,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    starting_after: Annotated[str | None, Query(description="the id of the last offer of the previous page")] = None,
) -> OfferList:
    """The merchant's offers, newest first, with their reach and answers."""
    offers = kleline_of(request).offers.list(merchant_id, limit=limit + 1, starting_after=starting_after)
    return OfferList(data=[offer_out(o) for o in offers[:limit]], has_more=len(offers) > limit)


@router.get("/offers/{offer_id}", response_model=OfferOut, responses={404: {"description": "``offer_not_found``"}})
def get_offer(offer_id: str, request: Request, merchant_id: MerchantId) -> OfferOut:
    """One of the merchant's offers; another merchant's is not found."""
    return offer_out(kleline_of(request).offers.get(merchant_id, offer_id))
