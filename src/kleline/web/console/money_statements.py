"""The console's bank statements (``/console/money/statements``): the imports, a page at a time, the form that
imports a camt.053 document (``RUN_MONEY``; the same statement again changes nothing), and each import's lines,
matched or held in suspense."""

from __future__ import annotations

from typing import Any, Final

from babel.units import format_unit
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from starlette.responses import Response

from kleline.errors import KlelineError
from kleline.staff.roles import Power
from kleline.web.console.money_pages import (
    PER_PAGE,
    STATEMENTS,
    Reader,
    money_error,
    money_page,
    money_refusal,
    paged,
    reason_of,
    status_of,
)
from kleline.web.console.visits import ConsoleVisit, require, signed_in_staff, signed_in_staff_post
from kleline.web.console.wording import leave_note
from kleline.web.i18n import N_, Language, language_of
from kleline.web.refusals import PageError
from kleline.web.rendering import redirect
from kleline.web.security import when
from kleline.web.uploads import TooLarge, read_upload
from kleline.web.visits import web_of

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

_UPLOAD_OVERHEAD: Final = 16 * 1024
"""What a multipart body adds to the document (the boundaries, the headers, the form's token)."""


def _statements_page(
    request: Request, visit: ConsoleVisit, *, errors: list[PageError] | None = None, status: int = 200
) -> Response:
    language = language_of(request)
    reconciliation = web_of(request).kleline.reconciliation
    page = paged(
        request, STATEMENTS, lambda after: reconciliation.statements(limit=PER_PAGE, after=after), lambda s: s.id
    )
    rows = [
        {
            "statement": statement,
            "imported": when(statement.imported_at, language),
            "status": status_of(language, "complete" if statement.completed_at is not None else "importing"),
        }
        for statement in page.rows
    ]
    return money_page(
        request,
        visit,
        "console/money_statements.html",
        N_("Bank statements"),
        "statements",
        errors=errors,
        status=status,
        statements=rows,
        pager=page,
        may_import=visit.may(Power.RUN_MONEY),
        limit=_size(reconciliation.max_bytes, language_of(request)),
    )


def _size(size: int, language: Language) -> str:
    """A size as people read it (``16 MB``, ``16 Mo``; ``512 kB`` below a megabyte), never more than ``size``."""
    if size >= 1024 * 1024:
        return str(format_unit(size // (1024 * 1024), "digital-megabyte", length="short", locale=language.locale))
    return str(format_unit(size // 1024, "digital-kilobyte", length="short", locale=language.locale))


@router.get(STATEMENTS)
def statements_page(request: Request, visit: Reader) -> Response:
    """The imported statements, newest first, and (for a role that moves money) the form that imports one."""
    return _statements_page(request, visit)


@router.post(STATEMENTS)
async def import_statement(request: Request) -> Response:
    """Import a camt.053 document sent with the form: its lines are matched or held in suspense; the same statement
    again changes nothing. The role is checked before the body is read, the form's token once it is."""
    visit = signed_in_staff(request)
    require(request, visit, Power.RUN_MONEY)
    reconciliation = web_of(request).kleline.reconciliation
    _ = language_of(request).gettext
    try:
        upload = await read_upload(request, reconciliation.max_bytes + _UPLOAD_OVERHEAD)
    except TooLarge:
        message = _("The file is too large: a statement import takes at most %(size)s.") % {
            "size": _size(reconciliation.max_bytes, language_of(request))
        }
        error = PageError(message, "statement_too_large", "statement-file")
        return await run_in_threadpool(_statements_page, request, visit, errors=[error], status=413)
    visit = signed_in_staff_post(request, upload.fields, back=STATEMENTS)
    require(request, visit, Power.RUN_MONEY)
    _name, document = upload.files.get("statement", ("", b""))
    if not document:
        error = PageError(_("Choose the camt.053 file of the statement to import"), "required", "statement-file")
        return await run_in_threadpool(_statements_page, request, visit, errors=[error], status=400)
    try:
        result = await run_in_threadpool(reconciliation.import_document, document, actor=visit.actor)
    except KlelineError as error:
        page = money_refusal(request, visit, error)
        if page is not None:
            raise page from None
        problem = money_error(request, error)
        problem = PageError(problem.message, problem.code, "statement-file")
        return await run_in_threadpool(_statements_page, request, visit, errors=[problem], status=400)
    first = result.statements[0]
    note = "console_statement_again" if result.replayed else "console_statement_imported"
    return leave_note(request, redirect(f"{STATEMENTS}/{first.id}"), note)


@router.get(STATEMENTS + "/{statement_id}")
def statement_page(request: Request, statement_id: str, visit: Reader) -> Response:
    """One imported statement: each line, and what it matched or why it is held in suspense."""
    language = language_of(request)
    try:
        found = web_of(request).kleline.reconciliation.statement(statement_id)
    except KlelineError as error:
        page = money_refusal(request, visit, error)
        if page is not None:
            raise page from None
        raise
    lines: list[dict[str, Any]] = [
        {
            "outcome": outcome,
            "amount": language.money(outcome.line.amount),
            "status": status_of(language, outcome.status.value),
            "reason": reason_of(language, None if outcome.reason is None else outcome.reason.value),
        }
        for outcome in found.lines or ()
    ]
    matched = [line for line in lines if line["outcome"].status.value == "matched"]
    held = [line for line in lines if line["outcome"].status.value != "matched"]
    return money_page(
        request,
        visit,
        "console/money_statement.html",
        N_("Bank statement"),
        "statements",
        statement=found,
        imported=when(found.imported_at, language),
        opening="" if found.opening_balance is None else language.money(found.opening_balance),
        closing="" if found.closing_balance is None else language.money(found.closing_balance),
        matched=matched,
        held=held,
    )
