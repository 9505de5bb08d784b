"""The console's four-eyes proposals (``/console/proposals``): every kind (a write-off, a suspense resolution, a
commission rate, a merchant's new bank account), each said in a clerk's words (whose, how much, from what to what,
IBANs masked), who proposed it and when, filtered by kind and status, 50 a page, newest first.

The page takes ``Power.READ``, so support reads it. Its forms follow the proposals' service (``kleline.proposals``):
approving or rejecting takes the power the proposal's kind needs (``POWERS``: receivables for a write-off, suspense
for a resolution, deciding merchants for a rate or a bank account) and is never shown on one's own proposal, which
only its proposer may withdraw. Each post checks that power again before the service does (a role without it gets
the 403 page, nothing written). The money section's old address (``/console/money/proposals``) leads here.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Annotated, Any, Final
from urllib.parse import urlencode

from babel.numbers import format_percent
from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from kleline.errors import KlelineError, NotFound
from kleline.merchants.model import mask_iban
from kleline.money import Money
from kleline.proposals import Proposal
from kleline.proposals.model import POWERS, STATUSES, ProposalKind
from kleline.reconciliation import Target
from kleline.reconciliation.suspense import ACCOUNT, DISMISSED
from kleline.staff.actor import RoleForbids, StaffActor
from kleline.staff.roles import Power
from kleline.web.console.visits import (
    ConsoleVisit,
    console_context,
    console_form,
    console_page,
    refused,
    require,
    respond,
)
from kleline.web.console.wording import console_error, leave_note, note_of
from kleline.web.history import calendar_day
from kleline.web.i18n import N_, Language, language_of
from kleline.web.refusals import PageError
from kleline.web.rendering import redirect, render
from kleline.web.security import when
from kleline.web.visits import Form, web_of

__all__ = ["PROPOSALS", "proposals_of", "router"]

router = APIRouter(include_in_schema=False)

PROPOSALS: Final = "/console/proposals"
_OLD: Final = "/console/money/proposals"
PER_PAGE: Final = 50

Reader = Annotated[ConsoleVisit, Depends(console_page(Power.READ))]
Decider = Annotated[ConsoleVisit, Depends(console_form(Power.READ, back=PROPOSALS))]
Filter = Annotated[str, Query(max_length=64)]

KIND_NAMES: Final = {
    ProposalKind.WRITE_OFF.value: N_("Write-off"),
    ProposalKind.SUSPENSE_RESOLUTION.value: N_("Suspense resolution"),
    ProposalKind.COMMISSION_RATE.value: N_("Commission rate"),
    ProposalKind.BANK_ACCOUNT.value: N_("Bank account"),
    ProposalKind.INTRO_FEE_RATE.value: N_("Introduction fee rate"),
}
_STATUS_NAMES: Final = {
    "pending": N_("waiting for a second person"),
    "approved": N_("approved"),
    "rejected": N_("rejected"),
    "withdrawn": N_("withdrawn"),
    "failed": N_("failed: nothing applied"),
}
_RESOLUTIONS: Final = {
    Target.PAYOUT.value: N_("To the payout"),
    Target.COLLECTION.value: N_("To the collection"),
    Target.CARD_PAYMENT.value: N_("To the card payment"),
    Target.CARD_TOP_UP.value: N_("To the card top-up"),
    Target.CARD_REFUND.value: N_("To the card refund"),
    ACCOUNT: N_("To the account"),
    DISMISSED: N_("Dismissed"),
}
_DECISIONS: Final = {
    "same_approver": N_("You proposed this: a second person must approve or reject it. You may withdraw it instead."),
    "not_proposer": N_("Only whoever proposed this may withdraw it: approve or reject it instead."),
    "proposal_decided": N_("This proposal was decided already: it no longer waits for anyone."),
}
_NOTES: Final = {
    "approve": "console_proposal_approved",
    "reject": "console_proposal_rejected",
    "withdraw": "console_proposal_withdrawn",
}


def _who(request: Request, actor: StaffActor | None) -> str:
    if actor is None:
        return ""
    if actor.kind == "staff":
        try:
            return str(web_of(request).kleline.staff_team.get(actor.id).email)
        except KlelineError:
            return actor.id
    if actor.kind == "key":
        return language_of(request).gettext(N_("operator key %(id)s")) % {"id": actor.id}
    return language_of(request).gettext(N_("the command line (%(id)s)")) % {"id": actor.id}


def _percent(language: Language, bps: object) -> str:
    return format_percent(Decimal(int(str(bps))) / 10_000, locale=language.locale, decimal_quantization=False)


def _name(request: Request, kind: ProposalKind, subject_id: str) -> str:
    kleline = web_of(request).kleline
    try:
        if kind is ProposalKind.WRITE_OFF:
            return str(kleline.customers.get(subject_id).name)
        return str(kleline.merchants.get(subject_id).name)
    except KlelineError:
        return subject_id


def _subject(request: Request, kind: ProposalKind, subject_id: str) -> dict[str, str]:
    """The proposal's subject as a link to its page in the console: a write-off's customer, any other act's merchant
    (the suspense resolutions link elsewhere)."""
    page = "customers" if kind is ProposalKind.WRITE_OFF else "merchants"
    return {"name": _name(request, kind, subject_id), "href": f"/console/{page}/{subject_id}"}


def _rate_change(language: Language, sentence: str, parameters: Mapping[str, Any], field: str) -> str:
    """``sentence`` (translated, with ``%(old)s`` and ``%(new)s``) of a proposal that changes the rate ``field``
    (the commission's, the introduction fee's), from ``previous_<field>``, both as percentages."""
    return sentence % {
        "old": _percent(language, parameters.get(f"previous_{field}", 0)),
        "new": _percent(language, parameters.get(field, 0)),
    }


def _held_line(request: Request, item_id: str) -> str:
    """A held line as a clerk finds it on the bank's statement: its day, who paid or was paid, and the bank's
    reference (the suspense item's id where the item is unknown)."""
    try:
        line = web_of(request).kleline.suspense.get(item_id).line
    except KlelineError:
        return item_id
    parts = [calendar_day(language_of(request), line.booking_date), line.counterparty_name, line.entry_ref]
    return " · ".join(part for part in parts if part)


def describe(request: Request, proposal: Proposal) -> dict[str, Any]:
    """What the proposal would do, as a clerk reads it: ``what`` (one sentence), ``subject`` (name, link) and
    ``note`` (a suspense resolution's)."""
    language = language_of(request)
    _ = language.gettext
    p, kind = proposal.parameters, proposal.kind
    subject: dict[str, str] = {"name": proposal.subject_id, "href": ""}
    note = ""
    if kind is ProposalKind.WRITE_OFF:
        subject = _subject(request, kind, proposal.subject_id)
        currency = str(p.get("currency") or "EUR")
        what = _("Write %(amount)s off the customer’s debt of %(owed)s") % {
            "amount": language.money(Money(int(p.get("amount") or 0), currency)),
            "owed": language.money(Money(int(p.get("owed") or 0), currency)),
        }
    elif kind is ProposalKind.COMMISSION_RATE:
        subject = _subject(request, kind, proposal.subject_id)
        what = _rate_change(language, _("Change the commission from %(old)s to %(new)s"), p, "fee_bps")
    elif kind is ProposalKind.INTRO_FEE_RATE:
        subject = _subject(request, kind, proposal.subject_id)
        what = _rate_change(language, _("Change the introduction fee from %(old)s to %(new)s"), p, "intro_fee_bps")
    elif kind is ProposalKind.BANK_ACCOUNT:
        subject = _subject(request, kind, proposal.subject_id)
        previous = (proposal.result or {}).get("previous_iban")
        if previous is None and proposal.status == "pending":
            try:
                previous = web_of(request).kleline.merchants.get(proposal.subject_id).iban
            except KlelineError:
                previous = None
        what = _("Pay the merchant into %(new)s instead of %(old)s") % {
            "new": mask_iban(str(p.get("iban") or "")),
            "old": mask_iban(str(previous)) if previous else "—",
        }
    else:
        line = p.get("line") or {}
        amount = language.money(Money(int(line["amount"]), str(line["currency"]))) if "amount" in line else ""
        resolution = _(_RESOLUTIONS.get(str(p.get("type")), N_("unknown")))
        target = str(p.get("target") or "")
        what = _("Held line of %(amount)s: %(resolution)s") % {
            "amount": amount,
            "resolution": f"{resolution} {target}".strip(),
        }
        subject = {"name": _held_line(request, proposal.subject_id), "href": "/console/money/suspense"}
        note = str(p.get("note") or "")
    return {"what": what, "subject": subject, "note": note}


def proposals_of(request: Request, kind: ProposalKind, subject_id: str) -> list[dict[str, str]]:
    """The pending proposal of ``kind`` on the subject, as a link to it (for the page of its subject)."""
    found = web_of(request).kleline.proposals.pending(kind, subject_id)
    if found is None:
        return []
    query = urlencode({"kind": kind.value, "status": "pending"})
    return [{"id": found.id, "href": f"{PROPOSALS}?{query}#{found.id}", **describe(request, found)}]


def _is_own(visit: ConsoleVisit, proposal: Proposal) -> bool:
    actor = visit.actor
    return (proposal.proposed_by.kind, proposal.proposed_by.id) == (actor.kind, actor.id)


def _row(request: Request, visit: ConsoleVisit, proposal: Proposal) -> dict[str, Any]:
    language = language_of(request)
    return {
        "proposal": proposal,
        "kind": language.gettext(KIND_NAMES[proposal.kind.value]),
        "status": language.gettext(_STATUS_NAMES.get(proposal.status, proposal.status)),
        "own": _is_own(visit, proposal),
        "may_decide": visit.may(POWERS[proposal.kind]),
        "by": _who(request, proposal.proposed_by),
        "when": when(proposal.proposed_at, language),
        "decided_by": _who(request, proposal.decided_by),
        "decided": "" if proposal.decided_at is None else when(proposal.decided_at, language),
        **describe(request, proposal),
    }


def _page(
    request: Request,
    visit: ConsoleVisit,
    *,
    kind: str = "",
    status: str = "pending",
    after: str = "",
    errors: list[PageError] | None = None,
    typed: dict[str, str] | None = None,
    code: int = 200,
) -> Response:
    language = language_of(request)
    _ = language.gettext
    kind = kind if kind in KIND_NAMES else ""
    status = status if status in STATUSES or status == "all" else "pending"
    proposals = web_of(request).kleline.proposals
    try:
        found = proposals.list(
            status=None if status == "all" else status,
            kind=kind or None,
            limit=PER_PAGE + 1,
            starting_after=after or None,
        )
    except KlelineError:  # an unknown ``after``: the first page
        after = ""
        found = proposals.list(status=None if status == "all" else status, kind=kind or None, limit=PER_PAGE + 1)
    shown = found[:PER_PAGE]
    kept = {"kind": kind, "status": status}
    next_page = ""
    if len(found) > PER_PAGE:
        next_page = f"{PROPOSALS}?{urlencode({**kept, 'after': shown[-1].id})}"
    context = console_context(
        visit,
        _("Proposals"),
        section="proposals",
        errors=errors or [],
        flash=note_of(request, signed_in=True) if code == 200 else None,
        rows=[_row(request, visit, p) for p in shown],
        kinds=[("", _("Every kind"))] + [(k, _(name)) for k, name in KIND_NAMES.items()],
        statuses=[("all", _("Every status"))] + [(s, _(_STATUS_NAMES[s])) for s in STATUSES],
        kind=kind,
        status=status,
        next_page=next_page,
        first_page=f"{PROPOSALS}?{urlencode(kept)}" if after else "",
        typed=typed or {"proposal": "", "reason": ""},
        here=f"{PROPOSALS}?{urlencode(kept)}",
    )
    return respond(request, visit, render(request, "console/proposals.html", context, status=code))


@router.get(PROPOSALS)
def proposals_page(
    request: Request, visit: Reader, kind: Filter = "", status: Filter = "pending", after: Filter = ""
) -> Response:
    """The proposals of every kind (or one), waiting (or of a status), newest first, with the decisions the role
    allows on each."""
    return _page(request, visit, kind=kind, status=status, after=after)


@router.get(_OLD)
def old_proposals_page(visit: Reader) -> Response:
    """The money section's former page of suspense proposals: this page, showing them."""
    return redirect(f"{PROPOSALS}?kind={ProposalKind.SUSPENSE_RESOLUTION.value}")


def _back(form: dict[str, str]) -> tuple[str, str]:
    return form.get("kind", ""), form.get("status", "pending")


def _decide(request: Request, visit: ConsoleVisit, proposal_id: str, act: str, form: dict[str, str]) -> Response:
    language = language_of(request)
    proposals = web_of(request).kleline.proposals
    kind, status = _back(form)
    reason = " ".join(form.get("reason", "").split())
    try:
        proposal = proposals.get(proposal_id[:64])
    except NotFound:
        raise refused(request, visit, language.gettext(N_("No proposal has this id.")), status=404) from None
    require(request, visit, POWERS[proposal.kind])
    typed = {"proposal": proposal.id, "reason": reason}
    if act == "reject" and not reason:
        error = PageError(language.gettext(N_("Say why you reject it: the proposer will read it")), "required",
                          f"reason-{proposal.id}")  # fmt: skip
        return _page(request, visit, kind=kind, status=status, errors=[error], typed=typed, code=400)
    try:
        if act == "approve":
            proposals.approve(visit.actor, proposal.id)
        elif act == "reject":
            proposals.reject(visit.actor, proposal.id, reason)
        else:
            proposals.withdraw(visit.actor, proposal.id)
    except KlelineError as error:
        if isinstance(error, RoleForbids):
            raise refused(request, visit, console_error(error, language=language).message) from None
        wording = _DECISIONS.get(error.code)
        if wording is not None:
            problem = PageError(language.gettext(wording), error.code, None)
        else:
            problem = console_error(error, {"reason": f"reason-{proposal.id}"}, language)
        code = 403 if error.status == 403 else 409 if error.status == 409 else 400
        return _page(request, visit, kind=kind, status=status, errors=[problem], typed=typed, code=code)
    back = f"{PROPOSALS}?{urlencode({'kind': kind if kind in KIND_NAMES else '', 'status': status})}"
    return leave_note(request, redirect(back), _NOTES[act])


@router.post(PROPOSALS + "/{proposal_id}/approve")
def approve_proposal(request: Request, proposal_id: str, form: Form, visit: Decider) -> Response:
    """Approve what another person proposed: it applies now (or fails, nothing applied, if its subject changed)."""
    return _decide(request, visit, proposal_id, "approve", form)


@router.post(PROPOSALS + "/{proposal_id}/reject")
def reject_proposal(request: Request, proposal_id: str, form: Form, visit: Decider) -> Response:
    """Reject what another person proposed, saying why: it never applies."""
    return _decide(request, visit, proposal_id, "reject", form)


@router.post(PROPOSALS + "/{proposal_id}/withdraw")
def withdraw_proposal(request: Request, proposal_id: str, form: Form, visit: Decider) -> Response:
    """Withdraw one's own proposal: it never applies."""
    return _decide(request, visit, proposal_id, "withdraw", form)
