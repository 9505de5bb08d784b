"""Following an invitation link (``/console/invitations/{token}``): to which role, and the form to choose a password;
accepted, the new person's session goes straight on to setting up its authenticator app, mandatory before anything.

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
from kleline.ratelimit import SIGN_UP, RateLimited
from kleline.staff_users import StaffInvitation, StaffInvitationUnusable, acceptance_problems
from kleline.web.console.sign_in import AUTHENTICATOR, with_next
from kleline.web.console.visits import (
    CONSOLE,
    ConsoleVisit,
    client_address,
    console_context,
    console_post,
    console_visit,
    respond,
    set_session_cookie,
)
from kleline.web.console.wording import ROLE_DUTIES, ROLE_NAMES, console_error, invitation_problem
from kleline.web.i18n import N_, language_of
from kleline.web.refusals import PageError
from kleline.web.rendering import redirect, render
from kleline.web.visits import Form, web_of

__all__ = ["INVITATIONS", "router"]

router = APIRouter(include_in_schema=False)

INVITATIONS: Final = "/console/invitations"
_TITLE: Final = N_("Join Kleline's staff")
_UNUSABLE_TITLE: Final = N_("This invitation cannot be used")
_FIELDS: Final = {"password": "password"}


def _unusable(request: Request, visit: ConsoleVisit, error: StaffInvitationUnusable) -> Response:
    language = language_of(request)
    context = console_context(visit, language.gettext(_UNUSABLE_TITLE), message=invitation_problem(error, language))
    return respond(request, visit, render(request, "console/invitation_unusable.html", context, status=404))


def _page(
    request: Request, visit: ConsoleVisit, token: str, invitation: StaffInvitation, *,
    errors: list[PageError] | None = None, status: int = 200,
) -> Response:  # fmt: skip
    language = language_of(request)
    context = console_context(
        visit,
        language.gettext(_TITLE),
        invitation=invitation,
        invited_role=language.gettext(ROLE_NAMES[invitation.role]),
        invited_duties=language.gettext(ROLE_DUTIES[invitation.role]),
        action=f"{INVITATIONS}/{token}",
        errors=errors or [],
    )
    return respond(request, visit, render(request, "console/invitation.html", context, status=status))


@router.get(INVITATIONS + "/{token}")
def invitation_page(request: Request, token: str) -> Response:
    """The invitation: to which role, and the form to choose a password."""
    visit = console_visit(request)
    try:
        invitation = web_of(request).kleline.staff_team.invitation(token)
    except StaffInvitationUnusable as error:
        return _unusable(request, visit, error)
    return _page(request, visit, token, invitation)


@router.post(INVITATIONS + "/{token}")
def accept(request: Request, token: str, form: Form) -> Response:
    """Accept the invitation with the password chosen: on to setting up the authenticator app."""
    visit = console_post(request, form, back=f"{INVITATIONS}/{token}")
    team = web_of(request).kleline.staff_team
    password = form.get("password", "")
    try:
        invitation = team.invitation(token)
    except StaffInvitationUnusable as error:
        return _unusable(request, visit, error)
    problems: list[KlelineError] = []
    try:
        web_of(request).kleline.rate_limits.take(SIGN_UP, client_address(request))
    except RateLimited as refused:
        problems.append(refused)
    else:
        problems.extend(acceptance_problems(password))
        if not problems:
            try:
                session = team.accept(token, password, previous=visit.session, address=client_address(request))
            except StaffInvitationUnusable as error:
                return _unusable(request, visit, error)
            except KlelineError as error:
                problems.append(error)
            else:
                return set_session_cookie(request, redirect(with_next(AUTHENTICATOR, CONSOLE)), session)
    errors = [console_error(problem, _FIELDS, language_of(request)) for problem in problems]
    status = next((p.status for p in problems if p.code in ("rate_limited", "already_staff")), 400)
    response = _page(request, visit, token, invitation, errors=errors, status=status)
    if isinstance(problems[0], RateLimited):
        response.headers["Retry-After"] = str(problems[0].retry_after)
    return response
