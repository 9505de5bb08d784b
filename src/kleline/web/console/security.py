"""A staff user's own security page (``/console/security``), for every role: the authenticator app (replaced, never
removed: the second factor is mandatory for staff), passkeys (added, listed, removed, never the last second factor:
``kleline.web.console.passkeys``), the password, signing out everywhere, the last sign-ins.

As the dashboard's security page: every form posts to its own address and answers with a redirect and a one-time
note, except the start of a replacement app, whose answer shows the new secret once (a QR code drawn on the server,
in SVG, and the key as text). Starting a replacement asks for a code from the current app. The services decide
everything (``StaffSecurity``) and write the staff audit trail; the page reads forms, shows every problem at once,
and words the refusals. A password or a code is never shown back.
"""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.responses import Response

from kleline.errors import KlelineError
from kleline.ratelimit import RateLimited
from kleline.staff.audit import AuditRecord
from kleline.staff_users import password_change_problems
from kleline.wallet.sca import AuthenticationBlocked, Enrolment
from kleline.web import password_change
from kleline.web.console.sign_in import code_problem, locked_out_page, rate_limit
from kleline.web.console.visits import (
    SIGN_IN,
    ConsoleVisit,
    StaffVisit,
    clear_session_cookie,
    client_address,
    console_context,
    respond,
    set_session_cookie,
    signed_in_staff_post,
)
from kleline.web.console.wording import console_error, leave_note, note_of
from kleline.web.i18n import N_, Language, language_of
from kleline.web.refusals import PageError
from kleline.web.rendering import allow_scripts, redirect, render
from kleline.web.security import passkey_rows, passkeys_usable, qr_code, secret_groups, when
from kleline.web.visits import Form, web_of

__all__ = ["SECURITY", "router", "security_page_for"]

router = APIRouter(include_in_schema=False)

SECURITY: Final = "/console/security"
_TITLE: Final = N_("Security")
_PASSWORD_FIELDS: Final = {
    "current_password": "current_password",
    "new_password": "new_password",
    "password": "new_password",
    "new_password_again": "new_password_again",
}


def _sign_ins(records: list[AuditRecord], language: Language) -> list[tuple[str, str]]:
    """Each sign-in as the page lists it: when, from which address."""
    return [(when(record.at, language), record.address or "") for record in records]


def security_page_for(
    request: Request,
    visit: ConsoleVisit,
    *,
    errors: list[PageError] | None = None,
    enrolment: Enrolment | None = None,
    passkey_name: str = "",
    status: int = 200,
) -> Response:
    kleline = web_of(request).kleline
    security = kleline.staff_security
    language = language_of(request)
    user = visit.user
    assert user is not None
    may_change = kleline.staff_passkeys.may_change(visit.session)
    usable = passkeys_usable(request)
    offer = kleline.staff_passkeys.begin_registration(visit.session) if usable and may_change else None
    passkeys = kleline.staff_passkeys.list(user.id)
    state = security.authenticator_state(user.id)
    context: dict[str, Any] = console_context(
        visit,
        language.gettext(_TITLE),
        section="security",
        errors=errors or [],
        flash=note_of(request, signed_in=True) if status == 200 and enrolment is None else None,
        authenticator=state,
        enrolment=enrolment,
        qr_code=qr_code(enrolment, language) if enrolment else None,
        secret=secret_groups(enrolment.secret) if enrolment else "",
        sign_ins=_sign_ins(security.sign_ins(user.id), language),
        passkeys=passkey_rows(passkeys, language),
        passkeys_usable=usable,
        passkey_offer=offer,
        passkey_name=passkey_name,
        passkey_create_action=f"{SECURITY}/passkeys",
        may_change=may_change,
        # The last second factor stays: its remove button is not offered (the service refuses it anyway).
        last_factor=(1 if state in ("confirmed", "replacing") else 0) + len(passkeys) <= 1,
        next="",
    )
    response = render(request, "console/security.html", context, status=status)
    return respond(request, visit, allow_scripts(response) if offer else response)


@router.get(SECURITY)
def security_page(request: Request, visit: StaffVisit) -> Response:
    """The person's authenticator app, password, sessions and last sign-ins."""
    return security_page_for(request, visit)


def _post(request: Request, form: dict[str, str]) -> ConsoleVisit:
    return signed_in_staff_post(request, form, back=SECURITY)


@router.post(f"{SECURITY}/authenticator")
def start_replacement(request: Request, form: Form) -> Response:
    """A new authenticator app in place of the current one, once a code from the current one is accepted: the page
    shows the new app's secret, this once."""
    visit = _post(request, form)
    problem = code_problem(request, form.get("current_code", ""))
    if problem is not None:
        return security_page_for(
            request, visit, errors=[PageError(problem.message, problem.code, "current_code")], status=400
        )
    try:
        rate_limit(request)
        enrolment = web_of(request).kleline.staff_security.start_replacement(visit.session, form["current_code"])
    except AuthenticationBlocked as blocked:
        return locked_out_page(request, SECURITY, blocked)
    except KlelineError as error:
        shown = console_error(error, language=language_of(request))
        status = error.status if isinstance(error, RateLimited) else 400
        return security_page_for(
            request, visit, errors=[PageError(shown.message, shown.code, "current_code")], status=status
        )
    return security_page_for(request, visit, enrolment=enrolment)


@router.post(f"{SECURITY}/authenticator/new")
def start_authenticator(request: Request, form: Form) -> Response:
    """A first authenticator app beside the person's passkeys: the page shows its secret, this once."""
    visit = _post(request, form)
    try:
        enrolment = web_of(request).kleline.staff_security.start_authenticator(visit.session)
    except KlelineError as error:
        status = error.status if error.status >= 400 else 400
        errors = [console_error(error, language=language_of(request))]
        return security_page_for(request, visit, errors=errors, status=status)
    return security_page_for(request, visit, enrolment=enrolment)


@router.post(f"{SECURITY}/authenticator/confirm")
def confirm_replacement(request: Request, form: Form) -> Response:
    """Confirm the new app with the code it shows now: it replaces the old one."""
    visit = _post(request, form)
    replacing = visit.user is not None and visit.user.authenticator
    problem = code_problem(request, form.get("code", ""))
    if problem is not None:
        return security_page_for(request, visit, errors=[problem], status=400)
    try:
        web_of(request).kleline.staff_security.confirm_replacement(visit.session, form["code"], client_address(request))
    except KlelineError as error:
        return security_page_for(
            request, visit, errors=[console_error(error, {"code": "code"}, language_of(request))], status=400
        )
    note = "console_authenticator_replaced" if replacing else "console_authenticator_ready"
    return leave_note(request, redirect(SECURITY), note)


@router.post(f"{SECURITY}/password")
def change_password(request: Request, form: Form) -> Response:
    """Change the password (the current one asked for): every other session ends; this browser goes on in a new
    one. Every problem is shown at once, and no password is shown back."""
    visit = _post(request, form)
    security = web_of(request).kleline.staff_security
    change = password_change.change_password(
        security, password_change_problems, visit.session, form, client_address(request)
    )
    if change.renewed is not None:
        return leave_note(
            request, set_session_cookie(request, redirect(SECURITY), change.renewed), "console_password_changed"
        )
    errors = [console_error(problem, _PASSWORD_FIELDS, language_of(request)) for problem in change.problems]
    return security_page_for(request, visit, errors=errors, status=400)


@router.post(f"{SECURITY}/sign-out-everywhere")
def sign_out_everywhere(request: Request, form: Form) -> Response:
    """End every session of the person, this browser's too: on to the sign-in page."""
    visit = _post(request, form)
    web_of(request).kleline.staff_security.sign_out_everywhere(visit.session, client_address(request))
    response = clear_session_cookie(request, redirect(f"{SIGN_IN}?{urlencode({'next': SECURITY})}"))
    return leave_note(request, response, "console_signed_out_everywhere")
