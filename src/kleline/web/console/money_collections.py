"""The console's collection runs (``/console/money/collection-runs``): SEPA direct debits, one pain.008 file a run.
The runs, a page at a time, the form that starts one (``RUN_MONEY``: it sends every collection not yet sent, or
finishes the run a crash left open), a run's collections, and its pain.008 file (``EXPORT``, the download recorded
in the staff audit trail as the API records it). The same services as ``/v1/collection-runs``."""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from kleline.collections import Collection, CollectionRun, UnknownCollectionRun
from kleline.errors import KlelineError
from kleline.staff.audit import record_download
from kleline.staff.roles import Power
from kleline.web.console.money_pages import (
    COLLECTION_RUNS,
    PER_PAGE,
    Reader,
    money_error,
    money_page,
    money_refusal,
    paged,
)
from kleline.web.console.visits import ConsoleVisit, console_form, console_page, refused
from kleline.web.console.wording import leave_note
from kleline.web.i18n import N_, Language, language_of
from kleline.web.refusals import PageError
from kleline.web.rendering import redirect
from kleline.web.security import when
from kleline.web.visits import Form, web_of

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

RunForm = Annotated[ConsoleVisit, Depends(console_form(Power.RUN_MONEY, back=COLLECTION_RUNS))]
Exporter = Annotated[ConsoleVisit, Depends(console_page(Power.EXPORT))]
_PAIN_008: Final = "application/xml"
_UNKNOWN: Final = N_("There is no such collection run: check the address, or open it from the list of runs")
_RUN_STATUS: Final = {
    "open": N_("interrupted: its file is not written yet"),
    "complete": N_("complete"),
}
_COLLECTION_STATUS: Final = {
    "pending": N_("waiting for a run"),
    "submitted": N_("sent to the bank"),
    "collected": N_("collected"),
    "returned": N_("returned unpaid"),
}


def _run_row(run: CollectionRun, language: Language) -> dict[str, object]:
    return {
        "run": run,
        "status": language.gettext(_RUN_STATUS.get(run.status.value, run.status.value)),
        "total": language.money(run.total),
        "created": when(run.created_at, language),
    }


def _runs_page(
    request: Request, visit: ConsoleVisit, *, errors: list[PageError] | None = None, status: int = 200
) -> Response:
    language = language_of(request)
    runs = web_of(request).kleline.collections.runs
    page = paged(request, COLLECTION_RUNS, lambda after: runs.list(limit=PER_PAGE, after=after), _run_id)
    return money_page(
        request,
        visit,
        "console/money_collection_runs.html",
        N_("Collection runs"),
        "collections",
        errors=errors,
        status=status,
        runs=[_run_row(run, language) for run in page.rows],
        pager=page,
        may_run=visit.may(Power.RUN_MONEY),
    )


def _run_id(run: CollectionRun) -> str:
    return run.id


def _collection_id(collection: Collection) -> str:
    return collection.id


@router.get(COLLECTION_RUNS)
def collection_runs_page(request: Request, visit: Reader) -> Response:
    """The collection runs, newest first, and (for a role that moves money) the form that starts one."""
    return _runs_page(request, visit)


@router.post(COLLECTION_RUNS)
def start_collection_run(request: Request, form: Form, visit: RunForm) -> Response:
    """Send every collection not yet sent in one pain.008 file (or finish the run a crash left open), and show it."""
    try:
        run = web_of(request).kleline.collections.runs.run(actor=visit.actor)
    except KlelineError as error:
        page = money_refusal(request, visit, error)
        if page is not None:
            raise page from None
        return _runs_page(request, visit, errors=[money_error(request, error)], status=409)
    return leave_note(request, redirect(f"{COLLECTION_RUNS}/{run.id}"), "console_collection_run_done")


def _run_page(
    request: Request, visit: ConsoleVisit, run_id: str, *, errors: list[PageError] | None = None, status: int = 200
) -> Response:
    collections = web_of(request).kleline.collections
    language = language_of(request)
    try:
        run = collections.runs.get(run_id)
    except UnknownCollectionRun:
        raise refused(request, visit, language.gettext(_UNKNOWN), status=404) from None
    path = f"{COLLECTION_RUNS}/{run.id}"
    page = paged(
        request, path, lambda after: collections.list(run_id=run.id, limit=PER_PAGE, after=after), _collection_id
    )
    rows = [
        {
            "collection": collection,
            "amount": language.money(collection.amount),
            "status": language.gettext(_COLLECTION_STATUS.get(collection.status.value, collection.status.value)),
            "shortfall": "" if collection.shortfall is None else language.money(collection.shortfall),
        }
        for collection in page.rows
    ]
    return money_page(
        request,
        visit,
        "console/money_collection_run.html",
        N_("Collection run"),
        "collections",
        errors=errors,
        status=status,
        run=run,
        run_status=language.gettext(_RUN_STATUS.get(run.status.value, run.status.value)),
        total=language.money(run.total),
        created=when(run.created_at, language),
        collections=rows,
        pager=page,
        may_export=visit.may(Power.EXPORT),
        may_run=visit.may(Power.RUN_MONEY),
    )


@router.get(COLLECTION_RUNS + "/{run_id}")
def collection_run_page(request: Request, run_id: str, visit: Reader) -> Response:
    """One collection run: its figures, its collections a page at a time, and its file for a role that may export
    it."""
    return _run_page(request, visit, run_id)


@router.get(COLLECTION_RUNS + "/{run_id}/file")
def collection_run_file(request: Request, run_id: str, visit: Exporter) -> Response:
    """The run's pain.008 file, byte for byte as stored; the download is recorded in the staff audit trail. A run a
    crash left open has no file yet: its page says so (409), and starting a run finishes it."""
    kleline = web_of(request).kleline
    try:
        file = kleline.collections.runs.file(run_id)
    except UnknownCollectionRun:
        raise refused(request, visit, language_of(request).gettext(_UNKNOWN), status=404) from None
    except KlelineError as error:
        page = money_refusal(request, visit, error)
        if page is not None:
            raise page from None
        return _run_page(request, visit, run_id, errors=[money_error(request, error)], status=error.status)
    details = {"format": "pain.008", "bytes": len(file)}
    record_download(kleline.db, visit.actor, "collection_run", run_id, at=kleline.clock(), details=details)
    disposition = f'attachment; filename="{run_id}.xml"'
    return Response(file, media_type=_PAIN_008, headers={"Content-Disposition": disposition})
