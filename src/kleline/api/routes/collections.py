"""Direct debit collections from the operator's desk: collection runs and their pain.008 files, and the collections.
Every call here is an operator's (its role must grant ``run_money`` to start a run, ``export`` to fetch a file, the
download then recorded in the staff audit trail, and ``read`` for the rest); the debts returned collections leave are
``routes.receivables``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from kleline.api.auth import Exporter, MoneyRunner, ReadingOperator, kleline_of
from kleline.clock import to_rfc3339
from kleline.collections import Collection, CollectionRun
from kleline.staff.audit import record_download

__all__ = ["router"]

router = APIRouter(tags=["collections"])

PAIN_008 = "application/xml"


class CollectionOut(BaseModel):
    """One direct debit: ``pending`` until a run sends it, ``submitted`` in a run's file, then ``collected`` or
    ``returned`` (``return_reason``: the ISO code; ``shortfall``: what the purse could not give back)."""

    id: str
    object: Literal["collection"] = "collection"
    top_up_id: str
    customer_id: str
    bank_account_id: str
    amount: int
    currency: str
    status: str = Field(description="pending, submitted, collected or returned")
    collection_run_id: str | None
    sequence_type: str | None = Field(description="FRST (the mandate's first collection) or RCUR, once sent")
    end_to_end_id: str
    created_at: str
    submitted_at: str | None
    collected_at: str | None
    returned_at: str | None
    return_reason: str | None
    shortfall: int | None


class CollectionList(BaseModel):
    """A page of collections, newest first."""

    data: list[CollectionOut]
    has_more: bool


class RunOut(BaseModel):
    """A collection run: one pain.008 file (``file_url``; null when the run found nothing to collect, or while it
    is open: starting a run finishes it)."""

    id: str
    object: Literal["collection_run"] = "collection_run"
    status: str = Field(
        description="open (its file not yet written: a crash interrupted it; POST /v1/collection-runs finishes it) "
        "or complete"
    )
    collection_date: str
    collection_count: int
    total: int
    currency: str
    file_url: str | None
    created_at: str
    completed_at: str | None


class RunList(BaseModel):
    """A page of collection runs, newest first."""

    data: list[RunOut]
    has_more: bool


def _time(moment: datetime | None) -> str | None:
    return None if moment is None else to_rfc3339(moment)


def collection_out(collection: Collection) -> CollectionOut:
    """The API view of a collection."""
    return CollectionOut(
        id=collection.id,
        top_up_id=collection.top_up_id,
        customer_id=collection.customer_id,
        bank_account_id=collection.bank_account_id,
        amount=collection.amount.minor,
        currency=collection.amount.currency,
        status=collection.status.value,
        collection_run_id=collection.run_id,
        sequence_type=collection.sequence,
        end_to_end_id=collection.end_to_end_id,
        created_at=to_rfc3339(collection.created_at),
        submitted_at=_time(collection.submitted_at),
        collected_at=_time(collection.collected_at),
        returned_at=_time(collection.returned_at),
        return_reason=collection.return_reason,
        shortfall=None if collection.shortfall is None else collection.shortfall.minor,
    )


def run_out(run: CollectionRun) -> RunOut:
    """The API view of a collection run."""
    return RunOut(
        id=run.id,
        status=run.status.value,
        collection_date=run.collection_date.isoformat(),
        collection_count=run.collection_count,
        total=run.total.minor,
        currency=run.total.currency,
        file_url=f"/v1/collection-runs/{run.id}/file" if run.has_file else None,
        created_at=to_rfc3339(run.created_at),
        completed_at=_time(run.completed_at),
    )


@router.post("/v1/collection-runs", status_code=201, response_model=RunOut)
def create_run(request: Request, operator: MoneyRunner) -> RunOut:
    """Send every collection not yet sent, in one pain.008 file. If a crash interrupted the previous run, that run
    is finished and returned instead (its collections were already taken): fetch its file, then run again."""
    return run_out(kleline_of(request).collections.runs.run(actor=operator))


@router.get("/v1/collection-runs", response_model=RunList)
def list_runs(
    request: Request,
    _operator: ReadingOperator,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    starting_after: Annotated[str | None, Query(max_length=40)] = None,
) -> RunList:
    """Collection runs, newest first."""
    runs, more = kleline_of(request).collections.runs.list(limit=limit, after=starting_after)
    return RunList(data=[run_out(run) for run in runs], has_more=more)


@router.get("/v1/collection-runs/{run_id}", response_model=RunOut)
def get_run(run_id: str, request: Request, _operator: ReadingOperator) -> RunOut:
    """One collection run."""
    return run_out(kleline_of(request).collections.runs.get(run_id))


@router.get(
    "/v1/collection-runs/{run_id}/file",
    response_class=Response,
    responses={
        200: {"content": {PAIN_008: {}}, "description": "the pain.008.001.02 file, as stored"},
        409: {"description": "collection_run_open: a crash left the run open; POST /v1/collection-runs finishes it"},
    },
)
def get_run_file(run_id: str, request: Request, operator: Exporter) -> Response:
    """The run's pain.008 file, byte for byte as it was written (``404 no_file`` for a run that found nothing,
    ``409 collection_run_open`` for a run a crash left open: this read does not finish it, a new run does). The
    download is recorded in the staff audit trail."""
    kleline = kleline_of(request)
    file = kleline.collections.runs.file(run_id)
    details = {"format": "pain.008", "bytes": len(file)}
    record_download(kleline.db, operator, "collection_run", run_id, at=kleline.clock(), details=details)
    disposition = f'attachment; filename="{run_id}.xml"'
    return Response(file, media_type=PAIN_008, headers={"Content-Disposition": disposition})


@router.get("/v1/collections", response_model=CollectionList)
def list_collections(
    request: Request,
    _operator: ReadingOperator,
    status: Annotated[Literal["pending", "submitted", "collected", "returned"] | None, Query()] = None,
    customer_id: Annotated[str | None, Query(max_length=40)] = None,
    collection_run_id: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    starting_after: Annotated[str | None, Query(max_length=40)] = None,
) -> CollectionList:
    """Collections, newest first, narrowed by status, customer or run."""
    found, more = kleline_of(request).collections.list(
        status=status, customer_id=customer_id, run_id=collection_run_id, limit=limit, after=starting_after
    )
    return CollectionList(data=[collection_out(c) for c in found], has_more=more)


@router.get("/v1/collections/{collection_id}", response_model=CollectionOut)
def get_collection(collection_id: str, request: Request, _operator: ReadingOperator) -> CollectionOut:
    """One collection."""
    return collection_out(kleline_of(request).collections.get(collection_id))
