"""The staff audit trail, read-only: every act of Kleline's staff (console, ``op_`` key or command line), newest
first, for an operator whose role may read.

There is no route that writes, changes or deletes a record: records are written by the acts themselves, in their
transactions (``kleline.staff.audit``), and the database refuses any change to them. Filters combine (all must match);
the time window is ``created[gte]`` / ``created[lt]`` (instants, or days from their first instant), or ``from`` /
``to``, both included, where a day is the whole UTC day, as the payments' search reads them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from kleline.api.auth import ReadingOperator, kleline_of
from kleline.clock import instant_bound, to_rfc3339
from kleline.errors import NotFound, ValidationError
from kleline.staff.audit import AuditFilters, AuditRecord, find, search
from kleline.staff.roles import Role

__all__ = ["router"]

router = APIRouter(prefix="/v1/audit-events", tags=["audit"])

ActorKind = Literal["staff", "key", "cli"]
RoleName = Literal["admin", "compliance", "finance", "support"]
_MOMENT = "an RFC 3339 instant with its offset (`2026-01-15T09:30:00Z`) or a day (`2026-01-15`, UTC)"


class UnknownAuditEvent(NotFound):
    """No audit record has this id."""


class AuditEventOut(BaseModel):
    """One act of one operator: who (``actor_kind``: ``staff`` a console user, ``key`` an ``op_`` key, ``cli`` the
    command line; ``actor_id``; ``role``, null for an actor with every power), what (``action`` on ``subject_type``
    / ``subject_id``), the state ``before`` and ``after`` (small documents, never a secret, a full IBAN or a card
    number), when and from where (``address``). ``seq`` numbers the records without a gap."""

    id: str = Field(examples=["sae_2f1c..."])
    object: Literal["audit_event"] = "audit_event"
    seq: int
    created_at: str
    actor_kind: ActorKind
    actor_id: str = Field(examples=["12"])
    role: RoleName | None
    action: str = Field(examples=["merchant_approved"])
    subject_type: str = Field(examples=["merchant"])
    subject_id: str | None = Field(examples=["mer_4f1c..."])
    before: dict[str, Any] | None = Field(examples=[{"status": "pending", "status_reason": None}])
    after: dict[str, Any] | None = Field(examples=[{"status": "active", "status_reason": None}])
    address: str | None = Field(examples=["203.0.113.7"])


class AuditEventList(BaseModel):
    """A page of the audit trail, newest first."""

    data: list[AuditEventOut]
    has_more: bool


def event_out(record: AuditRecord) -> AuditEventOut:
    """The API view of an audit record."""
    return AuditEventOut(
        id=record.id,
        seq=record.seq,
        created_at=to_rfc3339(record.at),
        actor_kind=record.actor_kind,
        actor_id=record.actor_id,
        role=None if record.role is None else record.role.value,
        action=record.action,
        subject_type=record.subject_type,
        subject_id=record.subject_id,
        before=None if record.before is None else dict(record.before),
        after=None if record.after is None else dict(record.after),
        address=record.address,
    )


def _bound(pairs: list[tuple[str, str | None, bool]]) -> datetime | None:
    """The one bound of a window given by one of its spellings (``param``, ``text``, ``end``); two is an error."""
    given = [(param, text, end) for param, text, end in pairs if text is not None]
    if len(given) > 1:
        names = " and ".join(param for param, _, _ in given)
        raise ValidationError(f"{given[1][0]}: give {names} not together, they bound the same end", param=given[1][0])
    if not given:
        return None
    param, text, end = given[0]
    assert text is not None
    return instant_bound(text.strip(), param, end=end)


@router.get("", response_model=AuditEventList)
def list_audit_events(
    request: Request,
    _operator: ReadingOperator,
    actor_kind: Annotated[ActorKind | None, Query(description="staff, key or cli")] = None,
    actor_id: Annotated[
        str | None, Query(max_length=80, description="a staff user (`st_...`), a key's number, a system user")
    ] = None,
    role: Annotated[RoleName | None, Query(description="the role the actor acted in")] = None,
    action: Annotated[str | None, Query(max_length=80, examples=["merchant_approved"])] = None,
    subject_type: Annotated[str | None, Query(max_length=40, examples=["merchant"])] = None,
    subject_id: Annotated[str | None, Query(max_length=80, examples=["mer_4f1c..."])] = None,
    created_gte: Annotated[
        str | None, Query(alias="created[gte]", max_length=40, description=f"at or after: {_MOMENT}")
    ] = None,
    created_lt: Annotated[
        str | None, Query(alias="created[lt]", max_length=40, description=f"before: {_MOMENT}")
    ] = None,
    from_: Annotated[
        str | None, Query(alias="from", max_length=40, description=f"from (included): {_MOMENT}, the whole day")
    ] = None,
    to: Annotated[str | None, Query(max_length=40, description=f"to (included): {_MOMENT}, the whole day")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    starting_after: Annotated[
        str | None, Query(max_length=40, description="the id of the last record of the previous page")
    ] = None,
) -> AuditEventList:
    """The staff audit trail, newest first, narrowed by any of the filters (all must match)."""
    since = _bound([("created[gte]", created_gte, False), ("from", from_, False)])
    until = _bound([("created[lt]", created_lt, False), ("to", to, True)])
    if since is not None and until is not None and until <= since:
        raise ValidationError("the window ends before it begins", param="created[lt]" if created_lt else "to")
    db = kleline_of(request).db
    if starting_after is not None and find(db, starting_after) is None:
        raise UnknownAuditEvent(f"no audit event {starting_after}", param="starting_after")
    filters = AuditFilters(
        actor_kind=actor_kind,
        actor_id=actor_id,
        role=None if role is None else Role(role).value,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        at_from=since,
        at_to=until,
    )
    page = search(db, filters, limit=limit, starting_after=starting_after)
    return AuditEventList(data=[event_out(record) for record in page.records], has_more=page.has_more)


@router.get("/{event_id}", response_model=AuditEventOut)
def get_audit_event(event_id: str, request: Request, _operator: ReadingOperator) -> AuditEventOut:
    """One record of the staff audit trail."""
    record = find(kleline_of(request).db, event_id)
    if record is None:
        raise UnknownAuditEvent(f"no audit event {event_id}", param="id")
    return event_out(record)
