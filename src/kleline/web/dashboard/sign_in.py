"""Signing in to the dashboard, as pages: the password, then a second factor (a code, or a passkey: the page offers
those the user has) or, for an owner without any, a new one (an authenticator app, or a passkey); giving the second
factor again before a sensitive act; signing out. The passkeys' posts are ``kleline.web.dashboard.passkeys``'.

The pages only read forms and word refusals; ``kleline.merchant_users.MerchantSignIn`` decides every step. The
sign-in form has the customer's fields (``email``, ``password``) and the customer's answers: one refusal, worded
alike, for an unknown email, a wrong password and a locked account, and the same rate limit per client
(``kleline.ratelimit``, scope ``sign_in``, which codes count against too). Each step up answers with a new
session's cookie. A new authenticator's secret is shown once, as a QR code drawn on the server (SVG) and as text,
in the answer to the post that made it (as the shopper's security page does).

``next`` (where to go once signed in) is a dashboard path only (``dashboard_next``).
"""

from __future__ import annotations

from typing import Any, Final

from fastapi import APIRouter, Request
from starlette.responses import Response

from kleline.errors import KlelineError
from kleline.merchant_users import SecondFactorRequired, SignInStepMissing
from kleline.ratelimit import RateLimited
from kleline.wallet.sca import AuthenticationBlocked, Enrolment
from kleline.web.dashboard.visits import (
    CONFIRM,
    DASHBOARD,
    SIGN_IN,
    DashboardVisit,
    clear_session_cookie,
    client_address,
    dashboard_context,
    dashboard_next,
    dashboard_post,
    dashboard_visit,
    respond,
    set_session_cookie,
    signed_in_merchant_post,
    signed_in_merchant_user,
)
from kleline.web.dashboard.wording import dashboard_error, leave_note, note_of
from kleline.web.i18n import N_, language_of
from kleline.web.refusals import PageError
from kleline.web.rendering import allow_scripts, redirect, render
from kleline.web.security import passkeys_usable, qr_code, secret_groups
from kleline.web.sign_in_steps import code_problem, rate_limit, refusal_status, with_next, with_retry_after
from kleline.web.visits import Answered, Form, web_of

__all__ = [
    "AUTHENTICATOR",
    "CODE",
    "CONFIRM_AUTHENTICATOR",
    "after_password",
    "rate_limit",
    "router",
    "second_factor_page",
    "set_up_page",
    "with_next",
]

router = APIRouter(include_in_schema=False)

CODE: Final = f"{SIGN_IN}/code"
AUTHENTICATOR: Final = f"{SIGN_IN}/authenticator"
CONFIRM_AUTHENTICATOR: Final = f"{CONFIRM}/authenticator"
_SIGN_IN_TITLE: Final = N_("Sign in to your shop's dashboard")
_CODE_TITLE: Final = N_("Enter your code")
_PASSKEY_TITLE: Final = N_("Use your passkey")
_ENROL_TITLE: Final = N_("Secure your sign-in")
_CONFIRM_TITLE: Final = N_("Confirm it is you")
_CODE_FIELDS: Final = {"code": "code"}


# The password --------------------------------------------------------------------------------------------------------


def _sign_in_page(
    request: Request, visit: DashboardVisit, next_url: str, *, email: str = "", errors: list[PageError] | None = None,
    status: int = 200, error: KlelineError | None = None,
) -> Response:  # fmt: skip
    title = language_of(request).gettext(_SIGN_IN_TITLE)
    flash = note_of(request, signed_in=False) if status == 200 else None
    context = dashboard_context(visit, title, next=next_url, email=email, errors=errors or [], flash=flash)
    return with_retry_after(
        respond(request, visit, render(request, "dashboard/sign_in.html", context, status=status)), error
    )


@router.get(SIGN_IN)
def sign_in_page(request: Request, next: str | None = None) -> Response:
    """The dashboard's sign-in form (a signed-in user goes straight on)."""
    visit = dashboard_visit(request)
    next_url = dashboard_next(next)
    if visit.user is not None:
        return redirect(next_url)
    return _sign_in_page(request, visit, next_url)


def after_password(request: Request, visit: DashboardVisit, next_url: str) -> Response:
    """On from a session just made by the password: to its second-factor step, or where the user was going."""
    kleline = web_of(request).kleline
    step = kleline.merchant_sign_in.next_step(visit.session)
    target = {"verify": with_next(CODE, next_url), "enrol": with_next(AUTHENTICATOR, next_url)}.get(step, next_url)
    return set_session_cookie(request, redirect(target), visit.session)


@router.post(SIGN_IN)
def sign_in(request: Request, form: Form) -> Response:
    """Check the email and password: on to the second factor (or, for a user who needs none, to ``next``)."""
    next_url = dashboard_next(form.get("next"))
    visit = dashboard_post(request, form, back=with_next(SIGN_IN, next_url))
    _ = language_of(request).gettext
    email = form.get("email", "").strip()
    errors: list[PageError] = []
    if not email:
        errors.append(PageError(_("Enter your email address"), "validation_error", "email"))
    if not form.get("password"):
        errors.append(PageError(_("Enter your password"), "validation_error", "password"))
    refusal: KlelineError | None = None
    if not errors:
        kleline = web_of(request).kleline
        try:
            rate_limit(request)
            session = kleline.merchant_sign_in.check_password(
                visit.session, email, form["password"], client_address(request)
            )
        except KlelineError as error:
            refusal = error
            errors.append(dashboard_error(error, language=language_of(request)))
        else:
            signed = DashboardVisit(session, None, None, visit.address)
            return after_password(request, signed, next_url)
    status = refusal_status(refusal) if refusal is not None else 400
    return _sign_in_page(request, visit, next_url, email=email, errors=errors, status=status, error=refusal)


@router.post(f"{DASHBOARD}/sign-out")
def sign_out(request: Request, form: Form) -> Response:
    """End the dashboard's session; the browser forgets its cookie."""
    visit = dashboard_post(request, form, back=DASHBOARD)
    web_of(request).kleline.merchant_sign_in.sign_out(visit.session, client_address(request))
    response = clear_session_cookie(request, redirect(SIGN_IN))
    return leave_note(request, response, "dashboard_signed_out")


# The second step: a code ---------------------------------------------------------------------------------------------


def _pending(request: Request, step: str, next_url: str) -> DashboardVisit:
    """The visit of a second-factor step page: its session must be at that step, else back to the start."""
    visit = dashboard_visit(request)
    if visit.user is not None:
        raise Answered(redirect(next_url))
    session = visit.session
    if session.stage != "second_factor" or web_of(request).kleline.merchant_sign_in.next_step(session) != step:
        raise Answered(respond(request, visit, redirect(with_next(SIGN_IN, next_url))))
    return visit


def second_factor_page(
    request: Request, visit: DashboardVisit, next_url: str, *, action: str, errors: list[PageError] | None = None,
    status: int = 200, error: KlelineError | None = None,
) -> Response:  # fmt: skip
    """The sign-in's second step (``action``: ``CODE``) or the confirmation before a sensitive act (``CONFIRM``):
    a passkey, a code, or both, as the user has them."""
    language = language_of(request)
    user = visit.session.user
    if user is None:  # signed out meanwhile (or never signed in): the sign-in starts again
        return respond(request, visit, redirect(with_next(SIGN_IN, next_url)))
    offer = None
    if user.passkey and passkeys_usable(request) and not isinstance(error, RateLimited):
        offer = web_of(request).kleline.merchant_passkeys.begin_verification(visit.session)
    title = _CONFIRM_TITLE
    if action == CODE and user.authenticator != user.passkey:
        title = _CODE_TITLE if user.authenticator else _PASSKEY_TITLE
    context = dashboard_context(
        visit,
        language.gettext(title),
        next=next_url,
        action=action,
        errors=errors or [],
        authenticator=user.authenticator,
        passkey_offer=offer,
        passkey_action=f"{SIGN_IN if action == CODE else CONFIRM}/passkey",
    )
    response = respond(request, visit, render(request, "dashboard/code.html", context, status=status))
    return with_retry_after(allow_scripts(response) if offer else response, error)


@router.get(CODE)
def code_page(request: Request, next: str | None = None) -> Response:
    """The second step of a sign-in: a passkey, or the code the user's authenticator app shows."""
    next_url = dashboard_next(next)
    return second_factor_page(request, _pending(request, "verify", next_url), next_url, action=CODE)


@router.post(CODE)
def pass_code(request: Request, form: Form) -> Response:
    """Check the code: signed in, and on to ``next``; a wrong code comes back with the attempts left."""
    next_url = dashboard_next(form.get("next"))
    visit = dashboard_post(request, form, back=with_next(CODE, next_url))
    if visit.user is not None:
        return redirect(next_url)
    language = language_of(request)
    problem = code_problem(request, form.get("code", ""))
    if problem is not None:
        return second_factor_page(request, visit, next_url, action=CODE, errors=[problem], status=400)
    sign_in_service = web_of(request).kleline.merchant_sign_in
    try:
        rate_limit(request)
        session = sign_in_service.pass_second_factor(visit.session, form["code"], client_address(request))
    except AuthenticationBlocked as blocked:  # the user is locked out, this session ended: start again, later
        fresh = dashboard_visit_after_end(request)
        errors = [dashboard_error(blocked, language=language)]
        return _sign_in_page(request, fresh, next_url, errors=errors, status=403)
    except KlelineError as error:
        errors = [dashboard_error(error, _CODE_FIELDS, language)]
        return second_factor_page(
            request, visit, next_url, action=CODE, errors=errors, status=refusal_status(error), error=error
        )
    return set_session_cookie(request, redirect(next_url), session)


def dashboard_visit_after_end(request: Request) -> DashboardVisit:
    """A new anonymous visit in place of a session that just ended (its cookie names nothing any more)."""
    session = web_of(request).kleline.merchant_sign_in.start()
    return DashboardVisit(session, None, None, client_address(request), new=True)


# The second step: a new authenticator (an owner without one) -------------------------------------------------------


def set_up_page(
    request: Request, visit: DashboardVisit, next_url: str, *, action: str, enrolment: Enrolment | None = None,
    errors: list[PageError] | None = None, status: int = 200, passkey_name: str = "",
) -> Response:  # fmt: skip
    """Setting up a first second factor (``action``: ``AUTHENTICATOR`` at sign-in, ``CONFIRM_AUTHENTICATOR`` before
    a sensitive act): an authenticator app (its secret shown once, in ``enrolment``) or a passkey."""
    language = language_of(request)
    offer = None
    if enrolment is None and passkeys_usable(request):
        try:
            offer = web_of(request).kleline.merchant_passkeys.begin_registration(visit.session)
        except (SecondFactorRequired, SignInStepMissing):  # a user with a second factor already: none offered
            offer = None
    context: dict[str, Any] = dashboard_context(
        visit,
        language.gettext(_ENROL_TITLE),
        next=next_url,
        action=action,
        enrolment=enrolment,
        qr_code=qr_code(enrolment, language) if enrolment else None,
        secret=secret_groups(enrolment.secret) if enrolment else "",
        errors=errors or [],
        reauthenticating=action == CONFIRM_AUTHENTICATOR,
        # The join form's note ("your application is sent") greets the new owner here.
        flash=note_of(request, signed_in=False) if (action, enrolment, status) == (AUTHENTICATOR, None, 200) else None,
        passkey_offer=offer,
        passkey_name=passkey_name,
    )
    response = respond(request, visit, render(request, "dashboard/authenticator.html", context, status=status))
    return allow_scripts(response) if offer else response


@router.get(AUTHENTICATOR)
def authenticator_page(request: Request, next: str | None = None) -> Response:
    """An owner signing in without an authenticator app must set one up: why, and the button that starts."""
    next_url = dashboard_next(next)
    return set_up_page(request, _pending(request, "enrol", next_url), next_url, action=AUTHENTICATOR)


def _enrol(request: Request, visit: DashboardVisit, next_url: str, action: str) -> Response:
    try:
        enrolment = web_of(request).kleline.merchant_sign_in.enrol(visit.session)
    except KlelineError as error:
        errors = [dashboard_error(error, language=language_of(request))]
        return set_up_page(request, visit, next_url, action=action, errors=errors, status=409)
    return set_up_page(request, visit, next_url, action=action, enrolment=enrolment)


def _confirm_enrolment(request: Request, visit: DashboardVisit, form: dict[str, str], action: str) -> Response:
    next_url = dashboard_next(form.get("next"))
    problem = code_problem(request, form.get("code", ""))
    if problem is not None:
        return set_up_page(request, visit, next_url, action=action, errors=[problem], status=400)
    try:
        session = web_of(request).kleline.merchant_sign_in.confirm_enrolment(
            visit.session, form["code"], client_address(request)
        )
    except KlelineError as error:
        errors = [dashboard_error(error, _CODE_FIELDS, language_of(request))]
        return set_up_page(request, visit, next_url, action=action, errors=errors, status=400)
    response = set_session_cookie(request, redirect(next_url), session)
    return leave_note(request, response, "dashboard_authenticator_ready")


@router.post(AUTHENTICATOR)
def start_enrolment(request: Request, form: Form) -> Response:
    """A new authenticator: the page shows its secret, this once, and asks for a first code."""
    next_url = dashboard_next(form.get("next"))
    visit = dashboard_post(request, form, back=with_next(AUTHENTICATOR, next_url))
    if visit.user is not None:
        return redirect(next_url)
    return _enrol(request, visit, next_url, AUTHENTICATOR)


@router.post(f"{AUTHENTICATOR}/confirm")
def confirm_enrolment(request: Request, form: Form) -> Response:
    """Confirm the new authenticator with the code it shows now: signed in, and on to ``next``."""
    next_url = dashboard_next(form.get("next"))
    visit = dashboard_post(request, form, back=with_next(AUTHENTICATOR, next_url))
    if visit.user is not None:
        return redirect(next_url)
    return _confirm_enrolment(request, visit, form, AUTHENTICATOR)


# Giving the second factor again ------------------------------------------------------------------------------------


@router.get(CONFIRM)
def confirm_page(request: Request, next: str | None = None) -> Response:
    """Before a sensitive act: a passkey or a code again (or, for a user without a second factor, setting one up)."""
    visit = signed_in_merchant_user(request)
    next_url = dashboard_next(next)
    assert visit.user is not None
    if not visit.user.has_second_factor:
        return set_up_page(request, visit, next_url, action=CONFIRM_AUTHENTICATOR)
    return second_factor_page(request, visit, next_url, action=CONFIRM)


@router.post(CONFIRM)
def confirm_again(request: Request, form: Form) -> Response:
    """Check the code: the session's second factor counts as given now, and on to ``next``."""
    next_url = dashboard_next(form.get("next"))
    visit = signed_in_merchant_post(request, form, back=with_next(CONFIRM, next_url))
    language = language_of(request)
    problem = code_problem(request, form.get("code", ""))
    if problem is not None:
        return second_factor_page(request, visit, next_url, action=CONFIRM, errors=[problem], status=400)
    try:
        rate_limit(request)
        web_of(request).kleline.merchant_sign_in.confirm_again(visit.session, form["code"], client_address(request))
    except AuthenticationBlocked as blocked:
        fresh = dashboard_visit_after_end(request)
        return _sign_in_page(request, fresh, next_url, errors=[dashboard_error(blocked, language=language)], status=403)
    except KlelineError as error:
        errors = [dashboard_error(error, _CODE_FIELDS, language)]
        return second_factor_page(
            request, visit, next_url, action=CONFIRM, errors=errors, status=refusal_status(error), error=error
        )
    return redirect(next_url)


@router.post(CONFIRM_AUTHENTICATOR)
def start_enrolment_signed_in(request: Request, form: Form) -> Response:
    """A signed-in user without an authenticator app sets one up: its secret, this once."""
    next_url = dashboard_next(form.get("next"))
    visit = signed_in_merchant_post(request, form, back=with_next(CONFIRM, next_url))
    return _enrol(request, visit, next_url, CONFIRM_AUTHENTICATOR)


@router.post(f"{CONFIRM_AUTHENTICATOR}/confirm")
def confirm_enrolment_signed_in(request: Request, form: Form) -> Response:
    """Confirm the new authenticator: it counts as the session's second factor, given now."""
    next_url = dashboard_next(form.get("next"))
    visit = signed_in_merchant_post(request, form, back=with_next(CONFIRM, next_url))
    return _confirm_enrolment(request, visit, form, CONFIRM_AUTHENTICATOR)
