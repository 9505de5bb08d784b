"""What the console's money pages share: their addresses, their sub-navigation, how they word a status, render a
page, turn a service's refusal into the 403 or 404 page or into a form's message, and page through a list.

The pages themselves: ``money_runs`` (settlement runs), ``money_collections`` (direct debit collection runs),
``money_statements`` (bank statement imports), ``money_suspense`` (the suspense queue), ``money`` (the proposals),
``money_receivables`` (customers' debts) and ``money_safeguarding``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Final, Generic, TypeVar
from urllib.parse import urlencode

from fastapi import Depends, Request
from starlette.responses import Response

from kleline.errors import KlelineError, NotFound
from kleline.staff.actor import RoleForbids
from kleline.staff.roles import Power
from kleline.web.console.visits import ConsoleVisit, console_context, console_page, refused, respond
from kleline.web.console.wording import console_error, note_of
from kleline.web.i18n import N_, Language, language_of
from kleline.web.refusals import PageError
from kleline.web.rendering import render
from kleline.web.visits import Answered

__all__ = [
    "COLLECTION_RUNS",
    "DECISIONS",
    "MONEY",
    "PER_PAGE",
    "RECEIVABLES",
    "RUNS",
    "SAFEGUARDING",
    "STATEMENTS",
    "SUSPENSE",
    "Pager",
    "Reader",
    "decision_error",
    "money_error",
    "money_page",
    "money_refusal",
    "paged",
    "reason_of",
    "status_of",
]

MONEY: Final = "/console/money"
RUNS: Final = f"{MONEY}/settlement-runs"
COLLECTION_RUNS: Final = f"{MONEY}/collection-runs"
STATEMENTS: Final = f"{MONEY}/statements"
SUSPENSE: Final = f"{MONEY}/suspense"
RECEIVABLES: Final = f"{MONEY}/receivables"
SAFEGUARDING: Final = f"{MONEY}/safeguarding"
PER_PAGE: Final = 25
"""How many rows a money list shows at a time."""

Reader = Annotated[ConsoleVisit, Depends(console_page(Power.READ))]

_PAGES: Final = (
    ("runs", RUNS, N_("Settlement runs")),
    ("collections", COLLECTION_RUNS, N_("Collection runs")),
    ("statements", STATEMENTS, N_("Bank statements")),
    ("suspense", SUSPENSE, N_("Suspense queue")),
    ("receivables", RECEIVABLES, N_("Receivables")),
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
    "submitted": N_("sent to the bank"),
    "collected": N_("collected"),
    "returned": N_("returned unpaid"),
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
DECISIONS: Final = {
    "same_approver": N_(
        "You proposed this resolution: a second person must approve or reject it. You may withdraw it instead."
    ),
    "not_proposer": N_("Only whoever proposed this resolution may withdraw it: approve or reject it instead."),
    "proposal_pending": N_(
        "A resolution of this line already waits for a second person: see the proposals, or withdraw yours first."
    ),
    "proposal_decided": N_("This proposal was decided already: it no longer waits for anyone."),
}

T = TypeVar("T")


def status_of(language: Language, status: str) -> str:
    """A status of a run, a line, an item or a proposal, as the pages word it."""
    return language.gettext(_STATUS.get(status, status))


def reason_of(language: Language, reason: str | None) -> str:
    """Why a statement line is held in suspense, as the pages word it ("" for none)."""
    return "" if reason is None else language.gettext(_REASONS.get(reason, reason))


def money_page(
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
    """A money page: ``template`` with the money section's navigation, ``current`` marked in it."""
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


def money_refusal(request: Request, visit: ConsoleVisit, error: KlelineError) -> Answered | None:
    """A refusal that is a page of its own: not allowed (403), or unknown (404)."""
    language = language_of(request)
    if isinstance(error, RoleForbids):
        return refused(request, visit, console_error(error, language=language).message)
    if isinstance(error, NotFound) or error.status == 404:
        return refused(request, visit, console_error(error, language=language).message, status=404)
    return None


def money_error(request: Request, error: KlelineError, fields: dict[str, str] | None = None) -> PageError:
    """A service's refusal as a form's message."""
    return console_error(error, fields, language_of(request))


def decision_error(request: Request, error: KlelineError, fields: dict[str, str] | None = None) -> PageError:
    """A refusal of a proposal's step (proposing, approving, rejecting, withdrawing) as a form's message."""
    wording = DECISIONS.get(error.code)
    if wording is not None:
        return PageError(language_of(request).gettext(wording), error.code, None)
    return money_error(request, error, fields)


@dataclass(frozen=True, slots=True)
class Pager(Generic[T]):
    """One page of a list: its rows, the address of the next page (None on the last one), and the first page's
    (None on the first one)."""

    rows: list[T]
    next_page: str | None
    first_page: str | None


def paged(
    request: Request, path: str, fetch: Callable[[str | None], tuple[list[T], bool]], key: Callable[[T], str]
) -> Pager[T]:
    """The page of a list that the address's ``after`` (the last row's id on the page before) names, as the API's
    ``starting_after``; a stale or edited ``after`` (an id the service does not know, or nothing after it) shows the
    first page."""
    after = request.query_params.get("after") or None
    if after is not None and len(after) > 40:
        after = None
    try:
        rows, more = fetch(after)
    except KlelineError as error:
        if after is None or error.status not in (400, 404):
            raise
        rows, more = [], False
    if after is not None and not rows:  # an id some services ignore rather than refuse: nothing after it
        after = None
        rows, more = fetch(None)
    next_page = f"{path}?{urlencode({'after': key(rows[-1])})}" if more and rows else None
    return Pager(rows, next_page, path if after is not None else None)
