"""Signing in, opening a wallet and signing out, as pages: the first steps of a checkout.

Sign-in goes through ``Customers.check_password``, the check under the API's ``sign_in``, so the pages share the
API's rules: one answer for a wrong email, a wrong password or a locked account (the same page, status 400, whatever
the reason, so that it tells nobody which addresses hold a wallet), and the lockout after repeated failures. No API
token is made: the page's session, not a bearer token, is what signs the browser in.

Both forms count against the API's rate limits per client address (``kleline.ratelimit``): past them, the form
comes back with the reason and status 429, with ``Retry-After``. The sign-up form counts only the attempts that reach
the books (a form with mistakes is answered without them), so that a person's typos never lock them out.

``next`` (where to go once signed in) is only ever a path on this site, never another site's address: a link to
our sign-in page must not become a way to send customers elsewhere.
"""

from __future__ import annotations

from typing import Final
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.responses import Response

from kleline.errors import KlelineError
from kleline.ratelimit import SIGN_IN, SIGN_UP, RateLimited
from kleline.wallet.customers import sign_up_problems
from kleline.wallet.sign_ins import Method
from kleline.web.flashes import SIGNED_OUT, WALLET_OPENED, announcement, leave
from kleline.web.i18n import N_, language_of
from kleline.web.paths import HOME, after_sign_in, safe_next
from kleline.web.refusals import PageError, in_form_order, page_error
from kleline.web.rendering import redirect, render
from kleline.web.security import passkeys_usable
from kleline.web.visits import Form, Visit, page_context, page_visit, post_visit, respond, web_of

__all__ = ["HOME", "router", "safe_next", "signed_in"]

router = APIRouter(include_in_schema=False)

_SIGN_IN_TITLE: Final = N_("Sign in to your wallet")
_SIGN_UP_TITLE: Final = N_("Open a wallet")
_SIGN_UP_ORDER: Final = ("name", "email", "password")  # as the form shows them
_SIGN_UP_FIELDS: Final = {field: field for field in _SIGN_UP_ORDER}


def _client_host(request: Request) -> str | None:
    return request.client.host if request.client else None


def _with_retry_after(response: Response, error: KlelineError | None) -> Response:
    """A rate-limited form says when to come back, as the API does."""
    if isinstance(error, RateLimited):
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def _signed_in(
    request: Request, visit: Visit, customer_id: str, next_url: str, method: Method = "password"
) -> Response:
    """A new session for ``customer_id`` in place of the visit's (see ``WebSessions.sign_in``), recorded for the
    customer's security page, and on to ``next_url``."""
    web = web_of(request)
    web.kleline.sign_ins.record(customer_id, method, "web", request.headers.get("user-agent"), _client_host(request))
    session = web.sessions.sign_in(visit.session, customer_id)
    response = redirect(next_url)
    web.cookies.set(response, session, web.max_age)
    return response


signed_in = _signed_in
"""How another sign-in page (a passkey's) opens the signed-in session."""


@router.get("/sign-in")
def sign_in_page(request: Request, next: str | None = None) -> Response:
    """The sign-in form (or, once signed in, who is signed in)."""
    visit = page_visit(request)
    title = language_of(request).gettext(_SIGN_IN_TITLE)
    context = page_context(visit, title, next=after_sign_in(next), email="", flash=announcement(request, visit))
    context.update(passkey_sign_in=passkeys_usable(request))
    return respond(request, visit, render(request, "sign_in.html", context))


@router.post("/sign-in")
def sign_in(request: Request, form: Form) -> Response:
    """Check the email and password; on success a new signed-in session, and on to ``next``."""
    next_url = after_sign_in(form.get("next"))
    visit = post_visit(request, form, back="/sign-in?" + urlencode({"next": next_url}))
    language = language_of(request)
    _ = language.gettext
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
            kleline.rate_limits.take(SIGN_IN, _client_host(request))
            customer_id = kleline.customers.check_password(email, form["password"])
        except KlelineError as error:
            refusal = error
            errors.append(page_error(error, language=language))
        else:
            return _signed_in(request, visit, customer_id, next_url)
    context = page_context(visit, _(_SIGN_IN_TITLE), next=next_url, email=email, errors=errors)
    context.update(passkey_sign_in=passkeys_usable(request))
    status = refusal.status if isinstance(refusal, RateLimited) else 400
    return _with_retry_after(render(request, "sign_in.html", context, status=status), refusal)


@router.get("/sign-up")
def sign_up_page(request: Request, next: str | None = None) -> Response:
    """The form that opens a wallet."""
    visit = page_visit(request)
    title = language_of(request).gettext(_SIGN_UP_TITLE)
    context = page_context(
        visit, title, next=after_sign_in(next), email="", name="", flash=announcement(request, visit)
    )
    return respond(request, visit, render(request, "sign_up.html", context))


@router.post("/sign-up")
def sign_up(request: Request, form: Form) -> Response:
    """Open a wallet with an empty purse, sign its owner in, and go on to ``next``."""
    next_url = after_sign_in(form.get("next"))
    visit = post_visit(request, form, back="/sign-up?" + urlencode({"next": next_url}))
    name, email, password = form.get("name", ""), form.get("email", "").strip(), form.get("password", "")
    kleline = web_of(request).kleline
    # A form with mistakes never reaches the books: it does not count against the limit, which caps the wallets a
    # connection opens (and the "email taken" answers it reads), not a person's typos.
    problems: list[KlelineError] = list(sign_up_problems(email, password, name))
    if not problems:
        try:
            kleline.rate_limits.take(SIGN_UP, _client_host(request))
            customer = kleline.customers.sign_up(email, password, name)
        except KlelineError as error:
            problems.append(error)
        else:
            return leave(request, _signed_in(request, visit, customer.id, next_url), WALLET_OPENED)
    # Every problem at once; the email and name typed come back, the password never does.
    language = language_of(request)
    errors = in_form_order([page_error(problem, _SIGN_UP_FIELDS, language) for problem in problems], _SIGN_UP_ORDER)
    title = language.gettext(_SIGN_UP_TITLE)
    context = page_context(visit, title, next=next_url, email=email, name=name, errors=errors)
    status = next((problem.status for problem in problems if problem.code in ("rate_limited", "email_taken")), 400)
    return _with_retry_after(render(request, "sign_up.html", context, status=status), problems[0])


@router.post("/sign-out")
def sign_out(request: Request, form: Form) -> Response:
    """End the session; the browser forgets its cookie."""
    next_url = safe_next(form.get("next"))
    visit = post_visit(request, form, back=next_url)
    web = web_of(request)
    web.sessions.end(visit.session.token)
    response = redirect(next_url)
    web.cookies.clear(response)
    return leave(request, response, SIGNED_OUT)
