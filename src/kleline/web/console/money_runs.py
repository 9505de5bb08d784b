"""The console's settlement runs (``/console/money/settlement-runs``): the runs, a page at a time, the form that
starts today's (``RUN_MONEY``; one run a day: a second post, a double click, answers the same run), a run's payouts,
and its pain.001 file (``EXPORT``, the download recorded in the staff audit trail as the API records it)."""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from kleline.errors import KlelineError
from kleline.money import Money
from kleline.staff.audit import record_download
from kleline.staff.roles import Power
from kleline.web.console.money_pages import (
    MONEY,
    PER_PAGE,
    RUNS,
    Reader,
    money_error,
    money_page,
    money_refusal,
    paged,
    status_of,
)
from kleline.web.console.visits import ConsoleVisit, console_form, console_page
from kleline.web.console.wording import leave_note
from kleline.web.i18n import N_, language_of
from kleline.web.refusals import PageError
from kleline.web.rendering import redirect
from kleline.web.security import when
from kleline.web.visits import Form, web_of

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

RunForm = Annotated[ConsoleVisit, Depends(console_form(Power.RUN_MONEY, back=RUNS))]
Exporter = Annotated[ConsoleVisit, Depends(console_page(Power.EXPORT))]
_PAIN_001: Final = "application/xml"


def _runs_page(request: Request, visit: ConsoleVisit, *, errors: list[PageError] | None = None) -> Response:
    language = language_of(request)
    settlement = web_of(request).kleline.settlement
    page = paged(request, RUNS, lambda after: settlement.list_runs(limit=PER_PAGE, after=after), lambda run: run.id)
    rows = [
        {
            "run": run,
            "status": status_of(language, run.status),
            "total": language.money(Money(run.total, run.currency)),
            "created": when(run.created_at, language),
        }
        for run in page.rows
    ]
    return money_page(
        request,
        visit,
        "console/money_runs.html",
        N_("Settlement runs"),
        "runs",
        errors=errors,
        status=409 if errors else 200,
        runs=rows,
        pager=page,
        may_run=visit.may(Power.RUN_MONEY),
    )


@router.get(MONEY)
def money_home(visit: Reader) -> Response:
    """The money section opens on its settlement runs (its navigation names the other pages)."""
    return redirect(RUNS)


@router.get(RUNS)
def runs_page(request: Request, visit: Reader) -> Response:
    """The settlement runs, newest first, and (for a role that moves money) the form that starts today's."""
    return _runs_page(request, visit)


@router.post(RUNS)
def start_run(request: Request, form: Form, visit: RunForm) -> Response:
    """Start today's settlement run: a second post for the same day answers the same run (nothing more is paid)."""
    try:
        run = web_of(request).kleline.settlement.run(None, actor=visit.actor)
    except KlelineError as error:
        page = money_refusal(request, visit, error)
        if page is not None:
            raise page from None
        return _runs_page(request, visit, errors=[money_error(request, error)])
    return leave_note(request, redirect(f"{RUNS}/{run.id}"), "console_run_started")


@router.get(RUNS + "/{run_id}")
def run_page(request: Request, run_id: str, visit: Reader) -> Response:
    """One settlement run: its figures, its payouts, and its file for a role that may export it."""
    settlement = web_of(request).kleline.settlement
    language = language_of(request)
    try:
        run = settlement.get_run(run_id)
    except KlelineError as error:
        page = money_refusal(request, visit, error)
        if page is not None:
            raise page from None
        raise
    merchants = web_of(request).kleline.merchants
    names: dict[str, str] = {}  # a run pays each merchant once: one lookup per merchant

    def name_of(merchant_id: str) -> str:
        if merchant_id not in names:
            names[merchant_id] = merchants.get(merchant_id).name
        return names[merchant_id]

    payouts = [
        {
            "payout": payout,
            "merchant": name_of(payout.merchant_id),
            "amount": language.money(payout.amount),
            "status": status_of(language, payout.status),
        }
        for payout in settlement.run_payouts(run.id)
    ]
    return money_page(
        request,
        visit,
        "console/money_run.html",
        N_("Settlement run"),
        "runs",
        run=run,
        run_status=status_of(language, run.status),
        total=language.money(Money(run.total, run.currency)),
        created=when(run.created_at, language),
        payouts=payouts,
        may_export=visit.may(Power.EXPORT),
    )


@router.get(RUNS + "/{run_id}/file")
def run_file(request: Request, run_id: str, visit: Exporter) -> Response:
    """The run's pain.001 file, as built when it completed; the download is recorded in the staff audit trail."""
    kleline = web_of(request).kleline
    try:
        file = kleline.settlement.run_file(run_id)
    except KlelineError as error:
        page = money_refusal(request, visit, error)
        if page is not None:
            raise page from None
        raise
    details = {"format": "pain.001", "bytes": len(file)}
    record_download(kleline.db, visit.actor, "settlement_run", run_id, at=kleline.clock(), details=details)
    disposition = f'attachment; filename="{run_id}.xml"'
    return Response(file, media_type=_PAIN_001, headers={"Content-Disposition": disposition})
