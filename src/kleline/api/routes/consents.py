"""The signed-in customer's consents: what they agreed to now, the history of every answer, grant and withdraw.

Granting and withdrawing are one call each and take effect at once (``kleline.privacy.consents``). A grant or a
withdrawal that repeats the standing word changes nothing and answers the state as it stands.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from kleline.api.auth import CustomerId, kleline_of
from kleline.clock import to_rfc3339
from kleline.privacy.model import ConsentEvent, ConsentState

__all__ = ["router"]

router = APIRouter(prefix="/v1/wallet/consents", tags=["wallet"])

Purpose = Literal["offers", "share_email", "audience_statistics"]


class ConsentIn(BaseModel):
    """A consent to grant or withdraw: its purpose and what it covers."""

    purpose: Purpose = Field(
        description="`offers`: hear offers from the merchants of a mall or category; `share_email`: one merchant "
        "may see my email; `audience_statistics`: my purchases may count in noisy audience estimates"
    )
    scope: str = Field(
        default="",
        max_length=80,
        description="`mall:<id>` or `category:<name>` for offers, `merchant:<id>` for share_email, empty for "
        "audience_statistics",
        examples=["merchant:mer_4f1c..."],
    )
    language: Literal["en", "fr"] = Field(
        default="en", description="the language the text was shown in, recorded with its version"
    )


class ConsentOut(BaseModel):
    """A (purpose, scope)'s current word: granted or withdrawn, under which text, since when."""

    object: Literal["consent"]
    purpose: str
    scope: str
    granted: bool
    text_version: str = Field(examples=["share-email-v1/en"])
    changed_at: str


class ConsentEventOut(BaseModel):
    """One grant or withdrawal, as the consent ledger keeps it."""

    id: str = Field(examples=["cns_4f1c..."])
    object: Literal["consent_event"]
    purpose: str
    scope: str
    action: Literal["grant", "withdraw"]
    text_version: str
    channel: str = Field(description="where it was given: `wallet`, `checkout`, `api` or `offer`")
    at: str


class ConsentList(BaseModel):
    """Every (purpose, scope) the customer answered, with its current word, and the whole history, oldest first."""

    data: list[ConsentOut]
    history: list[ConsentEventOut]
    has_more: bool


def consent_out(state: ConsentState) -> ConsentOut:
    """The API view of a consent's current word."""
    return ConsentOut(
        object="consent",
        purpose=state.purpose,
        scope=state.scope,
        granted=state.granted,
        text_version=state.text_version,
        changed_at=to_rfc3339(state.changed_at),
    )


def event_out(event: ConsentEvent) -> ConsentEventOut:
    """The API view of one grant or withdrawal."""
    return ConsentEventOut(
        id=event.id,
        object="consent_event",
        purpose=event.purpose,
        scope=event.scope,
        action="grant" if event.action == "grant" else "withdraw",
        text_version=event.text_version,
        channel=event.channel,
        at=to_rfc3339(event.at),
    )


_ERRORS: dict[int | str, dict[str, object]] = {
    400: {"description": "`invalid_consent`: a scope that does not fit the purpose, or names nothing that exists"}
}


@router.get("", response_model=ConsentList)
def list_consents(request: Request, customer_id: CustomerId) -> ConsentList:
    """The customer's consents: the current word on each (purpose, scope) ever answered, and their history."""
    states, history = kleline_of(request).consents.overview(customer_id)
    return ConsentList(data=[consent_out(s) for s in states], history=[event_out(e) for e in history], has_more=False)


@router.post("", response_model=ConsentOut, responses=_ERRORS)
def grant_consent(body: ConsentIn, request: Request, customer_id: CustomerId) -> ConsentOut:
    """Grant a consent; it holds from now on."""
    state = kleline_of(request).consents.grant(
        customer_id, body.purpose, body.scope, channel="api", language=body.language
    )
    return consent_out(state)


@router.post("/withdraw", response_model=ConsentOut, responses=_ERRORS)
def withdraw_consent(body: ConsentIn, request: Request, customer_id: CustomerId) -> ConsentOut:
    """Withdraw a consent; it stops at once, everywhere (a merchant's next look no longer sees the email)."""
    state = kleline_of(request).consents.withdraw(
        customer_id, body.purpose, body.scope, channel="api", language=body.language
    )
    return consent_out(state)
