"""A merchant's events: list and read them, see how their deliveries went, and have one sent again."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from kleline.api.auth import MerchantId, kleline_of
from kleline.clock import to_rfc3339
from kleline.events.model import Delivery, Event
from kleline.payments.disclosure import Disclosure

__all__ = ["router"]

router = APIRouter(prefix="/v1/events", tags=["events"])

_NOT_FOUND: dict[int | str, dict[str, object]] = {404: {"description": "no such event"}}


class EventOut(BaseModel):
    """An event, exactly as its webhook's body carries it; ``data`` is the object (payment, refund) at the time."""

    id: str = Field(examples=["evt_4f1c..."])
    type: str = Field(examples=["payment.succeeded"])
    created_at: str
    data: dict[str, Any]


class EventList(BaseModel):
    """A page of events, newest first."""

    data: list[EventOut]
    has_more: bool


class AttemptOut(BaseModel):
    """One try: the endpoint's status code, or the error that prevented an answer (timeout, refused address...)."""

    number: int
    attempted_at: str
    status_code: int | None
    error: str | None
    duration_ms: float


class DeliveryOut(BaseModel):
    """The event owed to one endpoint: ``pending`` (with ``next_attempt_at``), ``delivered``, ``failed`` (given up
    after the retry horizon) or ``canceled`` (the endpoint was deleted or answered 410 Gone)."""

    id: str = Field(examples=["wd_4f1c..."])
    event_id: str
    endpoint_id: str
    url: str
    status: Literal["pending", "delivered", "failed", "canceled"]
    next_attempt_at: str | None
    created_at: str
    finished_at: str | None
    attempts: list[AttemptOut]


class DeliveryList(BaseModel):
    """Every delivery of an event, oldest first."""

    data: list[DeliveryOut]
    has_more: bool


def event_out(event: Event, disclosure: Disclosure) -> EventOut:
    """The API view of an event: a payment's customer as the merchant may see it now (``payments.disclosure``)."""
    payload = event.payload()
    payload["data"] = disclosure.webhook_data(event.merchant_id, event.object_id, event.data)
    return EventOut(**payload)


def delivery_out(delivery: Delivery) -> DeliveryOut:
    """The API view of a delivery and its attempts."""
    return DeliveryOut(
        id=delivery.id,
        event_id=delivery.event_id,
        endpoint_id=delivery.endpoint_id,
        url=delivery.url,
        status=delivery.status,
        next_attempt_at=None if delivery.next_attempt_at is None else to_rfc3339(delivery.next_attempt_at),
        created_at=to_rfc3339(delivery.created_at),
        finished_at=None if delivery.finished_at is None else to_rfc3339(delivery.finished_at),
        attempts=[
            AttemptOut(
                number=a.number,
                attempted_at=to_rfc3339(a.attempted_at),
                status_code=a.status_code,
                error=a.error,
                duration_ms=round(a.duration_us / 1000, 3),
            )
            for a in delivery.attempts
        ],
    )


@router.get("", response_model=EventList)
def list_events(
    request: Request,
    merchant_id: MerchantId,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    starting_after: Annotated[str | None, Query(description="the id of the last event of the previous page")] = None,
    type: Annotated[
        str | None, Query(max_length=60, description="only events of this type", examples=["payment.succeeded"])
    ] = None,
) -> EventList:
    """The merchant's events, newest first: ``payment.authorized``, ``payment.succeeded``, ``payment.failed``,
    ``payment.canceled``, ``payment.expired``, ``refund.succeeded``, ``refund.failed``; a change of its bank account
    asked for by an owner, ``merchant.bank_account.change_requested``, then ``merchant.bank_account.changed`` (an
    operator approved it), ``merchant.bank_account.change_rejected`` or ``merchant.bank_account.change_withdrawn``
    (their ``data``: the change, its IBAN masked)."""
    kleline = kleline_of(request)
    events = kleline.events.list(merchant_id, limit=limit + 1, starting_after=starting_after, type=type)
    return EventList(data=[event_out(e, kleline.disclosure) for e in events[:limit]], has_more=len(events) > limit)


@router.get("/{event_id}", response_model=EventOut, responses=_NOT_FOUND)
def get_event(event_id: str, request: Request, merchant_id: MerchantId) -> EventOut:
    """One of the merchant's events; another merchant's is not found, like an unknown one."""
    kleline = kleline_of(request)
    return event_out(kleline.events.get(merchant_id, event_id), kleline.disclosure)


@router.get("/{event_id}/deliveries", response_model=DeliveryList, responses=_NOT_FOUND)
def list_deliveries(event_id: str, request: Request, merchant_id: MerchantId) -> DeliveryList:
    """How the event's deliveries went: one per endpoint (and per redelivery), each with every attempt."""
    deliveries = kleline_of(request).events.deliveries(merchant_id, event_id)
    return DeliveryList(data=[delivery_out(d) for d in deliveries], has_more=False)


@router.post("/{event_id}/redeliver", status_code=202, response_model=DeliveryList, responses=_NOT_FOUND)
def redeliver(event_id: str, request: Request, merchant_id: MerchantId) -> DeliveryList:
    """Send the event again to every enabled endpoint, at the worker's next pass, even if it was delivered or
    given up before (with a fresh retry horizon). Answers the event's deliveries."""
    deliveries = kleline_of(request).events.redeliver(merchant_id, event_id)
    return DeliveryList(data=[delivery_out(d) for d in deliveries], has_more=False)
