"""The two acts on a merchant's new bank account, from its page in the console, for a role that decides merchants:

- propose approving it (``proposals.propose_bank_account``, as ``kleline merchants approve-bank-change``): nothing
  changes until a second person approves the proposal, then the merchant's next payouts go there;
- reject it, saying why (``bank_account_changes.reject``, as ``kleline merchants reject-bank-change``): the merchant
  keeps its account, and its owners read the reason.

Each is checked again on its post (the 403 page for another role, nothing written); a refusal comes back on the
merchant's page next to the form, what was typed kept.
"""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from kleline.errors import KlelineError, NotFound
from kleline.merchant_users.errors import BankChangeDecided, UnknownBankChange
from kleline.staff.actor import RoleForbids
from kleline.staff.roles import Power
from kleline.web.console.people import MERCHANTS, show_merchant
from kleline.web.console.visits import ConsoleVisit, console_form, refused
from kleline.web.console.wording import console_error, leave_note
from kleline.web.i18n import N_, language_of
from kleline.web.refusals import PageError
from kleline.web.rendering import redirect
from kleline.web.visits import Form, web_of

__all__ = ["REASON_FIELD", "router"]

router = APIRouter(include_in_schema=False)

REASON_FIELD: Final = "bank_reason"
_CHANGE: Final = MERCHANTS + "/{merchant_id}/bank-changes/{change_id}"
_DECIDED: Final = N_("This bank account change was decided meanwhile: the page shows where it stands now.")
_PENDING: Final = N_("A proposal to approve this account already waits for a second person: see its proposal.")
_NO_REASON: Final = N_("Say why, in a sentence the merchant's owners will read")

Decider = Annotated[ConsoleVisit, Depends(console_form(Power.DECIDE_MERCHANTS, back=MERCHANTS))]


@router.post(_CHANGE + "/propose")
def propose_approval(request: Request, merchant_id: str, change_id: str, form: Form, visit: Decider) -> Response:
    """Propose approving the new account: it takes effect once a second person approves the proposal."""
    try:
        web_of(request).kleline.proposals.propose_bank_account(visit.actor, merchant_id[:64], change_id[:64])
    except KlelineError as error:
        return _refusal(request, visit, merchant_id, error, {})
    return leave_note(request, redirect(f"{MERCHANTS}/{merchant_id}"), "console_bank_change_proposed")


@router.post(_CHANGE + "/reject")
def reject(request: Request, merchant_id: str, change_id: str, form: Form, visit: Decider) -> Response:
    """Reject the new account, saying why: the merchant keeps its account and its owners are told the reason."""
    language = language_of(request)
    typed = {REASON_FIELD: form.get("reason", "")[:600]}
    if not typed[REASON_FIELD].strip():
        problem = PageError(language.gettext(_NO_REASON), "required", REASON_FIELD)
        return show_merchant(request, visit, merchant_id, errors=[problem], typed=typed, status=400)
    changes = web_of(request).kleline.bank_account_changes
    try:
        changes.reject(
            merchant_id[:64], change_id[:64], typed[REASON_FIELD], by=visit.actor.label[:60], actor=visit.actor
        )
    except KlelineError as error:
        return _refusal(request, visit, merchant_id, error, typed)
    return leave_note(request, redirect(f"{MERCHANTS}/{merchant_id}"), "console_bank_change_rejected")


def _refusal(
    request: Request, visit: ConsoleVisit, merchant_id: str, error: KlelineError, typed: dict[str, str]
) -> Response:
    """The merchant's page with why the act was refused; the 403 or 404 page when it cannot be shown at all."""
    language = language_of(request)
    if isinstance(error, RoleForbids):
        raise refused(request, visit, console_error(error, language=language).message)
    if error.code == "proposal_pending":
        problem = PageError(language.gettext(_PENDING), error.code)
    elif isinstance(error, BankChangeDecided | UnknownBankChange):
        problem = PageError(language.gettext(_DECIDED), error.code)
    elif isinstance(error, NotFound):
        raise refused(request, visit, language.gettext(N_("No merchant has this id.")), status=404)
    else:
        problem = console_error(error, {"reason": REASON_FIELD}, language)
    status = 400 if problem.field == REASON_FIELD else 409
    return show_merchant(request, visit, merchant_id, errors=[problem], typed=typed, status=status)
