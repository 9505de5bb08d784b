"""The team's settings (``/dashboard/settings/users``) and the audit trail (``/dashboard/settings/activity``).

Every user of the shop sees who else is in its team and the invitations pending; owners also invite (the new link is
shown once, in the answer to the post, for the owner to send), change roles and refund limits, remove people and
withdraw invitations. The audit trail is for owners only. Every act goes through ``MerchantUsers``, which checks the
role against the permission table and the objects against the signed-in user's merchant: another merchant's user or
invitation id in an address is a 404, as an unknown one.

A refund limit is typed in euros (``50`` or ``50.00``) and stored in cents; it only means something for the support
role, so a form that gives another role ignores the limit typed beside it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from fastapi import APIRouter, Request
from starlette.responses import Response

from kleline.clock import epoch_us, from_epoch_us
from kleline.errors import KlelineError, NotFound
from kleline.merchant_users import (
    ROLES,
    AuditRecord,
    InvalidMerchantUser,
    NewInvitation,
    NotAllowed,
    invitation_problems,
)
from kleline.merchant_users.model import REFUND_LIMIT_CURRENCY
from kleline.money import Money
from kleline.reports.tabular import decimal_text
from kleline.web.dashboard.settings import shown_iban
from kleline.web.dashboard.visits import (
    DashboardVisit,
    dashboard_context,
    refused,
    require,
    respond,
    signed_in_merchant_post,
    signed_in_merchant_user,
)
from kleline.web.dashboard.wording import (
    ACTION_NAMES,
    ROLE_NAMES,
    SIGN_IN_METHODS,
    dashboard_error,
    leave_note,
    note_of,
)
from kleline.web.i18n import N_, Language, language_of
from kleline.web.refusals import PageError
from kleline.web.rendering import redirect, render
from kleline.web.security import when
from kleline.web.visits import Answered, Form, web_of

__all__ = ["ACTIVITY", "USERS", "router"]

router = APIRouter(include_in_schema=False)

USERS: Final = "/dashboard/settings/users"
INVITATIONS: Final = "/dashboard/settings/invitations"
ACTIVITY: Final = "/dashboard/settings/activity"
_USERS_TITLE: Final = N_("Users and roles")
_ACTIVITY_TITLE: Final = N_("Activity")
_PAGE: Final = 50


def _refund_limit(role: str, text: str) -> int | None:
    """The limit typed in euros, in cents, for the support role (None for the others, or when left empty)."""
    if role != "support" or not text.strip():
        return None
    try:
        return Money.parse(text.replace(",", ".").replace("€", "").strip(), "EUR").minor
    except ValueError:
        raise InvalidMerchantUser("refund_limit: an amount in euros", param="refund_limit") from None


def _users_page(
    request: Request,
    visit: DashboardVisit,
    *,
    errors: list[PageError] | None = None,
    invited: NewInvitation | None = None,
    typed: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    kleline = web_of(request).kleline
    language = language_of(request)
    users = kleline.merchant_users.list(visit.actor)
    invitations = kleline.merchant_users.invitations(visit.actor)
    context: dict[str, Any] = dashboard_context(
        visit,
        language.gettext(_USERS_TITLE),
        section="users",
        flash=note_of(request, signed_in=True) if status == 200 and invited is None else None,
        errors=errors or [],
        users=[
            (
                user,
                _limit(user.refund_limit, language) if user.role == "support" else "",
                # The limit as its field shows it (12.50): exact, from the cents, never through a float.
                decimal_text(user.refund_limit, REFUND_LIMIT_CURRENCY) if user.refund_limit is not None else "",
            )
            for user in users
        ],
        invitations=[
            (
                invitation,
                language.gettext(ROLE_NAMES[invitation.role]),
                when(invitation.expires_at, language),
                _limit(invitation.refund_limit, language) if invitation.role == "support" else "",
            )
            for invitation in invitations
        ],
        roles=[(role, language.gettext(ROLE_NAMES[role])) for role in ROLES],
        role_names={role: language.gettext(name) for role, name in ROLE_NAMES.items()},
        may_manage=visit.can("manage_users"),
        may_invite=visit.can("invite"),
        invited=invited,
        invited_role=language.gettext(ROLE_NAMES[invited.invitation.role]) if invited else "",
        invited_until=when(invited.invitation.expires_at, language) if invited else "",
        typed=typed or {"email": "", "role": "accountant", "refund_limit": ""},
    )
    return respond(request, visit, render(request, "dashboard/users.html", context, status=status))


def _limit(minor: int | None, language: Language) -> str:
    return language.money(Money(minor or 0, "EUR"))


@router.get(USERS)
def users_page(request: Request) -> Response:
    """The shop's users and pending invitations; for owners, the forms that manage them."""
    visit = signed_in_merchant_user(request)
    require(request, visit, "read")
    return _users_page(request, visit)


def _refusal(request: Request, visit: DashboardVisit, error: KlelineError) -> Answered | None:
    """A refusal that is a page of its own: not allowed (403), or not this shop's (404)."""
    language = language_of(request)
    if isinstance(error, NotAllowed):
        return refused(request, visit, dashboard_error(error, language=language).message)
    if isinstance(error, NotFound):
        return refused(request, visit, dashboard_error(error, language=language).message, status=404)
    return None


@router.post(f"{USERS}/invite")
def invite(request: Request, form: Form) -> Response:
    """Invite a person by email with a role: the page shows the link to send them, this once."""
    visit = signed_in_merchant_post(request, form, back=USERS)
    require(request, visit, "invite")
    language = language_of(request)
    email, role, limit_text = form.get("email", "").strip(), form.get("role", ""), form.get("refund_limit", "")
    typed = {"email": email, "role": role, "refund_limit": limit_text}
    fields = {"email": "invite-email", "role": "invite-role", "refund_limit": "invite-refund_limit"}
    problems: list[KlelineError] = []
    limit = None
    try:
        limit = _refund_limit(role, limit_text)
    except InvalidMerchantUser as refused_limit:
        problems.append(refused_limit)
    problems = invitation_problems(email, role, limit) + problems  # every problem at once, in the form's order
    if not problems:
        assert visit.merchant is not None
        try:
            invited = web_of(request).kleline.merchant_users.invite(
                visit.merchant.id, email, role, limit, by=visit.actor
            )
        except KlelineError as error:
            page = _refusal(request, visit, error)
            if page is not None:
                raise page from None
            problems.append(error)
    if problems:
        status = 409 if problems[0].code == "already_a_member" else 400
        errors = [dashboard_error(problem, fields, language) for problem in problems]
        return _users_page(request, visit, errors=errors, typed=typed, status=status)
    return _users_page(request, visit, invited=invited)


@router.post(USERS + "/{user_id}/role")
def change_role(request: Request, user_id: str, form: Form) -> Response:
    """Give a user another role (and a support user its refund limit)."""
    visit = signed_in_merchant_post(request, form, back=USERS)
    require(request, visit, "manage_users")
    role = form.get("role", "")
    fields = {"role": f"role-{user_id}", "refund_limit": f"refund_limit-{user_id}"}
    try:
        limit = _refund_limit(role, form.get("refund_limit", ""))
        web_of(request).kleline.merchant_users.change_role(visit.actor, user_id, role, limit)
    except KlelineError as error:
        page = _refusal(request, visit, error)
        if page is not None:
            raise page from None
        status = 409 if error.code == "last_owner" else 400
        return _users_page(request, visit, errors=[dashboard_error(error, fields, language_of(request))], status=status)
    return leave_note(request, redirect(USERS), "dashboard_role_changed")


@router.post(USERS + "/{user_id}/remove")
def remove(request: Request, user_id: str, form: Form) -> Response:
    """Remove a user from the team: its sessions end."""
    visit = signed_in_merchant_post(request, form, back=USERS)
    require(request, visit, "manage_users")
    try:
        web_of(request).kleline.merchant_users.remove(visit.actor, user_id)
    except KlelineError as error:
        page = _refusal(request, visit, error)
        if page is not None:
            raise page from None
        return _users_page(request, visit, errors=[dashboard_error(error, language=language_of(request))], status=409)
    assert visit.user is not None
    if user_id == visit.user.id:  # an owner who left the team: its own session ended with the others
        return redirect("/dashboard/sign-in")
    return leave_note(request, redirect(USERS), "dashboard_user_removed")


@router.post(INVITATIONS + "/{invitation_id}/withdraw")
def withdraw(request: Request, invitation_id: str, form: Form) -> Response:
    """Withdraw a pending invitation: its link no longer works."""
    visit = signed_in_merchant_post(request, form, back=USERS)
    require(request, visit, "manage_users")
    try:
        web_of(request).kleline.merchant_users.withdraw(visit.actor, invitation_id)
    except KlelineError as error:
        page = _refusal(request, visit, error)
        if page is not None:
            raise page from None
        raise
    return leave_note(request, redirect(USERS), "dashboard_invitation_withdrawn")


# The audit trail -----------------------------------------------------------------------------------------------------


def _cursor(before: str | None) -> tuple[datetime, str] | None:
    """``<epoch µs>_<record id>``, as the page's "older" link writes it; anything else starts from the newest."""
    if not before:
        return None
    at, _, record_id = before.partition("_")
    if not at.isdigit() or not record_id.startswith("aud_") or len(before) > 80:
        return None
    return from_epoch_us(int(at)), record_id


def _described(record: AuditRecord, language: Language) -> str:
    """What the record's details say, worded for the page."""
    _ = language.gettext
    detail = record.detail

    def role(key: str) -> str:
        value = detail.get(key)
        return _(ROLE_NAMES[value]) if isinstance(value, str) and value in ROLE_NAMES else str(value or "")

    email = str(detail.get("email") or "")
    if record.action in ("invitation_created", "invitation_withdrawn"):
        return _("%(email)s, as %(role)s") % {"email": email, "role": role("role")}
    if record.action == "invitation_accepted":
        return _("as %(role)s") % {"role": role("role")}
    if record.action == "user_role_changed":
        return _("%(email)s: from %(old)s to %(new)s") % {"email": email, "old": role("from"), "new": role("to")}
    if record.action == "user_removed":
        return email
    if record.action.startswith("api_key_") and detail.get("last4"):  # the developers section's
        label = f" ({detail['label']})" if detail.get("label") else ""
        return f"sk_…{detail['last4']}{label}"
    if record.action.startswith("webhook_endpoint_") or record.action == "webhook_secret_rotated":
        return str(detail.get("url") or record.object_id or "")
    if record.action.startswith("bank_account_"):  # the settings' (the IBAN is recorded masked)
        iban = str(detail.get("iban") or "")
        shown = shown_iban(iban) if len(iban) > 6 else iban
        return f"{shown}: {detail['reason']}" if detail.get("reason") else shown
    if record.action == "profile_changed":
        return str(detail.get("website") or "")
    if record.action == "offer_sent":  # the offers' (kleline.web.dashboard.offers)
        return str(detail.get("title") or "")
    if record.action == "statement_downloaded":
        return f"{record.object_id}, {str(detail.get('format') or '').upper()}"
    if record.action in ("passkey_added", "passkey_removed"):  # the security page's
        return str(detail.get("name") or "")
    if record.action in ("signed_in", "second_factor_confirmed") and detail.get("method") in SIGN_IN_METHODS:
        return _(SIGN_IN_METHODS[str(detail["method"])])
    return record.object_id or ""


@router.get(ACTIVITY)
def activity_page(request: Request, before: str | None = None) -> Response:
    """Who did what on the shop's dashboard, when, from where: newest first, fifty a page (owners only)."""
    visit = signed_in_merchant_user(request)
    require(request, visit, "activity")
    language = language_of(request)
    records = web_of(request).kleline.merchant_users.activity(visit.actor, limit=_PAGE + 1, before=_cursor(before))
    shown = records[:_PAGE]
    older = None
    if len(records) > _PAGE:
        last = shown[-1]
        older = f"{ACTIVITY}?before={epoch_us(last.at)}_{last.id}"
    lines = [
        (
            record,
            when(record.at, language),
            language.gettext(ACTION_NAMES[record.action]) if record.action in ACTION_NAMES else record.action,
            _described(record, language),
        )
        for record in shown
    ]
    context = dashboard_context(
        visit, language.gettext(_ACTIVITY_TITLE), section="activity", lines=lines, older=older, first=before is None
    )
    return respond(request, visit, render(request, "dashboard/activity.html", context))
