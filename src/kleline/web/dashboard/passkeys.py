"""A merchant user's passkey at the dashboard's sign-in and before a sensitive act, as posts of the pages that
offer it (``sign_in.second_factor_page``, ``sign_in.set_up_page``):

- ``POST /dashboard/sign-in/passkey``: the sign-in's second step given with a passkey;
- ``POST /dashboard/confirm/passkey``: the second factor given again with a passkey, before a refund or a new key;
- ``POST /dashboard/sign-in/authenticator/passkey`` and ``POST /dashboard/confirm/authenticator/passkey``: a first
  second factor registered as a passkey, by an owner signing in without any, or by a user asked for one it lacks.

The page's script (``/static/passkeys.js``, the customers') runs the ceremony and fills the form's ``credential``;
``kleline.merchant_users.MerchantPasskeys`` verifies everything. A refused passkey gets one sentence whatever the
reason, as a wrong password does; attempts count against the sign-in's rate limit per client, as codes do.
"""

from __future__ import annotations

from typing import Final

from fastapi import APIRouter, Request
from starlette.responses import Response

from kleline.errors import KlelineError
from kleline.merchant_users import SignInStepMissing
from kleline.ratelimit import RateLimited
from kleline.web.dashboard.sign_in import (
    AUTHENTICATOR,
    CODE,
    CONFIRM_AUTHENTICATOR,
    rate_limit,
    second_factor_page,
    set_up_page,
    with_next,
)
from kleline.web.dashboard.visits import (
    CONFIRM,
    SIGN_IN,
    DashboardVisit,
    client_address,
    dashboard_next,
    dashboard_post,
    set_session_cookie,
    signed_in_merchant_post,
)
from kleline.web.dashboard.wording import dashboard_error, leave_note
from kleline.web.i18n import Language, language_of
from kleline.web.passkey_forms import passkey_problems, passkey_refused
from kleline.web.refusals import PageError
from kleline.web.rendering import redirect
from kleline.web.visits import Form, web_of

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

_FIELDS: Final = {"name": "name", "credential": "name", "ceremony_id": "name", "passkeys": "name"}


def _refused(error: KlelineError, language: Language) -> PageError:
    """A passkey that did not verify: one sentence whatever went wrong (the rate limit's own)."""
    if isinstance(error, RateLimited):
        return dashboard_error(error, language=language)
    return passkey_refused(error, language)


# The second factor given with a passkey ---------------------------------------------------------------------------


def _give(request: Request, visit: DashboardVisit, form: dict[str, str], action: str, next_url: str) -> Response:
    """Check the passkey's answer (at the sign-in's second step, or again before a sensitive act): on to ``next``."""
    language = language_of(request)
    passkeys = web_of(request).kleline.merchant_passkeys
    problems = passkey_problems(form, language, named=False)
    if problems:
        return second_factor_page(request, visit, next_url, action=action, errors=problems, status=400)
    try:
        rate_limit(request)
        if action == CODE:
            session = passkeys.pass_second_factor(
                visit.session, form.get("ceremony_id", ""), form["credential"], client_address(request)
            )
        else:
            session = passkeys.confirm_again(
                visit.session, form.get("ceremony_id", ""), form["credential"], client_address(request)
            )
    except SignInStepMissing:  # the session ended, or moved on, meanwhile
        return redirect(with_next(SIGN_IN, next_url))
    except KlelineError as error:
        status = error.status if isinstance(error, RateLimited) else 400
        errors = [_refused(error, language)]
        return second_factor_page(request, visit, next_url, action=action, errors=errors, status=status, error=error)
    response = redirect(next_url)
    return set_session_cookie(request, response, session) if action == CODE else response


@router.post(f"{SIGN_IN}/passkey")
def pass_with_passkey(request: Request, form: Form) -> Response:
    """The sign-in's second step with a passkey: signed in, and on to ``next``."""
    next_url = dashboard_next(form.get("next"))
    visit = dashboard_post(request, form, back=with_next(CODE, next_url))
    if visit.user is not None:
        return redirect(next_url)
    if visit.session.stage != "second_factor" or visit.session.user is None:
        return redirect(with_next(SIGN_IN, next_url))
    return _give(request, visit, form, CODE, next_url)


@router.post(f"{CONFIRM}/passkey")
def confirm_with_passkey(request: Request, form: Form) -> Response:
    """The second factor given again with a passkey, before a sensitive act: on to ``next``."""
    next_url = dashboard_next(form.get("next"))
    visit = signed_in_merchant_post(request, form, back=with_next(CONFIRM, next_url))
    return _give(request, visit, form, CONFIRM, next_url)


# A first second factor registered as a passkey -----------------------------------------------------------------


def _register(request: Request, visit: DashboardVisit, form: dict[str, str], action: str) -> Response:
    next_url = dashboard_next(form.get("next"))
    language = language_of(request)
    name = form.get("name", "")
    errors = passkey_problems(form, language, named=True)
    if not errors:
        try:
            _, session = web_of(request).kleline.merchant_passkeys.register(
                visit.session, form.get("ceremony_id", ""), form["credential"], name, client_address(request)
            )
        except SignInStepMissing:
            return redirect(with_next(SIGN_IN, next_url))
        except KlelineError as error:
            errors.append(dashboard_error(error, _FIELDS, language))
        else:
            response = redirect(next_url)
            if session.token != visit.session.token:
                set_session_cookie(request, response, session)
            return leave_note(request, response, "dashboard_passkey_ready")
    return set_up_page(request, visit, next_url, action=action, errors=errors, status=400, passkey_name=name)


@router.post(f"{AUTHENTICATOR}/passkey")
def register_at_sign_in(request: Request, form: Form) -> Response:
    """An owner signing in without a second factor registers a passkey: signed in, and on to ``next``."""
    next_url = dashboard_next(form.get("next"))
    visit = dashboard_post(request, form, back=with_next(AUTHENTICATOR, next_url))
    if visit.user is not None:
        return redirect(next_url)
    return _register(request, visit, form, AUTHENTICATOR)


@router.post(f"{CONFIRM_AUTHENTICATOR}/passkey")
def register_when_asked(request: Request, form: Form) -> Response:
    """A signed-in user asked for a second factor it lacks registers a passkey: it counts as given now."""
    next_url = dashboard_next(form.get("next"))
    visit = signed_in_merchant_post(request, form, back=with_next(CONFIRM, next_url))
    return _register(request, visit, form, CONFIRM_AUTHENTICATOR)
