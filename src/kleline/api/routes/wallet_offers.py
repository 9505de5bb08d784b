"""The customer's inbox of offers: list them (with the unread count), open one, answer one."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, cast

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from kleline.api.auth import CustomerId, kleline_of
from kleline.clock import to_rfc3339
from kleline.privacy.offer_model import InboxOffer

__all__ = ["router"]

router = APIRouter(prefix="/v1/wallet/offers", tags=["wallet"])

Answer = Literal["interested", "share_email", "not_interested"]


class InboxOfferOut(BaseModel):
    """An offer in the customer's inbox. The merchant never learns who received it; answering ``share_email`` gives
    it the customer's email (a consent, withdrawn like any other)."""

    id: str = Field(examples=["ofr_4f1c..."])
    merchant_id: str
    merchant_name: str
    title: str
    body: str
    link: str
    valid_from: str
    valid_until: str
    expired: bool
    delivered_at: str
    read_at: str | None
    answer: Answer | None
    answered_at: str | None


class InboxOut(BaseModel):
    """A page of the inbox, newest first, and how many valid offers are unread."""

    data: list[InboxOfferOut]
    has_more: bool
    unread: int


class AnswerIn(BaseModel):
    """How the customer answers: once (the same answer again changes nothing; another is a 409)."""

    answer: Answer


def inbox_out(offer: InboxOffer, now: datetime) -> InboxOfferOut:
    return InboxOfferOut(
        id=offer.id,
        merchant_id=offer.merchant_id,
        merchant_name=offer.merchant_name,
        title=offer.title,
        body=offer.body,
        link=offer.link,
        valid_from=to_rfc3339(offer.valid_from),
        valid_until=to_rfc3339(offer.valid_until),
        expired=offer.expired(now),
        delivered_at=to_rfc3339(offer.delivered_at),
        read_at=None if offer.read_at is None else to_rfc3339(offer.read_at),
        answer=cast(Answer | None, offer.answer),
        answered_at=None if offer.answered_at is None else to_rfc3339(offer.answered_at),
    )


@router.get("", response_model=InboxOut)
def list_offers(
    request: Request,
    customer_id: CustomerId,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    starting_after: Annotated[str | None, Query(description="the id of the last offer of the previous page")] = None,
) -> InboxOut:
    """The offers merchants sent the customer, newest first."""
    kleline = kleline_of(request)
    offers = kleline.inbox.offers(customer_id, limit=limit + 1, starting_after=starting_after)
    now = kleline.clock()
    return InboxOut(
        data=[inbox_out(o, now) for o in offers[:limit]],
        has_more=len(offers) > limit,
        unread=kleline.inbox.unread(customer_id),
    )


_ERRORS: dict[int | str, dict[str, object]] = {404: {"description": "``offer_not_found``"}}


@router.post("/{offer_id}/read", response_model=InboxOfferOut, responses=_ERRORS)
def read_offer(offer_id: str, request: Request, customer_id: CustomerId) -> InboxOfferOut:
    """Mark the offer read (it leaves the unread count)."""
    kleline = kleline_of(request)
    return inbox_out(kleline.inbox.read(customer_id, offer_id), kleline.clock())


@router.post(
    "/{offer_id}/answer",
    response_model=InboxOfferOut,
    responses={
        **_ERRORS,
        409: {"description": "``offer_already_answered`` (another answer was given), ``offer_expired``"},
    },
)
def answer_offer(offer_id: str, body: AnswerIn, request: Request, customer_id: CustomerId) -> InboxOfferOut:
    """Answer the offer: ``interested``, ``share_email`` (the merchant may then see your email) or
    ``not_interested``. The merchant learns how many answered, never who, unless you share your email."""
    kleline = kleline_of(request)
    language = "fr" if request.headers.get("accept-language", "").lower().startswith("fr") else "en"
    return inbox_out(kleline.inbox.answer(customer_id, offer_id, body.answer, language=language), kleline.clock())
