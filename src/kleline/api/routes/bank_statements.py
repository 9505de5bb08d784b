"""Bank statements and the suspense queue: operators import camt.053 statements and resolve what did not match.

Every call here is an operator's (API.md): a merchant key or a customer token is answered 403, and so is an operator key
whose role lacks the power (``run_money`` to import, ``resolve_suspense`` to resolve, ``read`` to read). A manual
resolution of a suspense item takes two operators (``kleline.api.routes.proposals``): the first proposes it, a second
approves. An import is a raw XML body (``application/xml``), at most ``Reconciliation.max_bytes`` long; it answers
``201`` with what it did, or ``200`` with the first result when the same statement was imported before (nothing
changes)."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, model_validator

from kleline.api.auth import MoneyRunner, ReadingOperator, SuspenseResolver, kleline_of
from kleline.api.routes.proposals import PROPOSED, ProposalOut, proposal_out
from kleline.errors import KlelineError
from kleline.reconciliation import ResolutionRequest, StatementTooLarge, Target
from kleline.reconciliation.suspense import ACCOUNT, DISMISSED
from kleline.reconciliation.views import import_json, statement_json, suspense_item_json

router = APIRouter(prefix="/v1", tags=["reconciliation"])


_XML_TYPES = ("application/xml", "text/xml")


class UnsupportedMediaType(KlelineError):
    """A statement import whose body is not declared as XML."""

    code = "unsupported_media_type"
    status = 415


class MatchedOut(BaseModel):
    """What a line matched: the object, and whether the line confirmed or returned it."""

    type: Literal["payout", "collection", "card_payment", "card_top_up", "card_refund"]
    id: str
    action: Literal["confirm", "return"]


class LineOut(BaseModel):
    """One booked statement line (amount positive, ``direction`` says which way) and what became of it."""

    id: str
    position: int
    entry_ref: str
    amount: int
    currency: str
    direction: Literal["credit", "debit"]
    booking_date: str
    end_to_end_id: str | None
    return_reason: str | None
    counterparty_name: str | None
    counterparty_iban: str | None
    remittance: str | None
    status: Literal["matched", "suspense", "duplicate"]
    matched: MatchedOut | None
    entry_id: str | None
    suspense_item_id: str | None
    reason: str | None
    duplicate_of: str | None


class StatementOut(BaseModel):
    """An imported statement: the bank's ids and balances, how its lines ended, and the lines (one statement)."""

    id: str
    object: Literal["bank_statement"]
    account_iban: str
    statement_id: str
    message_id: str
    currency: str
    created_at: str
    opening_balance: int | None
    closing_balance: int | None
    imported_at: str
    status: Literal["complete", "importing"]
    line_count: int
    matched: int
    unmatched: int
    duplicates: int
    lines: list[LineOut] | None


class ImportOut(BaseModel):
    """What an import did: the document's statements (usually one) and the totals across them; ``replayed`` when
    every statement had been imported before."""

    object: Literal["bank_statement_import"]
    replayed: bool
    matched: int
    unmatched: int
    duplicates: int
    statements: list[StatementOut]


class StatementList(BaseModel):
    """A page of imported statements, newest first, without their lines."""

    data: list[StatementOut]
    has_more: bool


class ResolutionOut(BaseModel):
    """How an operator resolved a suspense item."""

    type: str
    target: str | None
    entry_id: str | None
    note: str | None
    resolved_at: str
    resolved_by: str | None


class BankLineOut(BaseModel):
    """The statement line a suspense item holds."""

    entry_ref: str
    amount: int
    currency: str
    direction: Literal["credit", "debit"]
    booking_date: str
    end_to_end_id: str | None
    return_reason: str | None
    counterparty_name: str | None
    counterparty_iban: str | None
    remittance: str | None


class SuspenseItemOut(BaseModel):
    """A statement line the books could not explain: why (``reason``, ``detail``), and how it was resolved."""

    id: str
    object: Literal["suspense_item"]
    status: Literal["open", "resolved"]
    reason: str
    detail: str
    bank_statement_id: str
    line_id: str
    line: BankLineOut
    entry_id: str | None
    created_at: str
    resolution: ResolutionOut | None


class SuspenseItemList(BaseModel):
    """A page of suspense items, oldest first."""

    data: list[SuspenseItemOut]
    has_more: bool


_TARGET_FIELDS = {
    "payout_id": Target.PAYOUT.value,
    "collection_id": Target.COLLECTION.value,
    "payment_id": Target.CARD_PAYMENT.value,
    "top_up_id": Target.CARD_TOP_UP.value,
    "refund_id": Target.CARD_REFUND.value,
    "account_code": ACCOUNT,
}


class ResolveIn(BaseModel):
    """Where the held line belongs: exactly one object or account, or ``dismiss`` for a line that posted nothing
    (another currency, no money), with a ``note`` saying why."""

    payout_id: str | None = Field(default=None, max_length=40)
    collection_id: str | None = Field(default=None, max_length=40)
    payment_id: str | None = Field(default=None, max_length=40, description="a card payment the network settled")
    top_up_id: str | None = Field(default=None, max_length=40, description="a card top-up the network settled")
    refund_id: str | None = Field(default=None, max_length=40, description="a card refund the network charged")
    account_code: str | None = Field(default=None, max_length=120, examples=["kleline:bank-charges"])
    dismiss: bool = False
    note: str | None = Field(default=None, max_length=500)

    @model_validator(mode="after")
    def _one_target(self) -> ResolveIn:
        named = [name for name in _TARGET_FIELDS if getattr(self, name) is not None]
        if len(named) + int(self.dismiss) != 1:
            raise ValueError(f"name exactly one of {', '.join(_TARGET_FIELDS)}, or dismiss")
        return self

    def request(self) -> ResolutionRequest:
        """The resolution this body asks for."""
        for name, kind in _TARGET_FIELDS.items():
            value = getattr(self, name)
            if value is not None:
                return ResolutionRequest(kind, value, self.note)
        return ResolutionRequest(DISMISSED, None, self.note)


async def _xml_body(request: Request, limit: int) -> bytes:
    """The request's XML body, refused (413) beyond ``limit`` bytes without reading all of it."""
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type not in _XML_TYPES and not media_type.endswith("+xml"):
        raise UnsupportedMediaType(f"send the camt.053 document as application/xml, not {media_type or 'nothing'}")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise StatementTooLarge(f"the document is {declared} bytes; an import takes at most {limit}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise StatementTooLarge(f"the document is more than {limit} bytes; an import takes at most {limit}")
        chunks.append(chunk)
    return b"".join(chunks)


@router.post(
    "/bank-statements",
    status_code=201,
    response_model=ImportOut,
    responses={200: {"model": ImportOut, "description": "imported before: the first result, nothing changed"}},
    openapi_extra={"requestBody": {"required": True, "content": {"application/xml": {"schema": {"type": "string"}}}}},
)
async def import_statement(request: Request, operator: MoneyRunner) -> JSONResponse:
    """Import a camt.053 document of Kleline's safeguarding account (any version 001.02 to 001.14): each booked
    line is matched to the payout, collection, card settlement or card refund it names, or held in suspense."""
    reconciliation = kleline_of(request).reconciliation
    xml = await _xml_body(request, reconciliation.max_bytes)
    result = await run_in_threadpool(partial(reconciliation.import_document, xml, actor=operator))
    return JSONResponse(import_json(result), status_code=200 if result.replayed else 201)


@router.get("/bank-statements", response_model=StatementList)
def list_statements(
    request: Request,
    _operator: ReadingOperator,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    starting_after: Annotated[str | None, Query(max_length=40)] = None,
) -> dict[str, Any]:
    """Imported statements, newest import first, with their counts (read one for its lines)."""
    found, more = kleline_of(request).reconciliation.statements(limit=limit, after=starting_after)
    return {"data": [statement_json(statement) for statement in found], "has_more": more}


@router.get("/bank-statements/{statement_id}", response_model=StatementOut)
def get_statement(statement_id: str, request: Request, _operator: ReadingOperator) -> dict[str, Any]:
    """One imported statement with each line's outcome."""
    return statement_json(kleline_of(request).reconciliation.statement(statement_id))


@router.get("/suspense-items", response_model=SuspenseItemList)
def list_suspense_items(
    request: Request,
    _operator: ReadingOperator,
    status: Annotated[Literal["open", "resolved", "all"], Query()] = "open",
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    starting_after: Annotated[str | None, Query(max_length=40)] = None,
) -> dict[str, Any]:
    """The operator's queue: suspense items oldest first, open ones by default."""
    found, more = kleline_of(request).suspense.items(
        status=None if status == "all" else status, limit=limit, after=starting_after
    )
    return {"data": [suspense_item_json(item) for item in found], "has_more": more}


@router.get("/suspense-items/{item_id}", response_model=SuspenseItemOut)
def get_suspense_item(item_id: str, request: Request, _operator: ReadingOperator) -> dict[str, Any]:
    """One suspense item."""
    return suspense_item_json(kleline_of(request).suspense.get(item_id))


@router.post("/suspense-items/{item_id}/resolve", status_code=202, response_model=ProposalOut, responses=PROPOSED)
def resolve_suspense_item(item_id: str, body: ResolveIn, request: Request, operator: SuspenseResolver) -> ProposalOut:
    """Propose where a held line belongs (four eyes): nothing moves until a second operator approves the proposal
    (``POST /v1/proposals/{id}/approve``); its money then leaves suspense for that object or account, and the item's
    ``resolved_by`` is the proposal. A resolution that could not apply now (the item resolved already, an object
    that does not fit the line, an unknown account) is refused at once, as the approval would refuse it."""
    return proposal_out(kleline_of(request).proposals.propose_suspense_resolution(operator, item_id, body.request()))
