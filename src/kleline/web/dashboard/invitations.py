"""Following an invitation link (``/dashboard/invitations/{token}``): who invites, to which role, and the form to
choose a name and a password. Accepted, the person is signed in by the password just chosen, as the sign-in form
would sign it in: straight to the dashboard when its role needs no second factor, else (an owner) on to setting one
up, as a shop's first owner is when it joins.

The token is the link's whole secret: the page never repeats it elsewhere (``Referrer-Policy: same-origin`` keeps it
from other sites), and a link that no longer works says why (used, withdrawn, expired: only its holder learns it).
Accepting counts against the rate limit of opening an account (``kleline.ratelimit``, scope ``sign_up``): it hashes a
password, slow on purpose.
"""

from __future__ import annotations

from typing import Final

from fastapi import APIRouter, Request
from starlette.responses import Response

from kleline.errors import KlelineError
from kleline.merchant_users import Invitation, InvitationUnusable, MerchantUser, acceptance_problems
from kleline.money import Money
from kleline.ratelimit import SIGN_UP, RateLimited
from kleline.web.dashboard.sign_in import after_password
from kleline.web.dashboard.visits import (
    DASHBOARD,
    DashboardVisit,
    client_address,
    dashboard_context,
    dashboard_post,
    dashboard_visit,
    respond,
)
from kleline.web.dashboard.wording import ROLE_DUTIES, ROLE_NAMES, dashboard_error, invitation_problem, leave_note
from kleline.web.i18n import N_, language_of
from kleline.web.refusals import PageError
from kleline.web.rendering import render
from kleline.web.visits import Form, web_of

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

INVITATIONS: Final = "/dashboard/invitations"
_TITLE: Final = N_("Join your shop's dashboard")
_UNUSABLE_TITLE: Final = N_("This invitation cannot be used")
_FIELDS: Final = {"name": "name", "password": "password"}


def _unusable(request: Request, visit: DashboardVisit, error: InvitationUnusable) -> Response:
    language = language_of(request)
    context = dashboard_context(visit, language.gettext(_UNUSABLE_TITLE), message=invitation_problem(error, language))
    return respond(request, visit, render(request, "dashboard/invitation_unusable.html", context, status=404))


def _page(
    request: Request,
    visit: DashboardVisit,
    token: str,
    invitation: Invitation,
    *,
    name: str = "",
    errors: list[PageError] | None = None,
    status: int = 200,
) -> Response:
    language = language_of(request)
    merchant = web_of(request).kleline.merchants.get(invitation.merchant_id)
    context = dashboard_context(
        visit,
        language.gettext(_TITLE),
        invitation=invitation,
        shop_name=merchant.name,
        role_name=language.gettext(ROLE_NAMES[invitation.role]),
        role_duties=language.gettext(ROLE_DUTIES[invitation.role]),
        refund_limit=(
            language.money(Money(invitation.refund_limit, "EUR")) if invitation.refund_limit is not None else None
        ),
        action=f"{INVITATIONS}/{token}",
        name=name,
        errors=errors or [],
    )
    return respond(request, visit, render(request, "dashboard/invitation.html", context, status=status))


def _signed_in(request: Request, visit: DashboardVisit, user: MerchantUser) -> Response:
    """The new account's first session, in place of the visit's, and on to its dashboard or its second factor."""
    session = web_of(request).kleline.merchant_sign_in.open_for_invited(user, visit.session, client_address(request))
    signed = DashboardVisit(session, None, None, visit.address)
    note = "dashboard_account_ready" if session.signed_in else "dashboard_account_ready_set_up"
    return leave_note(request, after_password(request, signed, DASHBOARD), note)


@router.get(INVITATIONS + "/{token}")
def invitation_page(request: Request, token: str) -> Response:
    """The invitation: who invites, to which role, and the form to choose a name and a password."""
    visit = dashboard_visit(request)
    try:
        invitation = web_of(request).kleline.merchant_users.invitation(token)
    except InvitationUnusable as error:
        return _unusable(request, visit, error)
    return _page(request, visit, token, invitation)


@router.post(INVITATIONS + "/{token}")
def accept(request: Request, token: str, form: Form) -> Response:
    """Accept the invitation with the name and password chosen; signed in, on to the dashboard (or an owner's
    second factor)."""
    visit = dashboard_post(request, form, back=f"{INVITATIONS}/{token}")
    users = web_of(request).kleline.merchant_users
    language = language_of(request)
    name, password = form.get("name", ""), form.get("password", "")
    try:
        invitation = users.invitation(token)
    except InvitationUnusable as error:
        return _unusable(request, visit, error)
    problems: list[KlelineError] = []
    try:
        web_of(request).kleline.rate_limits.take(SIGN_UP, client_address(request))
    except RateLimited as refused:
        problems.append(refused)
    else:
        problems.extend(acceptance_problems(name, password))
        if not problems:
            try:
                user = users.accept(token, name, password, address=client_address(request))
            except InvitationUnusable as error:
                return _unusable(request, visit, error)
            except KlelineError as error:
                problems.append(error)
            else:
                return _signed_in(request, visit, user)
    errors = [dashboard_error(problem, _FIELDS, language) for problem in problems]
    status = next((p.status for p in problems if p.code in ("rate_limited", "already_a_member")), 400)
    response = _page(request, visit, token, invitation, name=name, errors=errors, status=status)
    if isinstance(problems[0], RateLimited):
        response.headers["Retry-After"] = str(problems[0].retry_after)
    return response
