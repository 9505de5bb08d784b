"""A merchant's webhook endpoints: register one (its signing secret is shown once), list them, delete one."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field, StrictStr

from kleline.api.auth import MerchantId, kleline_of
from kleline.clock import to_rfc3339
from kleline.events.model import WebhookEndpoint

__all__ = ["EndpointOut", "endpoint_out", "router"]

router = APIRouter(prefix="/v1/webhook-endpoints", tags=["events"])


class EndpointIn(BaseModel):
    """Where to send the merchant's events: an http(s) URL on the public internet."""

    url: StrictStr = Field(max_length=2048, examples=["https://shop.example/kleline/webhooks"])


class EndpointOut(BaseModel):
    """A webhook endpoint. ``disabled`` when it answered 410 Gone: nothing more is sent to it."""

    id: str = Field(examples=["we_4f1c..."])
    url: str
    status: Literal["enabled", "disabled"]
    disabled_reason: str | None
    created_at: str


class CreatedEndpointOut(EndpointOut):
    """A new endpoint with its signing secret: shown only here. Verify each delivery's ``Kleline-Signature`` with
    it (``kleline.events.signature.verify``)."""

    secret: str = Field(examples=["whsec_9a0b..."])


class EndpointList(BaseModel):
    """A page of endpoints, newest first."""

    data: list[EndpointOut]
    has_more: bool


def endpoint_out(endpoint: WebhookEndpoint) -> EndpointOut:
    """The API view of an endpoint (never its secret)."""
    return EndpointOut(
        id=endpoint.id,
        url=endpoint.url,
        status=endpoint.status,
        disabled_reason=endpoint.disabled_reason,
        created_at=to_rfc3339(endpoint.created_at),
    )


_CREATE_ERRORS: dict[int | str, dict[str, object]] = {
    400: {"description": "``invalid_webhook_url``: not http(s) with a host, or it resolves to a private address"},
    409: {"description": "``too_many_webhook_endpoints``: delete one first"},
}


@router.post("", status_code=201, response_model=CreatedEndpointOut, responses=_CREATE_ERRORS)
def create_endpoint(body: EndpointIn, request: Request, merchant_id: MerchantId) -> CreatedEndpointOut:
    """Register an endpoint: every event of the merchant from now on is POSTed to it, signed with its secret.

    The URL must be http(s) and its host must resolve to public addresses only (no loopback, private, link-local
    or reserved address), checked now and again before each delivery; redirects are not followed.
    """
    endpoint, secret = kleline_of(request).webhook_endpoints.create(merchant_id, body.url)
    return CreatedEndpointOut(**endpoint_out(endpoint).model_dump(), secret=secret)


@router.get("", response_model=EndpointList)
def list_endpoints(
    request: Request,
    merchant_id: MerchantId,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    starting_after: Annotated[str | None, Query(description="the id of the last endpoint of the previous page")] = None,
) -> EndpointList:
    """The merchant's endpoints, newest first (without their secrets)."""
    endpoints = kleline_of(request).webhook_endpoints.list(merchant_id, limit=limit + 1, starting_after=starting_after)
    return EndpointList(data=[endpoint_out(e) for e in endpoints[:limit]], has_more=len(endpoints) > limit)


@router.get("/{endpoint_id}", response_model=EndpointOut, responses={404: {"description": "no such endpoint"}})
def get_endpoint(endpoint_id: str, request: Request, merchant_id: MerchantId) -> EndpointOut:
    """One of the merchant's endpoints; another merchant's is not found, like an unknown one."""
    return endpoint_out(kleline_of(request).webhook_endpoints.get(merchant_id, endpoint_id))


@router.delete(
    "/{endpoint_id}", status_code=204, response_class=Response, responses={404: {"description": "no such endpoint"}}
)
def delete_endpoint(endpoint_id: str, request: Request, merchant_id: MerchantId) -> Response:
    """Delete an endpoint: deliveries still pending to it are canceled; past deliveries stay on record."""
    kleline_of(request).webhook_endpoints.delete(merchant_id, endpoint_id)
    return Response(status_code=204)
