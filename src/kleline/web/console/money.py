"""The console's money pages (``/console/money``): settlement runs (start today's, see a run's payouts, download its
pain.001 file), bank statement imports (upload a camt.053 document, see each line matched or held in suspense), the
suspense queue (propose where a held line belongs), the proposals waiting for a second person, and the safeguarding
report.

Every page takes ``Power.READ``, so support reads them; each form is shown only to a role whose powers include its
act, and its post checks that power again (a support user's post is the 403 page, nothing written): starting a run
and importing a statement take ``RUN_MONEY``, the file's download ``EXPORT`` (recorded in the staff audit trail as
the API records it), proposing or deciding a suspense resolution ``RESOLVE_SUSPENSE`` (the service checks it too, and
refuses a proposer's own approval). A run is per day: a second post (a double click) answers the same run.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from starlette.responses import Response

from kleline.errors import KlelineError, NotFound
from kleline.money import Money
from kleline.reconciliation import ResolutionRequest, Target
from kleline.reconciliation.suspense import ACCOUNT, DISMISSED
from kleline.staff.actor import RoleForbids
from kleline.staff.audit import record_download
from kleline.staff.roles import Power
from kleline.web.console.visits import (
    ConsoleVisit,
    console_context,
    console_form,
    console_page,
    refused,
    require,
    respond,
    signed_in_staff,
    signed_in_staff_post,
)
from kleline.web.console.wording import console_error, leave_note, note_of
from kleline.web.i18n import N_, Language, language_of
from kleline.web.refusals import PageError
from kleline.web.rendering import redirect, render
from kleline.web.security import when
from kleline.web.uploads import TooLarge, read_upload
from kleline.web.visits import Answered, Form, web_of

__all__ = ["MONEY", "router"]

router = APIRouter(include_in_schema=False)

MONEY: Final = "/console/money"
RUNS: Final = f"{MONEY}/settlement-runs"
STATEMENTS: Final = f"{MONEY}/statements"
SUSPENSE: Final = f"{MONEY}/suspense"
PROPOSALS: Final = f"{MONEY}/proposals"
SAFEGUARDING: Final = f"{MONEY}/safeguarding"
_UPLOAD_OVERHEAD: Final = 16 * 1024
"""What a multipart body adds to the document (the boundaries, the headers, the form's token)."""

Reader = Annotated[ConsoleVisit, Depends(console_page(Power.READ))]
RunForm = Annotated[ConsoleVisit, Depends(console_form(Power.RUN_MONEY, back=RUNS))]
ResolveForm = Annotated[ConsoleVisit, Depends(console_form(Power.RESOLVE_SUSPENSE, back=SUSPENSE))]

_PAGES: Final = (
    ("runs", RUNS, N_("Settlement runs")),
    ("statements", STATEMENTS, N_("Bank statements")),
    ("suspense", SUSPENSE, N_("Suspense queue")),
    ("proposals", PROPOSALS, N_("Proposals")),
    ("safeguarding", SAFEGUARDING, N_("Safeguarding")),
)
_STATUS: Final = {
    "running": N_("running"),
    "complete": N_("complete"),
    "failed": N_("failed"),
    "in_transit": N_("in transit"),
    "paid": N_("paid"),
    "matched": N_("matched"),
    "suspense": N_("in suspense"),
    "duplicate": N_("duplicate"),
    "open": N_("open"),
    "resolved": N_("resolved"),
    "importing": N_("importing"),
    "pending": N_("waiting for a second person"),
    "approved": N_("approved"),
    "rejected": N_("rejected"),
    "withdrawn": N_("withdrawn"),
}
_REASONS: Final = {
    "unknown_reference": N_("its reference names nothing in the books"),
    "amount_mismatch": N_("the amount differs from what it names"),
    "direction_mismatch": N_("the money moved the other way from what it names"),
    "already_matched": N_("what it names was already matched by another line"),
    "unexpected_return": N_("a return of something that cannot be returned"),
    "other_currency": N_("another currency than the books': nothing was posted"),
    "reference_reused": N_("the bank's reference was seen before with other content"),
    "refused": N_("what it names could not be confirmed in its present state"),
    "zero_amount": N_("it moves no money: nothing was posted"),
}
_KINDS: Final = {
    Target.PAYOUT.value: N_("a payout (its id)"),
    Target.COLLECTION.value: N_("a direct debit collection (its id)"),
    Target.CARD_PAYMENT.value: N_("a card payment the network settled (its id)"),
    Target.CARD_TOP_UP.value: N_("a card top-up the network settled (its id)"),
    Target.CARD_REFUND.value: N_("a card refund the network charged (its id)"),
    ACCOUNT: N_("an account of the books (its code, such as kleline:bank-charges)"),
    DISMISSED: N_("nothing: dismiss the line, which posted no money"),
}
_SAFEGUARDING_KINDS: Final = {
    "safeguarding": N_("Safeguarding account"),
    "purses": N_("Customers' purses"),
    "merchant_balances": N_("Merchants' balances"),
    "commission": N_("Kleline's commission"),
    "suspense": N_("Suspense"),
    "in_transit": N_("Payouts in transit"),
    "card_receivables": N_("Card receivables"),
    "customer_receivables": N_("Customers' receivables"),
    "bad_debt": N_("Bad debt"),
    "other": N_("Other accounts"),
}


def _status(language: Language, status: str) -> str:
    return language.gettext(_STATUS.get(status, status))


def _reason(language: Language, reason: str | None) -> str:
    return "" if reason is None else language.gettext(_REASONS.get(reason, reason))


def _page(
    request: Request,
    visit: ConsoleVisit,
    template: str,
    title: str,
    current: str,
    *,
    errors: list[PageError] | None = None,
    status: int = 200,
    **context: Any,
) -> Response:
    language = language_of(request)
    _ = language.gettext
    base = console_context(
        visit,
        _(title),
        section="money",
        errors=errors or [],
        flash=note_of(request, signed_in=True) if status == 200 else None,
        money_pages=[(key, path, _(name)) for key, path, name in _PAGES],
        money_current=current,
        **context,
    )
    return respond(request, visit, render(request, template, base, status=status))


def _refusal(request: Request, visit: ConsoleVisit, error: KlelineError) -> Answered | None:
    """A refusal that is a page of its own: not allowed (403), or unknown (404)."""
    language = language_of(request)
    if isinstance(error, RoleForbids):
        return refused(request, visit, console_error(error, language=language).message)
    if isinstance(error, NotFound) or error.status == 404:
        return refused(request, visit, console_error(error, language=language).message, status=404)
    return None


def _error(request: Request, error: KlelineError, fields: dict[str, str] | None = None) -> PageError:
    return console_error(error, fields, language_of(request))


@router.get(MONEY)
def money_home(visit: Reader) -> Response:
    """The money section opens on its settlement runs."""
    return redirect(RUNS)


# Settlement runs


def _runs_page(request: Request, visit: ConsoleVisit, *, errors: list[PageError] | None = None) -> Response:
    language = language_of(request)
    runs, more = web_of(request).kleline.settlement.list_runs(limit=50)
    rows = [
        {
            "run": run,
            "status": _status(language, run.status),
            "total": language.money(Money(run.total, run.currency)),
            "created": when(run.created_at, language),
        }
        for run in runs
    ]
    return _page(
        request,
        visit,
        "console/money_runs.html",
        N_("Settlement runs"),
        "runs",
        errors=errors,
        status=409 if errors else 200,
        runs=rows,
        more=more,
        may_run=visit.may(Power.RUN_MONEY),
    )


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
        page = _refusal(request, visit, error)
        if page is not None:
            raise page from None
        return _runs_page(request, visit, errors=[_error(request, error)])
    return leave_note(request, redirect(f"{RUNS}/{run.id}"), "console_run_started")


@router.get(RUNS + "/{run_id}")
def run_page(request: Request, run_id: str, visit: Reader) -> Response:
    """One settlement run: its figures, its payouts, and its file for a role that may export it."""
    settlement = web_of(request).kleline.settlement
    language = language_of(request)
    try:
        run = settlement.get_run(run_id)
    except KlelineError as error:
        page = _refusal(request, visit, error)
        if page is not None:
            raise page from None
        raise
    payouts = [
        {"payout": payout, "amount": language.money(payout.amount), "status": _status(language, payout.status)}
        for payout in settlement.run_payouts(run.id)
    ]
    return _page(
        request,
        visit,
        "console/money_run.html",
        N_("Settlement run"),
        "runs",
        run=run,
        run_status=_status(language, run.status),
        total=language.money(Money(run.total, run.currency)),
        created=when(run.created_at, language),
        payouts=payouts,
        may_export=visit.may(Power.EXPORT),
    )


@router.get(RUNS + "/{run_id}/file")
def run_file(
    request: Request, run_id: str, visit: Annotated[ConsoleVisit, Depends(console_page(Power.EXPORT))]
) -> Response:
    """The run's pain.001 file, as built when it completed; the download is recorded in the staff audit trail."""
    kleline = web_of(request).kleline
    try:
        file = kleline.settlement.run_file(run_id)
    except KlelineError as error:
        page = _refusal(request, visit, error)
        if page is not None:
            raise page from None
        raise
    details = {"format": "pain.001", "bytes": len(file)}
    record_download(kleline.db, visit.actor, "settlement_run", run_id, at=kleline.clock(), details=details)
    disposition = f'attachment; filename="{run_id}.xml"'
    return Response(file, media_type="application/xml", headers={"Content-Disposition": disposition})


# Bank statements


def _statements_page(
    request: Request, visit: ConsoleVisit, *, errors: list[PageError] | None = None, status: int = 200
) -> Response:
    language = language_of(request)
    found, more = web_of(request).kleline.reconciliation.statements(limit=50)
    rows = [
        {
            "statement": statement,
            "imported": when(statement.imported_at, language),
            "status": _status(language, "complete" if statement.completed_at is not None else "importing"),
        }
        for statement in found
    ]
    return _page(
        request,
        visit,
        "console/money_statements.html",
        N_("Bank statements"),
        "statements",
        errors=errors,
        status=status,
        statements=rows,
        more=more,
        may_import=visit.may(Power.RUN_MONEY),
        limit_kb=web_of(request).kleline.reconciliation.max_bytes // 1024,
    )


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
        message = _("The file is too large: a statement import takes at most %(size)s kB.") % {
            "size": reconciliation.max_bytes // 1024
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
        page = _refusal(request, visit, error)
        if page is not None:
            raise page from None
        problem = _error(request, error)
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
        page = _refusal(request, visit, error)
        if page is not None:
            raise page from None
        raise
    lines: list[dict[str, Any]] = [
        {
            "outcome": outcome,
            "amount": language.money(outcome.line.amount),
            "status": _status(language, outcome.status.value),
            "reason": _reason(language, None if outcome.reason is None else outcome.reason.value),
        }
        for outcome in found.lines or ()
    ]
    matched = [line for line in lines if line["outcome"].status.value == "matched"]
    held = [line for line in lines if line["outcome"].status.value != "matched"]
    return _page(
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


# The suspense queue and its proposals

_RESOLUTION_FIELDS: Final = ("kind", "target", "note")
_DECISIONS: Final = {
    "same_approver": N_(
        "You proposed this resolution: a second person must approve or reject it. You may withdraw it instead."
    ),
    "not_proposer": N_("Only whoever proposed this resolution may withdraw it: approve or reject it instead."),
    "proposal_pending": N_(
        "A resolution of this line already waits for a second person: see the proposals, or withdraw yours first."
    ),
    "proposal_decided": N_("This proposal was decided already: it no longer waits for anyone."),
}


def _decision_error(request: Request, error: KlelineError, fields: dict[str, str] | None = None) -> PageError:
    wording = _DECISIONS.get(error.code)
    if wording is not None:
        return PageError(language_of(request).gettext(wording), error.code, None)
    return _error(request, error, fields)


def _suspense_page(
    request: Request,
    visit: ConsoleVisit,
    *,
    errors: list[PageError] | None = None,
    typed: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    kleline = web_of(request).kleline
    language = language_of(request)
    items, more = kleline.suspense.items(status="open", limit=100)
    pending = {p.subject_id: p for p in kleline.proposals.list(status="pending", kind="suspense_resolution", limit=101)}
    rows = [
        {
            "item": item,
            "amount": language.money(item.line.amount),
            "reason": _reason(language, item.reason.value),
            "created": when(item.created_at, language),
            "proposal": pending.get(item.id),
        }
        for item in items
    ]
    return _page(
        request,
        visit,
        "console/money_suspense.html",
        N_("Suspense queue"),
        "suspense",
        errors=errors,
        status=status,
        items=rows,
        more=more,
        may_resolve=visit.may(Power.RESOLVE_SUSPENSE),
        kinds=[(kind, language.gettext(label)) for kind, label in _KINDS.items()],
        typed=typed or {"item": "", "kind": "", "target": "", "note": ""},
    )


@router.get(SUSPENSE)
def suspense_page(request: Request, visit: Reader) -> Response:
    """The open suspense items, oldest first, each with the form that proposes where it belongs."""
    return _suspense_page(request, visit)


def _resolution_problems(request: Request, item_id: str, kind: str, target: str, note: str) -> list[PageError]:
    _ = language_of(request).gettext
    problems = []
    if kind not in _KINDS:
        problems.append(PageError(_("Choose where the line belongs"), "validation_error", f"kind-{item_id}"))
    elif kind != DISMISSED and not target:
        problems.append(PageError(_("Enter the id or the account code it belongs to"), "required", f"target-{item_id}"))
    elif kind == DISMISSED and target:
        message = _("A dismissed line names nothing: leave the id or code empty")
        problems.append(PageError(message, "validation_error", f"target-{item_id}"))
    if len(target) > 120:
        problems.append(PageError(_("The id or code is at most 120 characters"), "too_long", f"target-{item_id}"))
    if len(note) > 500:
        problems.append(PageError(_("The note is at most 500 characters"), "too_long", f"note-{item_id}"))
    if kind == DISMISSED and not note:
        problems.append(PageError(_("Say in the note why the line is dismissed"), "required", f"note-{item_id}"))
    return problems


@router.post(SUSPENSE + "/{item_id}/propose")
def propose_resolution(request: Request, item_id: str, form: Form, visit: ResolveForm) -> Response:
    """Propose where a held line belongs: nothing moves until a second person approves it."""
    kind, target, note = (form.get(name, "").strip() for name in _RESOLUTION_FIELDS)
    typed = {"item": item_id, "kind": kind, "target": target, "note": note}
    problems = _resolution_problems(request, item_id, kind, target, note)
    if not problems:
        fields = {name: f"{name}-{item_id}" for name in _RESOLUTION_FIELDS}
        fields.update({"account_code": f"target-{item_id}", "type": f"kind-{item_id}"})
        try:
            request_ = ResolutionRequest(kind, None if kind == DISMISSED else target, note or None)
            web_of(request).kleline.proposals.propose_suspense_resolution(visit.actor, item_id, request_)
        except KlelineError as error:
            page = _refusal(request, visit, error)
            if page is not None:
                raise page from None
            problems.append(_decision_error(request, error, fields))
    if problems:
        status = 409 if problems[0].code in {"proposal_pending", "suspense_item_resolved"} else 400
        return _suspense_page(request, visit, errors=problems, typed=typed, status=status)
    return leave_note(request, redirect(PROPOSALS), "console_resolution_proposed")


# Safeguarding


@router.get(SAFEGUARDING)
def safeguarding_page(request: Request, visit: Reader) -> Response:
    """Per currency: what the safeguarding account holds against customers' purses and merchants' balances, and the
    difference explained line by line, every figure a ledger balance from one snapshot of the books."""
    language = language_of(request)
    report = web_of(request).kleline.safeguarding.report()

    def money(minor: int, currency: str) -> str:
        return language.money(Money(minor, currency))

    def lines(found: Any, currency: str, figure: str) -> list[dict[str, Any]]:
        return [
            {
                "name": language.gettext(_SAFEGUARDING_KINDS.get(line.kind, _SAFEGUARDING_KINDS["other"])),
                "code": line.code,
                "accounts": line.accounts,
                "figure": money(getattr(line, figure), currency),
            }
            for line in found
        ]

    currencies = [
        {
            "currency": c.currency,
            "safeguarded": money(c.safeguarded, c.currency),
            "safeguarding": lines(c.safeguarding, c.currency, "balance"),
            "owed": money(c.owed_total, c.currency),
            "owed_lines": lines(c.owed, c.currency, "balance"),
            "difference": money(c.difference, c.currency),
            "explanation": lines(c.explanation, c.currency, "effect"),
            "unexplained": money(c.unexplained, c.currency),
            "unexplained_minor": c.unexplained,
            "balanced": c.balanced,
        }
        for c in report.currencies
    ]
    return _page(
        request,
        visit,
        "console/money_safeguarding.html",
        N_("Safeguarding"),
        "safeguarding",
        as_of=when(report.as_of, language),
        currencies=currencies,
    )
