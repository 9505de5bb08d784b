"""The staff page (``/console/staff``), for the roles with ``Power.MANAGE_STAFF`` (admins): every person of the staff
and the invitations pending; invite a person with a role (the new link is shown once, in the answer to the post, for
the admin to send), change a role, disable a person, withdraw an invitation.

Every act goes through ``StaffTeam``, which checks the power again, keeps the last active admin, and writes the
staff audit trail. An unknown id in an address is a 404 page. The forms keep what was typed when refused (never a
secret: there is none here), and show every problem at once.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from kleline.errors import KlelineError, NotFound
from kleline.staff.actor import RoleForbids
from kleline.staff.roles import Power, Role
from kleline.staff_users import NewStaffInvitation, invitation_problems
from kleline.web.console.visits import (
    SIGN_IN,
    ConsoleVisit,
    console_context,
    console_form,
    console_page,
    refused,
    respond,
)
from kleline.web.console.wording import ROLE_NAMES, console_error, leave_note, note_of
from kleline.web.i18n import N_, language_of
from kleline.web.refusals import PageError
from kleline.web.rendering import redirect, render
from kleline.web.security import when
from kleline.web.visits import Answered, Form, web_of

__all__ = ["STAFF", "router"]

router = APIRouter(include_in_schema=False)

STAFF: Final = "/console/staff"
_TITLE: Final = N_("Staff")
_INVITE_FIELDS: Final = {"email": "invite-email", "role": "invite-role"}

AdminPage = Annotated[ConsoleVisit, Depends(console_page(Power.MANAGE_STAFF))]
AdminForm = Annotated[ConsoleVisit, Depends(console_form(Power.MANAGE_STAFF, back=STAFF))]


def _page(
    request: Request,
    visit: ConsoleVisit,
    *,
    errors: list[PageError] | None = None,
    invited: NewStaffInvitation | None = None,
    typed: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    team = web_of(request).kleline.staff_team
    language = language_of(request)
    _ = language.gettext
    people = team.list(visit.actor)
    invitations = team.invitations(visit.actor)
    context: dict[str, Any] = console_context(
        visit,
        _(_TITLE),
        section="staff",
        flash=note_of(request, signed_in=True) if status == 200 and invited is None else None,
        errors=errors or [],
        people=[(person, _(ROLE_NAMES[person.role]), when(person.created_at, language)) for person in people],
        invitations=[
            (invitation, _(ROLE_NAMES[invitation.role]), when(invitation.expires_at, language))
            for invitation in invitations
        ],
        roles=[(role.value, _(ROLE_NAMES[role])) for role in Role],
        invited=invited,
        invited_role=_(ROLE_NAMES[invited.invitation.role]) if invited else "",
        invited_until=when(invited.invitation.expires_at, language) if invited else "",
        typed=typed or {"email": "", "role": Role.SUPPORT.value},
    )
    return respond(request, visit, render(request, "console/staff.html", context, status=status))


@router.get(STAFF)
def staff_page(request: Request, visit: AdminPage) -> Response:
    """The staff and the pending invitations, with the forms that manage them."""
    return _page(request, visit)


def _refusal(request: Request, visit: ConsoleVisit, error: KlelineError) -> Answered | None:
    """A refusal that is a page of its own: not allowed (403, a role changed meanwhile), or unknown (404)."""
    language = language_of(request)
    if isinstance(error, RoleForbids):
        return refused(request, visit, console_error(error, language=language).message)
    if isinstance(error, NotFound):
        return refused(request, visit, console_error(error, language=language).message, status=404)
    return None


@router.post(f"{STAFF}/invite")
def invite(request: Request, form: Form, visit: AdminForm) -> Response:
    """Invite a person by email with a role: the page shows the link to send them, this once."""
    email, role = form.get("email", "").strip(), form.get("role", "")
    typed = {"email": email, "role": role}
    problems = invitation_problems(email, role)
    if not problems:
        try:
            invited = web_of(request).kleline.staff_team.invite(email, role, by=visit.actor)
        except KlelineError as error:
            page = _refusal(request, visit, error)
            if page is not None:
                raise page from None
            problems.append(error)
    if problems:
        status = 409 if problems[0].code == "already_staff" else 400
        errors = [console_error(problem, _INVITE_FIELDS, language_of(request)) for problem in problems]
        return _page(request, visit, errors=errors, typed=typed, status=status)
    return _page(request, visit, invited=invited)


@router.post(STAFF + "/{user_id}/role")
def change_role(request: Request, user_id: str, form: Form, visit: AdminForm) -> Response:
    """Give a person another role (the last active admin keeps its own)."""
    try:
        web_of(request).kleline.staff_team.change_role(user_id, form.get("role", ""), by=visit.actor)
    except KlelineError as error:
        page = _refusal(request, visit, error)
        if page is not None:
            raise page from None
        fields = {"role": f"role-{user_id}"}
        status = 409 if error.status == 409 else 400
        return _page(request, visit, errors=[console_error(error, fields, language_of(request))], status=status)
    return leave_note(request, redirect(STAFF), "console_role_changed")


@router.post(STAFF + "/{user_id}/disable")
def disable(request: Request, user_id: str, form: Form, visit: AdminForm) -> Response:
    """Disable a person: their sessions end, they can no longer sign in (the last active admin stays)."""
    try:
        web_of(request).kleline.staff_team.disable(user_id, by=visit.actor)
    except KlelineError as error:
        page = _refusal(request, visit, error)
        if page is not None:
            raise page from None
        return _page(request, visit, errors=[console_error(error, language=language_of(request))], status=409)
    assert visit.user is not None
    if user_id == visit.user.id:  # an admin who disabled itself: its own session ended with the others
        return redirect(SIGN_IN)
    return leave_note(request, redirect(STAFF), "console_disabled")


@router.post(STAFF + "/invitations/{invitation_id}/withdraw")
def withdraw(request: Request, invitation_id: str, form: Form, visit: AdminForm) -> Response:
    """Withdraw a pending invitation: its link no longer works."""
    try:
        web_of(request).kleline.staff_team.withdraw(invitation_id, by=visit.actor)
    except KlelineError as error:
        page = _refusal(request, visit, error)
        if page is not None:
            raise page from None
        raise
    return leave_note(request, redirect(STAFF), "console_invitation_withdrawn")
