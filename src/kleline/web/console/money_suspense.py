"""The console's suspense queue (``/console/money/suspense``): the statement lines the books could not explain,
oldest first, a page at a time, each with the form that proposes where it belongs (``RESOLVE_SUSPENSE``; the service
checks it too). Nothing moves on a proposal: a second person approves it on the proposals page (``proposals``)."""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from kleline.errors import KlelineError, NotFound
from kleline.reconciliation import ResolutionRequest, Target
from kleline.reconciliation.model import SuspenseItem
from kleline.reconciliation.suspense import ACCOUNT, DISMISSED
from kleline.staff.roles import Power
from kleline.web.console.money_pages import (
    PER_PAGE,
    SUSPENSE,
    Reader,
    decision_error,
    money_page,
    money_refusal,
    paged,
    reason_of,
)
from kleline.web.console.proposals import PROPOSALS
from kleline.web.console.visits import ConsoleVisit, console_form
from kleline.web.console.wording import leave_note
from kleline.web.i18n import N_, language_of
from kleline.web.refusals import PageError
from kleline.web.rendering import redirect
from kleline.web.security import when
from kleline.web.visits import Form, web_of

__all__ = ["router"]

SUSPENSE_PROPOSALS: Final = f"{PROPOSALS}?kind=suspense_resolution"

router = APIRouter(include_in_schema=False)

ResolveForm = Annotated[ConsoleVisit, Depends(console_form(Power.RESOLVE_SUSPENSE, back=SUSPENSE))]

_RESOLUTION_FIELDS: Final = ("kind", "target", "note")
_KINDS: Final = {
    Target.PAYOUT.value: N_("a payout (its id)"),
    Target.COLLECTION.value: N_("a direct debit collection (its id)"),
    Target.CARD_PAYMENT.value: N_("a card payment the network settled (its id)"),
    Target.CARD_TOP_UP.value: N_("a card top-up the network settled (its id)"),
    Target.CARD_REFUND.value: N_("a card refund the network charged (its id)"),
    ACCOUNT: N_("an account of the books (its code, such as kleline:bank-charges)"),
    DISMISSED: N_("nothing: dismiss the line, which posted no money"),
}


_NO_ACCOUNT: Final = N_("No account of the books has this code: check it in the books' list of accounts")
_NO_SUCH_OBJECT: Final = N_("Nothing of this kind has this id: check the id, or choose another kind")


def _id(item: SuspenseItem) -> str:
    return item.id


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
    suspense = kleline.suspense
    page = paged(request, SUSPENSE, lambda after: suspense.items(status="open", limit=PER_PAGE, after=after), _id)
    pending = {p.subject_id: p for p in kleline.proposals.list(status="pending", kind="suspense_resolution", limit=101)}
    rows = [
        {
            "item": item,
            "amount": language.money(item.line.amount),
            "reason": reason_of(language, item.reason.value),
            "created": when(item.created_at, language),
            "proposal": pending.get(item.id),
        }
        for item in page.rows
    ]
    return money_page(
        request,
        visit,
        "console/money_suspense.html",
        N_("Suspense queue"),
        "suspense",
        errors=errors,
        status=status,
        items=rows,
        pager=page,
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
        except NotFound:  # what the line belongs to names nothing (the item's own absence is a 404 of another class)
            message = _NO_ACCOUNT if kind == ACCOUNT else _NO_SUCH_OBJECT
            problems.append(PageError(language_of(request).gettext(message), "not_found", f"target-{item_id}"))
        except KlelineError as error:
            page = money_refusal(request, visit, error)
            if page is not None:
                raise page from None
            problems.append(decision_error(request, error, fields))
    if problems:
        status = 409 if problems[0].code in {"proposal_pending", "suspense_item_resolved"} else 400
        return _suspense_page(request, visit, errors=problems, typed=typed, status=status)
    return leave_note(request, redirect(SUSPENSE_PROPOSALS), "console_resolution_proposed")
