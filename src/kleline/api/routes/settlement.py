"""Settlement runs and payouts: operators run settlement and fetch its pain.001 file; merchants read their payouts.

Who may do what (API.md): an operator key starts runs, reads every run and file, and every payout (``?merchant_id=``
narrows the list); a merchant key reads its own payouts only, and another merchant's payout is answered ``404``,
exactly as one that does not exist. Runs are the operator's: a merchant sees its payouts, not the others' totals.
An operator key's role must grant ``run_money`` to start a run, ``export`` to fetch its file (the download is
recorded in the staff audit trail), ``read`` for the rest.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from kleline.api.auth import Exporter, MoneyRunner, OperatorOrMerchant, ReadingOperator, kleline_of
from kleline.settlement import UnknownPayout
from kleline.settlement.model import Payout, SettlementRun
from kleline.settlement.views import payout_json, run_json
from kleline.staff.audit import record_download

router = APIRouter(tags=["settlement"])


class RunIn(BaseModel):
    """Which period to settle: today (UTC) when absent; a past day only to read (or finish) the run started that
    day; never a future day."""

    period: dt.date | None = Field(default=None, examples=["2026-01-15"])


class PayoutOut(BaseModel):
    """A payout: a merchant's balance sent by SEPA credit transfer; ``paid`` once the bank statement shows it
    leaving, ``failed`` when the merchant's bank returned it (``failure_reason``: its ISO return code)."""

    id: str
    object: Literal["payout"]
    merchant_id: str
    settlement_run_id: str
    amount: int
    currency: str
    status: Literal["in_transit", "paid", "failed"]
    end_to_end_id: str
    created_at: str
    paid_at: str | None
    booked_on: str | None
    failed_at: str | None
    failure_reason: str | None


class PayoutList(BaseModel):
    """A page of payouts, newest first."""

    data: list[PayoutOut]
    has_more: bool


class RunOut(BaseModel):
    """A settlement run: its payouts (when one run is read) and where its pain.001 file is (``file_url``: null while
    the run is running, or when it paid nobody). ``failed``: the run stopped on a fault of Kleline's set-up, said in
    ``failure_reason``; settling the period again once it is fixed resumes it."""

    id: str
    object: Literal["settlement_run"]
    period: str
    currency: str
    status: Literal["running", "complete", "failed"]
    payout_count: int
    total: int
    execution_date: str
    file_url: str | None
    created_at: str
    completed_at: str | None
    failure_reason: str | None = None
    payouts: list[PayoutOut] | None = None


class RunList(BaseModel):
    """A page of settlement runs, newest first (without their payouts: read one run for those)."""

    data: list[RunOut]
    has_more: bool


def _file_url(run: SettlementRun) -> str | None:
    return f"/v1/settlement-runs/{run.id}/file" if run.has_file else None


def _run_out(request: Request, run: SettlementRun) -> dict[str, Any]:
    payouts = kleline_of(request).settlement.run_payouts(run.id)
    return run_json(run, payouts, _file_url(run))


@router.post(
    "/v1/settlement-runs",
    status_code=201,
    response_model=RunOut,
    responses={
        200: {"model": RunOut, "description": "the period was already settled: the same run (finished if it was not)"},
        409: {"description": "a past period nobody settled (`settlement_period_closed`): settle today's"},
        500: {
            "description": "the run stopped on a fault of Kleline's set-up (`configuration_error`, e.g. one of its "
            "own accounts missing): it is `failed` with the reason; settle again once it is fixed"
        },
    },
)
def create_run(request: Request, response: Response, operator: MoneyRunner, body: RunIn | None = None) -> Any:
    """Settle a period: pay every active or suspended merchant whose available balance reaches the minimum, in one
    pain.001 file. The same period again answers the same run (``200``), finishing it first if it was interrupted. A run
    pays the balances of the day it starts, so a past period that no run was started for is refused (``409``
    ``settlement_period_closed``) and nothing is written."""
    settlement = kleline_of(request).settlement
    period = None if body is None else body.period
    earlier = settlement.find_run(period or kleline_of(request).clock().date())
    run = settlement.run(period, actor=operator)
    if earlier is not None:
        response.status_code = 200
    return _run_out(request, run)


@router.get("/v1/settlement-runs", response_model=RunList)
def list_runs(
    request: Request,
    _operator: ReadingOperator,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    starting_after: Annotated[str | None, Query(max_length=40)] = None,
) -> dict[str, Any]:
    """Settlement runs, newest first."""
    runs, more = kleline_of(request).settlement.list_runs(limit=limit, after=starting_after)
    return {"data": [run_json(run, None, _file_url(run)) for run in runs], "has_more": more}


@router.get("/v1/settlement-runs/{run_id}", response_model=RunOut)
def get_run(run_id: str, request: Request, _operator: ReadingOperator) -> dict[str, Any]:
    """One settlement run with its payouts."""
    return _run_out(request, kleline_of(request).settlement.get_run(run_id))


@router.get(
    "/v1/settlement-runs/{run_id}/file",
    response_class=Response,
    responses={200: {"content": {"application/xml": {}}, "description": "the run's pain.001.001.03 file"}},
)
def get_run_file(run_id: str, request: Request, operator: Exporter) -> Response:
    """The run's SEPA credit transfer file (pain.001.001.03), exactly as built when the run completed; the download
    is recorded in the staff audit trail."""
    kleline = kleline_of(request)
    file = kleline.settlement.run_file(run_id)
    details = {"format": "pain.001", "bytes": len(file)}
    record_download(kleline.db, operator, "settlement_run", run_id, at=kleline.clock(), details=details)
    disposition = f'attachment; filename="{run_id}.xml"'
    return Response(file, media_type="application/xml", headers={"Content-Disposition": disposition})


@router.get("/v1/payouts", response_model=PayoutList)
def list_payouts(
    request: Request,
    caller: OperatorOrMerchant,
    merchant_id: Annotated[str | None, Query(max_length=40)] = None,
    settlement_run_id: Annotated[str | None, Query(max_length=40)] = None,
    status: Annotated[Literal["in_transit", "paid", "failed"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    starting_after: Annotated[str | None, Query(max_length=40)] = None,
) -> dict[str, Any]:
    """Payouts, newest first: all of them for an operator (``merchant_id`` narrows), a merchant's own for it."""
    settlement = kleline_of(request).settlement
    if caller.merchant_id is not None:
        if merchant_id is not None and merchant_id != caller.merchant_id:
            return {"data": [], "has_more": False}  # another merchant's payouts: nothing to see, nothing revealed
        merchant_id = caller.merchant_id
    if starting_after is not None:
        _visible(request, caller.merchant_id, starting_after, param="starting_after")
    found, more = settlement.list_payouts(
        merchant_id=merchant_id, run_id=settlement_run_id, status=status, limit=limit, after=starting_after
    )
    return {"data": [payout_json(p) for p in found], "has_more": more}


@router.get("/v1/payouts/{payout_id}", response_model=PayoutOut)
def get_payout(payout_id: str, request: Request, caller: OperatorOrMerchant) -> dict[str, Any]:
    """One payout, if it is the caller's."""
    return payout_json(_visible(request, caller.merchant_id, payout_id, param="id"))


def _visible(request: Request, merchant_id: str | None, payout_id: str, *, param: str) -> Payout:
    """The payout, if the caller may see it: an operator any, a merchant its own (another's is ``404``)."""
    try:
        payout = kleline_of(request).settlement.get_payout(payout_id)
    except UnknownPayout:
        payout = None
    if payout is None or (merchant_id is not None and payout.merchant_id != merchant_id):
        raise UnknownPayout(f"no payout {payout_id}", param=param)
    return payout
