"""The shop's settings (``/dashboard/settings``), owners only (the permission table's ``settings``): its bank account
and the change waiting for Kleline's check, its public profile in the malls' directory, and links to the team and
the activity.

A new bank account is asked for on a page of its own (``/dashboard/settings/bank-account``) that asks for the second
factor again when the last one is older than 15 minutes, before the form is shown, and again when it is sent (a form
left open too long then comes back empty: the IBAN is never carried in an address, where logs and the history would keep
it). The request goes to ``BankAccountChanges.request``: it takes effect only once two people at Kleline approve it
(four eyes: one proposes the approval, ``kleline.proposals``, a second approves it), and the notice says when the first
has. The answer to the post shows the IBAN typed in full, to the owner who typed it, that once; every other page shows
it masked (country and last four). The form is sent once whatever the clicks (``kleline.web.once``). While a change is
pending, every owner sees it on the overview and here, and may withdraw it; a decision stays shown for 14 days
(``kleline.merchant_users.model.is_announced``).

The public profile (what the shop sells, its website) is set through ``Merchants.describe``, the service of the
API's ``PATCH /v1/merchants/{id}``, and recorded in the audit trail (``profile_changed``) once done. Every problem of
the form is shown at once, with the values typed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from fastapi import APIRouter, Request
from starlette.responses import Response

from kleline.errors import KlelineError, NotFound
from kleline.merchant_users import BankAccountChange, NotAllowed, bank_change_problems
from kleline.merchants.checks import MAX_DESCRIPTION, check_description, check_website
from kleline.proposals import ProposalKind
from kleline.web.dashboard.visits import (
    DashboardVisit,
    dashboard_context,
    refused,
    require,
    require_recent_second_factor,
    respond,
    signed_in_merchant_post,
    signed_in_merchant_user,
)
from kleline.web.dashboard.wording import dashboard_error, leave_note, note_of
from kleline.web.i18n import N_, Language, language_of
from kleline.web.once import new_form_key, once
from kleline.web.refusals import PageError
from kleline.web.rendering import redirect, render
from kleline.web.security import when
from kleline.web.visits import Answered, Form, web_of

__all__ = ["BANK_ACCOUNT", "SETTINGS", "BankChangeNotice", "bank_change_notice", "router", "shown_iban"]

router = APIRouter(include_in_schema=False)

SETTINGS: Final = "/dashboard/settings"
BANK_ACCOUNT: Final = SETTINGS + "/bank-account"
PROFILE: Final = SETTINGS + "/profile"
_TITLE: Final = N_("Settings")
_BANK_TITLE: Final = N_("Change the bank account")
_BANK_FIELDS: Final = {"iban": "iban", "bic": "bic"}
_PROFILE_FIELDS: Final = {"description": "description", "website": "website"}

_MESSAGES: Final[dict[tuple[str, str | None], str]] = {
    ("invalid_iban", None): N_("Check the IBAN: it is not a valid IBAN of the SEPA zone"),
    ("invalid_bic", None): N_(
        "Check the BIC: 8 or 11 characters of this account's bank, such as COBADEFFXXX (leave it empty for Kleline "
        "to find it)"
    ),
    ("validation_error", "iban"): N_("This is already the account your shop is paid into"),
    ("bank_account_change_pending", None): N_(
        "A change of bank account is already waiting for Kleline's check: withdraw it before asking for another"
    ),
    ("bank_account_change_decided", None): N_("This change was already decided: it can no longer be withdrawn"),
    ("validation_error", "description"): N_("Describe what your shop sells in at most 500 characters"),
    ("validation_error", "website"): N_(
        "Enter your shop's address starting with https:// or http://, such as https://shop.example"
    ),
    ("not_found", None): N_("There is no such bank account change in your shop"),
}


@dataclass(frozen=True, slots=True)
class BankChangeNotice:
    """A bank account change as owners' pages tell of it, worded for the page's language."""

    change: BankAccountChange
    iban: str
    asked_by: str
    asked_on: str
    decided_on: str
    checked_once: bool = False  # pending, one person at Kleline proposed to approve it: a second must approve it


def shown_iban(iban: str) -> str:
    """An IBAN as pages show it to anyone but the owner typing it: its country and last four characters (kept on
    one line)."""
    return f"{iban[:2]}••\u00a0••••\u00a0{iban[-4:]}"


def _grouped(iban: str) -> str:
    return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))


def _notice(request: Request, change: BankAccountChange | None, language: Language) -> BankChangeNotice | None:
    if change is None:
        return None
    return BankChangeNotice(
        change,
        shown_iban(change.iban),
        change.requested_by_name or "",
        when(change.requested_at, language),
        when(change.decided_at, language) if change.decided_at else "",
        _checked_once(request, change),
    )


def _checked_once(request: Request, change: BankAccountChange) -> bool:
    """True when the pending change is one operator's proposal away from taking effect (four eyes: a second person
    at Kleline must approve it)."""
    if change.status != "pending":
        return False
    proposal = web_of(request).kleline.proposals.pending(ProposalKind.BANK_ACCOUNT, change.merchant_id)
    return proposal is not None and proposal.parameters.get("change_id") == change.id


def bank_change_notice(request: Request, visit: DashboardVisit) -> BankChangeNotice | None:
    """The change an owner's overview tells of (pending, or decided in the past 14 days); None for other roles."""
    if not visit.can("settings"):
        return None
    change = web_of(request).kleline.bank_account_changes.announcement(visit.actor)
    return bank_change_notice_of(request, change)


def bank_change_notice_of(request: Request, change: BankAccountChange | None) -> BankChangeNotice | None:
    """The notice of ``change``, an owner's announcement read already (beside the overview's figures, say)."""
    return _notice(request, change, language_of(request))


def _error(error: KlelineError, fields: dict[str, str], language: Language) -> PageError:
    wording = _MESSAGES.get((error.code, error.param)) or _MESSAGES.get((error.code, None))
    field = fields.get(error.param) if error.param else None
    if wording is not None:
        return PageError(language.gettext(wording), error.code, field)
    return dashboard_error(error, fields, language)


def _visit(request: Request) -> DashboardVisit:
    visit = signed_in_merchant_user(request)
    require(request, visit, "settings")
    return visit


def _post(request: Request, form: Form, back: str) -> DashboardVisit:
    visit = signed_in_merchant_post(request, form, back=back)
    require(request, visit, "settings")
    return visit


def _refusal(request: Request, visit: DashboardVisit, error: KlelineError) -> Answered | None:
    """A refusal that is a page of its own: not allowed any more (403), or not this shop's (404)."""
    language = language_of(request)
    if isinstance(error, NotAllowed):
        return refused(request, visit, dashboard_error(error, language=language).message)
    if isinstance(error, NotFound):
        return refused(request, visit, _error(error, {}, language).message, status=404)
    return None


# The settings page ---------------------------------------------------------------------------------------------------


def _page(
    request: Request,
    visit: DashboardVisit,
    *,
    errors: list[PageError] | None = None,
    profile: dict[str, str] | None = None,
    submitted: BankAccountChange | None = None,
    status: int = 200,
) -> Response:
    kleline = web_of(request).kleline
    language = language_of(request)
    merchant = visit.merchant
    assert merchant is not None
    state = kleline.bank_account_changes.state(visit.actor)
    malls = sorted(kleline.malls.malls_of(merchant.id), key=lambda mall: mall.slug)
    context: dict[str, Any] = dashboard_context(
        visit,
        language.gettext(_TITLE),
        section="settings",
        flash=note_of(request, signed_in=True) if status == 200 and submitted is None else None,
        errors=errors or [],
        current_iban=shown_iban(merchant.iban),
        pending=_notice(request, state.pending, language),
        decided=_notice(request, state.last_decided, language),
        submitted=submitted,
        submitted_iban=_grouped(submitted.iban) if submitted else "",
        profile=profile or {"description": merchant.description or "", "website": merchant.website or ""},
        max_description=MAX_DESCRIPTION,
        malls=malls,
    )
    return respond(request, visit, render(request, "dashboard/settings.html", context, status=status))


@router.get(SETTINGS)
def settings_page(request: Request) -> Response:
    """The shop's bank account (and the change waiting, if any), its public profile, links to the team."""
    return _page(request, _visit(request))


# The bank account --------------------------------------------------------------------------------------------------


def _bank_form(
    request: Request,
    visit: DashboardVisit,
    *,
    errors: list[PageError] | None = None,
    typed: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    language = language_of(request)
    assert visit.merchant is not None
    pending = web_of(request).kleline.bank_account_changes.state(visit.actor).pending
    context = dashboard_context(
        visit,
        language.gettext(_BANK_TITLE),
        section="settings",
        errors=errors or [],
        current_iban=shown_iban(visit.merchant.iban),
        pending=_notice(request, pending, language),
        typed=typed or {"iban": "", "bic": ""},
        form_key=new_form_key(),
    )
    return respond(request, visit, render(request, "dashboard/bank_account.html", context, status=status))


@router.get(BANK_ACCOUNT)
def bank_account_form(request: Request) -> Response:
    """The form of a new bank account, after the second factor when the last one is older than 15 minutes."""
    visit = _visit(request)
    require_recent_second_factor(request, visit, BANK_ACCOUNT)
    return _bank_form(request, visit)


@router.post(BANK_ACCOUNT)
def request_change(request: Request, form: Form) -> Response:
    """Ask for the new account: it waits for Kleline's check; this answer shows the IBAN typed, this once."""
    visit = _post(request, form, BANK_ACCOUNT)
    require_recent_second_factor(request, visit, BANK_ACCOUNT)
    language = language_of(request)
    iban, bic = form.get("iban", "").strip(), form.get("bic", "").strip()
    typed = {"iban": iban, "bic": bic}
    problems = bank_change_problems(iban, bic)
    if problems:
        errors = [_error(problem, _BANK_FIELDS, language) for problem in problems]
        return _bank_form(request, visit, errors=errors, typed=typed, status=400)
    changes = web_of(request).kleline.bank_account_changes
    try:
        change_id = once(
            request, f"dashboard:{visit.actor.user.id}", form, lambda: changes.request(visit.actor, iban, bic).id
        )
        change = changes.state(visit.actor).pending
    except KlelineError as error:
        page = _refusal(request, visit, error)
        if page is not None:
            raise page from None
        return _bank_form(
            request, visit, errors=[_error(error, _BANK_FIELDS, language)], typed=typed, status=error.status
        )
    if change is None or change.id != change_id:  # the same form sent again after its change was decided
        return redirect(SETTINGS)
    return _page(request, visit, submitted=change)


@router.post(BANK_ACCOUNT + "/{change_id}/withdraw")
def withdraw_change(request: Request, change_id: str, form: Form) -> Response:
    """Withdraw the change waiting for Kleline's check: it will never take effect."""
    visit = _post(request, form, SETTINGS)
    try:
        web_of(request).kleline.bank_account_changes.withdraw(visit.actor, change_id)
    except KlelineError as error:
        page = _refusal(request, visit, error)
        if page is not None:
            raise page from None
        return _page(request, visit, errors=[_error(error, {}, language_of(request))], status=error.status)
    return leave_note(request, redirect(SETTINGS), "dashboard_bank_change_withdrawn")


# The public profile ------------------------------------------------------------------------------------------------


@router.post(PROFILE)
def save_profile(request: Request, form: Form) -> Response:
    """Set what the malls' pages show of the shop: every problem at once, with the values typed."""
    visit = _post(request, form, SETTINGS)
    assert visit.merchant is not None
    language = language_of(request)
    description, website = form.get("description", ""), form.get("website", "").strip()
    typed = {"description": description, "website": website}
    problems: list[KlelineError] = []
    for check, value in ((check_description, description), (check_website, website)):
        try:
            check(value)
        except KlelineError as refused_value:
            problems.append(refused_value)
    if problems:
        errors = [_error(problem, _PROFILE_FIELDS, language) for problem in problems]
        return _page(request, visit, errors=errors, profile=typed, status=400)
    kleline = web_of(request).kleline
    updated = kleline.merchants.describe(visit.merchant.id, description=description, website=website)
    detail = {"description": updated.description, "website": updated.website}
    kleline.merchant_users.record(visit.actor, "profile_changed", updated.id, detail)
    return leave_note(request, redirect(SETTINGS), "dashboard_profile_saved")
