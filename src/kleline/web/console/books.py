"""The books (``/console/books``), for every role that reads: the trial balance per currency, any account's movements
(paged, newest first), the last integrity check and, for the roles that export (finance), a button to run it again and
the books' exports (the whole ledger as beancount, a merchant's month as FEC), each download in the staff audit trail.

Running the check asks for the ``export`` power: it reads the whole journal (slow on purpose, not for every visitor)
and its result is the finance team's to act on; support only reads the last result.
"""

from __future__ import annotations

import io
import re
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from kleline.errors import KlelineError
from kleline.ledger.audit import trial_balance
from kleline.ledger.service import HistoryLine
from kleline.merchants.errors import UnknownMerchant
from kleline.money import Money
from kleline.reports.errors import InvalidMonth
from kleline.reports.integrity import last_check, run_check
from kleline.staff.audit import record_download
from kleline.staff.roles import Power
from kleline.web.console.visits import ConsoleVisit, console_context, console_form, console_page, respond
from kleline.web.console.wording import console_error, leave_note, note_of
from kleline.web.i18n import N_, Language, language_of
from kleline.web.refusals import PageError
from kleline.web.rendering import redirect, render
from kleline.web.security import when
from kleline.web.visits import web_of

__all__ = ["BOOKS", "router"]

router = APIRouter(include_in_schema=False)

BOOKS: Final = "/console/books"
_TITLE: Final = N_("The books")
_PAGE_SIZE: Final = 25
_ACCOUNT_CODE: Final = re.compile(r"^\S{1,120}$")
_MONTH: Final = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_MERCHANT: Final = "fec-merchant"
_FEC_MONTH: Final = "fec-month"

Reader = Annotated[ConsoleVisit, Depends(console_page(Power.READ))]
Exporter = Annotated[ConsoleVisit, Depends(console_page(Power.EXPORT))]
Checker = Annotated[ConsoleVisit, Depends(console_form(Power.EXPORT, back=BOOKS))]


def _movement(line: HistoryLine, currency: str, language: Language) -> dict[str, str]:
    return {
        "sequence": str(line.sequence),
        "when": when(line.posted_at, language),
        "entry": line.entry_id,
        "description": line.description,
        "amount": language.money(Money(line.amount, currency)),
        "balance": language.money(Money(line.balance_after, currency)),
    }


def _account(request: Request, code: str, before: int | None) -> dict[str, Any]:
    """The account's balances and one page of its movements, or why it cannot be shown."""
    language = language_of(request)
    ledger = web_of(request).kleline.ledger
    if not _ACCOUNT_CODE.match(code):
        return {"code": code, "problem": language.gettext(N_("An account code has no spaces."))}
    try:
        account = ledger.account(code)
        balance = ledger.balance(code)
        lines = ledger.history(code, limit=_PAGE_SIZE + 1, before=before)
    except KlelineError:
        return {"code": code, "problem": language.gettext(N_("No account has this code."))}
    more = len(lines) > _PAGE_SIZE
    lines = lines[:_PAGE_SIZE]
    return {
        "code": code,
        "problem": None,
        "currency": account.currency,
        "balance": language.money(Money(balance.posted, account.currency)),
        "held": language.money(Money(balance.held, account.currency)),
        "available": language.money(Money(balance.available, account.currency)),
        "movements": [_movement(line, account.currency, language) for line in lines],
        "older": f"{BOOKS}?account={code}&before={lines[-1].sequence}#movements" if more and lines else None,
    }


def _who(request: Request, label: str) -> str:
    """Who ran the check, by email when it was a staff user (its label is ``staff <id>``)."""
    kind, _, user_id = label.partition(" ")
    if kind == "staff" and user_id:
        try:
            return web_of(request).kleline.staff_team.get(user_id).email
        except KlelineError:
            pass
    return label


@router.get(BOOKS)
def books_page(
    request: Request,
    visit: Reader,
    account: Annotated[str, Query(max_length=120)] = "",
    before: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    """The trial balance, an account's movements, the last integrity check, the exports."""
    return _books(request, visit, account.strip(), before)


def _books(
    request: Request,
    visit: ConsoleVisit,
    code: str,
    before: int | None = None,
    *,
    errors: list[PageError] | None = None,
    typed: dict[str, str] | None = None,
) -> Response:
    """The books page; with ``errors``, a 400 answer to the FEC form that keeps what was ``typed`` in it."""
    kleline = web_of(request).kleline
    language = language_of(request)
    balance = trial_balance(kleline.db)
    totals = [
        {
            "currency": currency,
            "debits": language.money(Money(t.debits, currency)),
            "credits": language.money(Money(t.credits, currency)),
            "balanced": t.debits == t.credits,
        }
        for currency, t in sorted(balance.currencies.items())
    ]
    accounts = [
        (line.code, language.money(Money(line.balance, line.currency)))
        for line in sorted(balance.accounts, key=lambda line: line.code)
    ]
    check = last_check(kleline.db)
    context = console_context(
        visit,
        language.gettext(_TITLE),
        section="books",
        flash=note_of(request, signed_in=True),
        totals=totals,
        balanced=balance.balanced,
        accounts=accounts,
        account=_account(request, code, before) if code else None,
        check=check,
        check_when=when(check.finished_at, language) if check else "",
        check_by=_who(request, check.run_by) if check else "",
        may_export=visit.may(Power.EXPORT),
        errors=errors or [],
        focus_errors=bool(errors),
        typed={"merchant": "", "month": ""} | (typed or {}),
    )
    page = render(request, "console/books.html", context, status=400 if errors else 200)
    return respond(request, visit, page)


@router.post(f"{BOOKS}/integrity-check")
def check_now(request: Request, visit: Checker) -> Response:
    """Verify the ledger's chains and balances and the audit trail now; the page shows the result."""
    kleline = web_of(request).kleline
    run_check(kleline.db, visit.actor, clock=kleline.clock)
    return leave_note(request, redirect(f"{BOOKS}#integrity"), "console_integrity_checked")


@router.get(f"{BOOKS}/export.beancount")
def export_beancount(request: Request, visit: Exporter) -> Response:
    """Kleline's whole ledger as a beancount file, recorded in the staff audit trail."""
    kleline = web_of(request).kleline
    out = io.StringIO()
    summary = kleline.reports.export_beancount(out)
    details = {"format": "beancount", "accounts": summary.accounts, "entries": summary.entries}
    record_download(kleline.db, visit.actor, "ledger", None, at=kleline.clock(), details=details)
    return Response(
        out.getvalue().encode(),
        media_type="text/plain; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="kleline.beancount"', "Cache-Control": "no-store"},
    )


@router.get(f"{BOOKS}/export.fec")
def export_fec(
    request: Request,
    visit: Exporter,
    merchant: Annotated[str, Query(max_length=40)] = "",
    month: Annotated[str, Query(max_length=7)] = "",
) -> Response:
    """A merchant's month as a FEC file, recorded in the staff audit trail; else the books page again, with what is
    wrong next to the form's fields and what was typed kept."""
    kleline = web_of(request).kleline
    merchant, month = merchant.strip(), month.strip()
    errors = _fec_form_errors(merchant, month, language_of(request))
    if not errors:
        try:
            document = kleline.reports.statement_document(merchant, month, "fec")
        except KlelineError as error:
            errors = [_fec_refusal(error, language_of(request))]
    if errors:
        return _books(request, visit, "", errors=errors, typed={"merchant": merchant, "month": month})
    details = {"format": "fec", "month": month, "bytes": len(document.content)}
    record_download(kleline.db, visit.actor, "merchant", merchant, at=kleline.clock(), details=details)
    return Response(
        document.content,
        media_type=document.media_type,
        headers={"Content-Disposition": f'attachment; filename="{document.filename}"', "Cache-Control": "no-store"},
    )


def _fec_form_errors(merchant: str, month: str, language: Language) -> list[PageError]:
    """Every field of the FEC form that is missing or not written as asked, at once."""
    errors = []
    if not merchant:
        errors.append(PageError(language.gettext(N_("Name the merchant by its id.")), "validation_error", _MERCHANT))
    if not _MONTH.match(month):
        message = N_("Write the month as YYYY-MM, e.g. 2026-11.")
        errors.append(PageError(language.gettext(message), "validation_error", _FEC_MONTH))
    return errors


def _fec_refusal(error: KlelineError, language: Language) -> PageError:
    """The reports' refusal of a FEC file, next to the field it is about."""
    if isinstance(error, UnknownMerchant):
        return PageError(language.gettext(N_("No merchant has this id.")), error.code, _MERCHANT)
    if isinstance(error, InvalidMonth):
        return PageError(language.gettext(N_("This month has not begun yet.")), error.code, _FEC_MONTH)
    return console_error(error, language=language)
