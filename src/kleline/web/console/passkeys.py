"""A staff user's passkeys, as posts of the pages that offer them (``sign_in.code_page_for``, ``sign_in.set_up_page``,
``security.security_page_for``):

- ``POST /console/sign-in/passkey``: the sign-in's second step given with a passkey;
- ``POST /console/sign-in/authenticator/passkey``: a new staff member's first (mandatory) second factor registered as
  a passkey, instead of an authenticator app: signed in;
- ``POST /console/security/passkeys`` and ``POST /console/security/passkeys/{id}/remove``: a passkey added or
  removed from the security page, in a session whose second factor is fresh (never the last second factor).

The page's script (``/static/passkeys.js``, the customers') runs the ceremony and fills the form's ``credential``;
``kleline.staff_users.StaffPasskeys`` verifies everything and writes the staff audit trail. A refused passkey gets one
sentence whatever the reason, as a wrong password does; attempts count against the sign-in's rate limit per client,
as codes do.
"""

from __future__ import annotations

from typing import Final

from fastapi import APIRouter, Request
from starlette.responses import Response

from kleline.errors import KlelineError
from kleline.ratelimit import RateLimited
from kleline.staff_users import ConsoleStepMissing, LastSecondFactor
from kleline.web.console.security import SECURITY, security_page_for
from kleline.web.console.sign_in import (
    AUTHENTICATOR,
    CODE,
    code_page_for,
    rate_limit,
    second_step_post,
    set_up_page,
    with_next,
)
from kleline.web.console.visits import (
    SIGN_IN,
    client_address,
    respond,
    set_session_cookie,
    signed_in_staff_post,
)
from kleline.web.console.wording import console_error, leave_note
from kleline.web.i18n import language_of
from kleline.web.passkey_forms import passkey_problems, passkey_refused
from kleline.web.rendering import redirect
from kleline.web.visits import Form, web_of

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

_FIELDS: Final = {"name": "name", "credential": "name", "ceremony_id": "name", "passkeys": "name"}


@router.post(f"{SIGN_IN}/passkey")
def pass_with_passkey(request: Request, form: Form) -> Response:
    """The sign-in's second step with a passkey: signed in, and on to ``next``."""
    visit, next_url = second_step_post(request, form, CODE)
    language = language_of(request)
    problems = passkey_problems(form, language, named=False)
    if problems:
        return code_page_for(request, visit, next_url, errors=problems, status=400)
    try:
        rate_limit(request)
        session = web_of(request).kleline.staff_passkeys.pass_second_factor(
            visit.session, form.get("ceremony_id", ""), form["credential"], client_address(request)
        )
    except ConsoleStepMissing:  # the session ended, or moved on, meanwhile
        return respond(request, visit, redirect(with_next(SIGN_IN, next_url)))
    except KlelineError as error:
        limited = isinstance(error, RateLimited)
        errors = [console_error(error, language=language) if limited else passkey_refused(error, language)]
        status = error.status if limited else 400
        return code_page_for(request, visit, next_url, errors=errors, status=status, error=error)
    return set_session_cookie(request, redirect(next_url), session)


@router.post(f"{AUTHENTICATOR}/passkey")
def register_at_sign_in(request: Request, form: Form) -> Response:
    """A new staff member without a second factor registers a passkey: signed in, and on to ``next``."""
    visit, next_url = second_step_post(request, form, AUTHENTICATOR)
    language = language_of(request)
    name = form.get("name", "")
    errors = passkey_problems(form, language, named=True)
    if not errors:
        try:
            _, session = web_of(request).kleline.staff_passkeys.register(
                visit.session, form.get("ceremony_id", ""), form["credential"], name, client_address(request)
            )
        except ConsoleStepMissing:
            return respond(request, visit, redirect(with_next(SIGN_IN, next_url)))
        except KlelineError as error:
            errors.append(console_error(error, _FIELDS, language))
        else:
            response = set_session_cookie(request, redirect(next_url), session)
            return leave_note(request, response, "console_passkey_ready")
    return set_up_page(request, visit, next_url, errors=errors, status=400, passkey_name=name)


@router.post(f"{SECURITY}/passkeys")
def add_passkey(request: Request, form: Form) -> Response:
    """Keep the passkey the browser's authenticator just made (the page's script filled ``credential``)."""
    visit = signed_in_staff_post(request, form, back=SECURITY)
    language = language_of(request)
    name = form.get("name", "")
    errors = passkey_problems(form, language, named=True)
    if not errors:
        try:
            web_of(request).kleline.staff_passkeys.register(
                visit.session, form.get("ceremony_id", ""), form["credential"], name, client_address(request)
            )
        except KlelineError as error:
            errors.append(console_error(error, _FIELDS, language))
        else:
            return leave_note(request, redirect(SECURITY), "console_passkey_added")
    return security_page_for(request, visit, errors=errors, passkey_name=name, status=400)


@router.post(SECURITY + "/passkeys/{passkey_id}/remove")
def remove_passkey(request: Request, passkey_id: str, form: Form) -> Response:
    """Remove one of the person's passkeys (never its last second factor)."""
    visit = signed_in_staff_post(request, form, back=SECURITY)
    try:
        web_of(request).kleline.staff_passkeys.remove(visit.session, passkey_id, client_address(request))
    except KlelineError as error:
        status = 409 if isinstance(error, LastSecondFactor) else error.status if error.status >= 400 else 400
        errors = [console_error(error, language=language_of(request))]
        return security_page_for(request, visit, errors=errors, status=status)
    return leave_note(request, redirect(SECURITY), "console_passkey_removed")
