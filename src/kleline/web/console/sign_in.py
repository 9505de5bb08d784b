"""Signing in to the console, as pages: the password, then the second factor, always: a code from the authenticator
app or a passkey (the page offers those the person has), or, for a person who has neither yet, setting one up (an
authenticator app or a passkey); signing out. The passkeys' posts are ``kleline.web.console.passkeys``'.

The pages only read forms and word refusals; ``kleline.staff_users.StaffSignIn`` decides every step. The sign-in
form has the dashboard's fields (``email``, ``password``) and its answers: one refusal, worded alike, for an unknown
email, a wrong password and a locked account, and the same rate limit per client (``kleline.ratelimit``, scope
``sign_in``, which codes count against too). Each step up answers with a new session's cookie. A new authenticator's
secret is shown once, as a QR code drawn on the server (SVG) and as text, in the answer to the post that made it.

``next`` (where to go once signed in) is a console path only (``console_next``).
"""

from __future__ import annotations

from typing import Any, Final

from fastapi import APIRouter, Request
from starlette.responses import Response

from kleline.errors import KlelineError
from kleline.ratelimit import RateLimited
from kleline.wallet.sca import AuthenticationBlocked, Enrolment
from kleline.web.console.visits import (
    CONSOLE,
    SIGN_IN,
    STEPS,
    ConsoleVisit,
    clear_session_cookie,
    client_address,
    console_context,
    console_next,
    console_post,
    console_visit,
    respond,
    set_session_cookie,
)
from kleline.web.console.wording import console_error, leave_note, note_of
from kleline.web.i18n import N_, language_of
from kleline.web.refusals import PageError
from kleline.web.rendering import allow_scripts, redirect, render
from kleline.web.security import passkeys_usable, qr_code, secret_groups
from kleline.web.sign_in_steps import code_problem, rate_limit, refusal_status, with_next, with_retry_after
from kleline.web.visits import Answered, Form, web_of

__all__ = [
    "AUTHENTICATOR",
    "CODE",
    "code_page_for",
    "code_problem",
    "locked_out_page",
    "rate_limit",
    "router",
    "second_step_post",
    "set_up_page",
    "with_next",
]

router = APIRouter(include_in_schema=False)

CODE: Final = STEPS["verify"]
AUTHENTICATOR: Final = STEPS["enrol"]
_SIGN_IN_TITLE: Final = N_("Sign in to Kleline's console")
_CODE_TITLE: Final = N_("Enter your code")
_ENROL_TITLE: Final = N_("Secure your sign-in")
_PASSKEY_TITLE: Final = N_("Use your passkey")
_CODE_FIELDS: Final = {"code": "code"}


# The password --------------------------------------------------------------------------------------------------------


def _sign_in_page(
    request: Request, visit: ConsoleVisit, next_url: str, *, email: str = "", errors: list[PageError] | None = None,
    status: int = 200, error: KlelineError | None = None,
) -> Response:  # fmt: skip
    title = language_of(request).gettext(_SIGN_IN_TITLE)
    flash = note_of(request, signed_in=False) if status == 200 else None
    context = console_context(visit, title, next=next_url, email=email, errors=errors or [], flash=flash)
    return with_retry_after(
        respond(request, visit, render(request, "console/sign_in.html", context, status=status)), error
    )


@router.get(SIGN_IN)
def sign_in_page(request: Request, next: str | None = None) -> Response:
    """The console's sign-in form (a signed-in staff user goes straight on)."""
    visit = console_visit(request)
    next_url = console_next(next)
    if visit.user is not None:
        return redirect(next_url)
    return _sign_in_page(request, visit, next_url)


@router.post(SIGN_IN)
def sign_in(request: Request, form: Form) -> Response:
    """Check the email and password: on to the second factor (a code, or an authenticator to set up)."""
    next_url = console_next(form.get("next"))
    visit = console_post(request, form, back=with_next(SIGN_IN, next_url))
    _ = language_of(request).gettext
    email = form.get("email", "").strip()
    errors: list[PageError] = []
    if not email:
        errors.append(PageError(_("Enter your email address"), "validation_error", "email"))
    if not form.get("password"):
        errors.append(PageError(_("Enter your password"), "validation_error", "password"))
    refusal: KlelineError | None = None
    if not errors:
        sign_in_service = web_of(request).kleline.staff_sign_in
        try:
            rate_limit(request)
            session = sign_in_service.check_password(visit.session, email, form["password"], client_address(request))
        except KlelineError as error:
            refusal = error
            errors.append(console_error(error, language=language_of(request)))
        else:
            step = sign_in_service.next_step(session)
            return set_session_cookie(request, redirect(with_next(STEPS[step], next_url)), session)
    status = refusal_status(refusal) if refusal is not None else 400
    return _sign_in_page(request, visit, next_url, email=email, errors=errors, status=status, error=refusal)


@router.post(f"{CONSOLE}/sign-out")
def sign_out(request: Request, form: Form) -> Response:
    """End the console's session; the browser forgets its cookie."""
    visit = console_post(request, form, back=CONSOLE)
    web_of(request).kleline.staff_sign_in.sign_out(visit.session, client_address(request))
    response = clear_session_cookie(request, redirect(SIGN_IN))
    return leave_note(request, response, "console_signed_out")


def _fresh_visit(request: Request) -> ConsoleVisit:
    """A new anonymous visit in place of a session that just ended (its cookie names nothing any more)."""
    session = web_of(request).kleline.staff_sign_in.start()
    return ConsoleVisit(session, None, client_address(request), language_of(request), new=True)


def locked_out_page(request: Request, next_url: str, blocked: AuthenticationBlocked) -> Response:
    """The sign-in form in a fresh session, saying why: a fifth wrong code in a row locked the person out for a
    while and ended its sessions (the old cookie names nothing any more)."""
    errors = [console_error(blocked, language=language_of(request))]
    return _sign_in_page(request, _fresh_visit(request), next_url, errors=errors, status=403)


def _pending(request: Request, step: str, next_url: str) -> ConsoleVisit:
    """The visit of a second-factor step page: its session must be at that step, else back to the start."""
    visit = console_visit(request)
    if visit.user is not None:
        raise Answered(redirect(next_url))
    session = visit.session
    if session.stage != "second_factor" or web_of(request).kleline.staff_sign_in.next_step(session) != step:
        raise Answered(respond(request, visit, redirect(with_next(SIGN_IN, next_url))))
    return visit


def second_step_post(request: Request, form: dict[str, str], page: str) -> tuple[ConsoleVisit, str]:
    """The visit of a post of a second-factor step's ``page``, and its ``next``: ``Answered`` with a redirect to
    ``next`` once signed in, or back to the start when the session was signed out meanwhile."""
    next_url = console_next(form.get("next"))
    visit = console_post(request, form, back=with_next(page, next_url))
    if visit.user is not None:
        raise Answered(redirect(next_url))
    if visit.session.stage != "second_factor" or visit.session.user is None:
        raise Answered(respond(request, visit, redirect(with_next(SIGN_IN, next_url))))
    return visit, next_url


# The second step: a code ---------------------------------------------------------------------------------------------


def code_page_for(
    request: Request, visit: ConsoleVisit, next_url: str, *, errors: list[PageError] | None = None, status: int = 200,
    error: KlelineError | None = None,
) -> Response:  # fmt: skip
    """The sign-in's second step: a passkey (a ceremony begun, where the person has one and the browser can use
    it), a code, or both, as the person has them."""
    user = visit.session.user
    assert user is not None
    offer = None
    if user.passkey and passkeys_usable(request) and not isinstance(error, RateLimited):
        offer = web_of(request).kleline.staff_passkeys.begin_sign_in(visit.session)
    context = console_context(
        visit,
        language_of(request).gettext(_PASSKEY_TITLE if offer and not user.authenticator else _CODE_TITLE),
        next=next_url,
        errors=errors or [],
        passkey_offer=offer,
        passkey_action=f"{SIGN_IN}/passkey",
        code_form=user.authenticator,
    )
    response = render(request, "console/code.html", context, status=status)
    return with_retry_after(respond(request, visit, allow_scripts(response) if offer else response), error)


@router.get(CODE)
def code_page(request: Request, next: str | None = None) -> Response:
    """The second step of a sign-in: the code the person's authenticator app shows."""
    next_url = console_next(next)
    return code_page_for(request, _pending(request, "verify", next_url), next_url)


@router.post(CODE)
def pass_code(request: Request, form: Form) -> Response:
    """Check the code: signed in, and on to ``next``; a wrong code comes back with the attempts left."""
    visit, next_url = second_step_post(request, form, CODE)
    language = language_of(request)
    problem = code_problem(request, form.get("code", ""))
    if problem is not None:
        return code_page_for(request, visit, next_url, errors=[problem], status=400)
    try:
        rate_limit(request)
        session = web_of(request).kleline.staff_sign_in.pass_second_factor(
            visit.session, form["code"], client_address(request)
        )
    except AuthenticationBlocked as blocked:  # locked out, this session ended: start again, later
        return locked_out_page(request, next_url, blocked)
    except KlelineError as error:
        errors = [console_error(error, _CODE_FIELDS, language)]
        return code_page_for(request, visit, next_url, errors=errors, status=refusal_status(error), error=error)
    return set_session_cookie(request, redirect(next_url), session)


# The second step: a first authenticator ----------------------------------------------------------------------------


def set_up_page(
    request: Request, visit: ConsoleVisit, next_url: str, *, enrolment: Enrolment | None = None,
    errors: list[PageError] | None = None, status: int = 200, passkey_name: str = "",
) -> Response:  # fmt: skip
    """A first second factor to set up: an authenticator app (its secret shown once, in ``enrolment``) or a
    passkey (a ceremony begun, where the browser can use one)."""
    language = language_of(request)
    offer = None
    if enrolment is None and passkeys_usable(request):
        offer = web_of(request).kleline.staff_passkeys.begin_registration(visit.session)
    context: dict[str, Any] = console_context(
        visit,
        language.gettext(_ENROL_TITLE),
        next=next_url,
        enrolment=enrolment,
        qr_code=qr_code(enrolment, language) if enrolment else None,
        secret=secret_groups(enrolment.secret) if enrolment else "",
        errors=errors or [],
        passkey_offer=offer,
        passkey_name=passkey_name,
        passkey_create_action=f"{AUTHENTICATOR}/passkey",
    )
    response = render(request, "console/authenticator.html", context, status=status)
    return respond(request, visit, allow_scripts(response) if offer else response)


@router.get(AUTHENTICATOR)
def authenticator_page(request: Request, next: str | None = None) -> Response:
    """A person without an authenticator app must set one up before anything else: why, and the button that
    starts."""
    next_url = console_next(next)
    return set_up_page(request, _pending(request, "enrol", next_url), next_url)


@router.post(AUTHENTICATOR)
def start_enrolment(request: Request, form: Form) -> Response:
    """A new authenticator: the page shows its secret, this once, and asks for a first code."""
    next_url = console_next(form.get("next"))
    visit = console_post(request, form, back=with_next(AUTHENTICATOR, next_url))
    if visit.user is not None:
        return redirect(next_url)
    try:
        enrolment = web_of(request).kleline.staff_sign_in.enrol(visit.session)
    except KlelineError as error:
        if visit.session.user is None:
            return respond(request, visit, redirect(with_next(SIGN_IN, next_url)))
        errors = [console_error(error, language=language_of(request))]
        return set_up_page(request, visit, next_url, errors=errors, status=409)
    return set_up_page(request, visit, next_url, enrolment=enrolment)


@router.post(f"{AUTHENTICATOR}/confirm")
def confirm_enrolment(request: Request, form: Form) -> Response:
    """Confirm the new authenticator with the code it shows now: signed in, and on to ``next``."""
    visit, next_url = second_step_post(request, form, AUTHENTICATOR)
    problem = code_problem(request, form.get("code", ""))
    if problem is not None:
        return set_up_page(request, visit, next_url, errors=[problem], status=400)
    try:
        session = web_of(request).kleline.staff_sign_in.confirm_enrolment(
            visit.session, form["code"], client_address(request)
        )
    except KlelineError as error:
        errors = [console_error(error, _CODE_FIELDS, language_of(request))]
        return set_up_page(request, visit, next_url, errors=errors, status=400)
    response = set_session_cookie(request, redirect(next_url), session)
    return leave_note(request, response, "console_authenticator_ready")
