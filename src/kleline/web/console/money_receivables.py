"""The console's receivables (``/console/money/receivables``): what customers owe after direct debits came back
unpaid and their purse could not cover them, a page at a time (as ``GET /v1/receivables``), and the form that
proposes to write a debt off (``MANAGE_RECEIVABLES``). A write-off takes four eyes: the form calls the service the
API's ``POST /v1/receivables/{customer_id}/write-offs`` calls, which records a proposal; nothing moves until a second
person approves it."""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from kleline.collections import Receivable
from kleline.errors import KlelineError
from kleline.money import Money
from kleline.staff.actor import RoleForbids
from kleline.staff.roles import Power
from kleline.web.console.money_pages import (
    PER_PAGE,
    RECEIVABLES,
    Reader,
    money_error,
    money_page,
    money_refusal,
    paged,
)
from kleline.web.console.visits import ConsoleVisit, console_form
from kleline.web.console.wording import leave_note
from kleline.web.i18n import N_, language_of
from kleline.web.refusals import PageError
from kleline.web.rendering import redirect
from kleline.web.security import when
from kleline.web.top_up import parse_amount
from kleline.web.visits import Form, web_of

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

ManageForm = Annotated[ConsoleVisit, Depends(console_form(Power.MANAGE_RECEIVABLES, back=RECEIVABLES))]

_PENDING: Final = N_("A write-off of this debt already waits for a second person: it must be decided first.")
_CONFLICTS: Final = frozenset({"proposal_pending", "nothing_owed"})


def _customer_id(receivable: Receivable) -> str:
    return receivable.customer_id


def _receivables_page(
    request: Request,
    visit: ConsoleVisit,
    *,
    errors: list[PageError] | None = None,
    typed: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    kleline = web_of(request).kleline
    language = language_of(request)
    collections = kleline.collections
    page = paged(request, RECEIVABLES, lambda after: collections.receivables(limit=PER_PAGE, after=after), _customer_id)
    pending = {p.subject_id: p for p in kleline.proposals.list(status="pending", kind="write_off", limit=100)}

    def proposed(customer_id: str) -> str | None:
        proposal = pending.get(customer_id)
        if proposal is None:
            return None
        amount = proposal.parameters.get("amount") or proposal.parameters.get("owed")
        if amount is None:
            return ""
        return language.money(Money(int(amount), str(proposal.parameters.get("currency", "EUR"))))

    rows = [
        {
            "receivable": receivable,
            "owed": language.money(receivable.outstanding),
            "last": "" if receivable.last_returned_at is None else when(receivable.last_returned_at, language),
            "proposed": proposed(receivable.customer_id),
        }
        for receivable in page.rows
    ]
    return money_page(
        request,
        visit,
        "console/money_receivables.html",
        N_("Receivables"),
        "receivables",
        errors=errors,
        status=status,
        receivables=rows,
        pager=page,
        may_manage=visit.may(Power.MANAGE_RECEIVABLES),
        typed=typed or {"customer": "", "amount": ""},
    )


@router.get(RECEIVABLES)
def receivables_page(request: Request, visit: Reader) -> Response:
    """The customers who owe money, by customer id, each with the form that proposes to write the debt off."""
    return _receivables_page(request, visit)


@router.post(RECEIVABLES + "/{customer_id}/write-offs")
def propose_write_off(request: Request, customer_id: str, form: Form, visit: ManageForm) -> Response:
    """Propose to write the customer's debt off (all of it, or the amount typed): nothing moves until a second
    person approves it."""
    _ = language_of(request).gettext
    text = form.get("amount", "").strip()[:40]
    typed = {"customer": customer_id, "amount": text}
    field = f"amount-{customer_id}"
    amount = parse_amount(text) if text else None
    problems: list[PageError] = []
    if text and (amount is None or amount.minor == 0):
        message = _("Enter the amount in euros, such as 12.50, or leave it empty to write the whole debt off")
        problems.append(PageError(message, "validation_error", field))
    if not problems:
        try:
            web_of(request).kleline.proposals.propose_write_off(visit.actor, customer_id, amount)
        except KlelineError as error:
            if isinstance(error, RoleForbids):
                page = money_refusal(request, visit, error)
                assert page is not None
                raise page from None
            if error.code == "proposal_pending":
                problems.append(PageError(_(_PENDING), error.code, None))
            else:
                problems.append(money_error(request, error, {"amount": field}))
                if problems[-1].field is None and error.code == "amount_exceeds_debt":
                    problems[-1] = PageError(problems[-1].message, error.code, field)
    if problems:
        status = 409 if problems[0].code in _CONFLICTS else 400
        return _receivables_page(request, visit, errors=problems, typed=typed, status=status)
    return leave_note(request, redirect(RECEIVABLES), "console_write_off_proposed")
