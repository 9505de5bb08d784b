"""The console's money proposals (``/console/money/proposals``): the suspense resolutions waiting for a second
person, and the last ones decided; approving, rejecting (saying why) or withdrawing one's own (``RESOLVE_SUSPENSE``;
the service checks it too, and refuses a proposer's own approval).

The section's other pages are modules of their own (``money_runs``, ``money_collections``, ``money_statements``,
``money_suspense``, ``money_receivables``, ``money_safeguarding``), over what ``money_pages`` shares. Every page takes
``Power.READ``, so support reads them; each form is shown only to a role whose powers include its act, and its post
checks that power again (a support user's post is the 403 page, nothing written).
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from kleline.errors import KlelineError
from kleline.money import Money
from kleline.proposals import Proposal
from kleline.reconciliation import Target
from kleline.reconciliation.suspense import ACCOUNT, DISMISSED
from kleline.staff.actor import StaffActor
from kleline.staff.roles import Power
from kleline.web.console.money_pages import DECISIONS as _DECISIONS
from kleline.web.console.money_pages import PROPOSALS, Reader
from kleline.web.console.money_pages import decision_error as _decision_error
from kleline.web.console.money_pages import money_page as _page
from kleline.web.console.money_pages import money_refusal as _refusal
from kleline.web.console.money_pages import status_of as _status
from kleline.web.console.visits import ConsoleVisit, console_form
from kleline.web.console.wording import leave_note
from kleline.web.i18n import N_, language_of
from kleline.web.refusals import PageError
from kleline.web.rendering import redirect
from kleline.web.security import when
from kleline.web.visits import Form, web_of

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

DecideForm = Annotated[ConsoleVisit, Depends(console_form(Power.RESOLVE_SUSPENSE, back=PROPOSALS))]

_KIND_NAMES: Final = {
    Target.PAYOUT.value: N_("To the payout"),
    Target.COLLECTION.value: N_("To the collection"),
    Target.CARD_PAYMENT.value: N_("To the card payment"),
    Target.CARD_TOP_UP.value: N_("To the card top-up"),
    Target.CARD_REFUND.value: N_("To the card refund"),
    ACCOUNT: N_("To the account"),
    DISMISSED: N_("Dismissed"),
}


def _is_own(visit: ConsoleVisit, proposal: Proposal) -> bool:
    actor = visit.actor
    return (proposal.proposed_by.kind, proposal.proposed_by.id) == (actor.kind, actor.id)


def _proposals_page(
    request: Request,
    visit: ConsoleVisit,
    *,
    errors: list[PageError] | None = None,
    typed: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    kleline = web_of(request).kleline
    language = language_of(request)
    pending = kleline.proposals.list(status="pending", kind="suspense_resolution", limit=100)
    decided = [p for p in kleline.proposals.list(kind="suspense_resolution", limit=20) if p.status != "pending"]
    staff = kleline.staff_team

    def who(proposal_actor: StaffActor | None) -> str:
        if proposal_actor is None:
            return ""
        if proposal_actor.kind == "staff":
            try:
                return str(staff.get(proposal_actor.id).email)
            except KlelineError:
                return proposal_actor.id
        return language.gettext(N_("operator key %(id)s")) % {"id": proposal_actor.id}

    def row(proposal: Proposal) -> dict[str, Any]:
        parameters = proposal.parameters
        line = parameters.get("line") or {}
        return {
            "proposal": proposal,
            "own": _is_own(visit, proposal),
            "kind": language.gettext(_KIND_NAMES.get(str(parameters.get("type")), N_("unknown"))),
            "target": parameters.get("target") or "",
            "note": parameters.get("note") or "",
            "amount": language.money(Money(int(line["amount"]), str(line["currency"]))) if "amount" in line else "",
            "by": who(proposal.proposed_by),
            "decided_by": who(proposal.decided_by),
            "when": when(proposal.proposed_at, language),
            "status": _status(language, str(proposal.status)),
        }

    return _page(
        request,
        visit,
        "console/money_proposals.html",
        N_("Proposals"),
        "proposals",
        errors=errors,
        status=status,
        pending=[row(p) for p in pending],
        decided=[row(p) for p in decided],
        may_decide=visit.may(Power.RESOLVE_SUSPENSE),
        typed=typed or {"proposal": "", "reason": ""},
    )


@router.get(PROPOSALS)
def proposals_page(request: Request, visit: Reader) -> Response:
    """The suspense resolutions waiting for a second person, and the last ones decided."""
    return _proposals_page(request, visit)


def _decide(request: Request, visit: ConsoleVisit, proposal_id: str, act: str, reason: str = "") -> Response:
    proposals = web_of(request).kleline.proposals
    try:
        if act == "approve":
            proposals.approve(visit.actor, proposal_id)
        elif act == "reject":
            proposals.reject(visit.actor, proposal_id, reason)
        else:
            proposals.withdraw(visit.actor, proposal_id)
    except KlelineError as error:
        if error.code not in _DECISIONS:
            page = _refusal(request, visit, error)
            if page is not None:
                raise page from None
        problem = _decision_error(request, error, {"reason": f"reason-{proposal_id}"})
        status = 403 if error.status == 403 else 409 if error.status == 409 else 400
        typed = {"proposal": proposal_id, "reason": reason}
        return _proposals_page(request, visit, errors=[problem], typed=typed, status=status)
    notes = {"approve": "console_proposal_approved", "reject": "console_proposal_rejected"}
    return leave_note(request, redirect(PROPOSALS), notes.get(act, "console_proposal_withdrawn"))


@router.post(PROPOSALS + "/{proposal_id}/approve")
def approve_proposal(request: Request, proposal_id: str, form: Form, visit: DecideForm) -> Response:
    """Approve a resolution another person proposed: it applies now."""
    return _decide(request, visit, proposal_id, "approve")


@router.post(PROPOSALS + "/{proposal_id}/reject")
def reject_proposal(request: Request, proposal_id: str, form: Form, visit: DecideForm) -> Response:
    """Reject a resolution another person proposed, saying why: it never applies."""
    reason = form.get("reason", "").strip()
    if not reason:
        _ = language_of(request).gettext
        message = _("Say why you reject it: the proposer will read it")
        error = PageError(message, "required", f"reason-{proposal_id}")
        return _proposals_page(
            request, visit, errors=[error], typed={"proposal": proposal_id, "reason": ""}, status=400
        )
    return _decide(request, visit, proposal_id, "reject", reason)


@router.post(PROPOSALS + "/{proposal_id}/withdraw")
def withdraw_proposal(request: Request, proposal_id: str, form: Form, visit: DecideForm) -> Response:
    """Withdraw one's own proposal: it never applies."""
    return _decide(request, visit, proposal_id, "withdraw")
