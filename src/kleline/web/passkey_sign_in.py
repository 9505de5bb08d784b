"""Signing in with a passkey: no email or password, the device's screen lock instead.

The sign-in form's "Sign in with a passkey" button posts here (``POST /sign-in/passkey``, rate-limited as a sign-in):
the answer is a page that runs the ceremony with ``/static/passkeys.js`` (its CSP allows that one file) and posts the
authenticator's response to ``/sign-in/passkey/finish``. The ceremony is created by that post, never by a page view,
so that nobody can fill the table by loading a public page. A refused passkey gets one sentence whatever the reason
(unknown passkey, bad signature, expired ceremony), as a wrong password does.
"""

from __future__ import annotations

from typing import Final
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.responses import Response

from kleline.errors import KlelineError
from kleline.ratelimit import SIGN_IN, RateLimited
from kleline.web.account import signed_in
from kleline.web.i18n import N_, language_of
from kleline.web.paths import after_sign_in
from kleline.web.refusals import PageError, page_error
from kleline.web.rendering import allow_scripts, render
from kleline.web.security import passkeys_usable
from kleline.web.visits import Form, Visit, page_context, post_visit, web_of

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

_TITLE: Final = N_("Sign in with a passkey")
_REFUSED: Final = N_("This passkey did not sign you in: try again, or sign in with your email and password")


def _page(request: Request, visit: Visit, next_url: str, errors: list[PageError], status: int) -> Response:
    language = language_of(request)
    offer = None
    usable = passkeys_usable(request)
    if usable and not any(error.code == "rate_limited" for error in errors):
        offer = web_of(request).kleline.passkeys.begin_sign_in()
    context = page_context(visit, language.gettext(_TITLE), next=next_url, errors=errors, offer=offer, usable=usable)
    return allow_scripts(render(request, "sign_in_passkey.html", context, status=status))


@router.post("/sign-in/passkey")
def begin(request: Request, form: Form) -> Response:
    """A new sign-in ceremony, and the page that runs it."""
    next_url = after_sign_in(form.get("next"))
    visit = post_visit(request, form, back="/sign-in?" + urlencode({"next": next_url}))
    host = request.client.host if request.client else None
    try:
        web_of(request).kleline.rate_limits.take(SIGN_IN, host)
    except RateLimited as error:
        response = _page(request, visit, next_url, [page_error(error, language=language_of(request))], error.status)
        response.headers["Retry-After"] = str(error.retry_after)
        return response
    return _page(request, visit, next_url, [], 200)


@router.post("/sign-in/passkey/finish")
def finish(request: Request, form: Form) -> Response:
    """Check the passkey's response; on success a new signed-in session, and on to ``next``."""
    next_url = after_sign_in(form.get("next"))
    visit = post_visit(request, form, back="/sign-in?" + urlencode({"next": next_url}))
    language = language_of(request)
    try:
        customer_id = web_of(request).kleline.passkeys.sign_in(form.get("ceremony_id", ""), form.get("credential", ""))
    except KlelineError as error:
        code = error.code if error.code.startswith("passkey_") else "passkey_response_invalid"
        refused = PageError(language.gettext(_REFUSED), code, None)
        return _page(request, visit, next_url, [refused], 400)
    return signed_in(request, visit, customer_id, next_url, "passkey")
