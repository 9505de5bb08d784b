"""Signing in, opening a wallet and signing out, as pages: the first steps of a checkout.

Sign-in goes through ``Customers.sign_in``, so the pages share the API's rules: one answer for a wrong email or a
wrong password, and the lockout after repeated failures (shown with the time it ends). The API token that
``sign_in`` returns is revoked at once: the page's session, not a bearer token, is what signs the browser in.

``next`` (where to go once signed in) is only ever a path on this site, never another site's address: a link to
our sign-in page must not become a way to send customers elsewhere.
"""

from __future__ import annotations

from typing import Annotated, Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from starlette.responses import RedirectResponse, Response

from kleline.errors import KlelineError
from kleline.web import csrf
from kleline.web.rendering import PageError, page_error, render, secure_headers
from kleline.web.visits import Visit, form_fields, page_visit, post_visit, respond, web_of

__all__ = ["forbidden", "redirect", "router", "safe_next"]

router = APIRouter(include_in_schema=False)

Form = Annotated[dict[str, str], Depends(form_fields)]

HOME: Final = "/sign-in"
_SIGN_UP_FIELDS: Final = {"email": "email", "password": "password", "name": "name"}


def safe_next(value: str | None) -> str:
    """``value`` if it is a path on this site, else the home page (no ``//host``, no scheme, no backslash)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return HOME
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in value):
        return HOME
    return value


def redirect(url: str) -> Response:
    """A 303 See Other: after a post, the browser fetches ``url`` with a GET."""
    return secure_headers(RedirectResponse(url, status_code=303))


def forbidden(request: Request, rejected: csrf.CsrfRejected, back: str) -> Response:
    """The page a refused form post gets: why, and a link back to a fresh form."""
    context: dict[str, Any] = {"title": "This form cannot be accepted", "customer": None, "errors": []}
    context.update(reason=rejected.reason, back=back)
    return render("forbidden.html", context, status=403)


def _page(visit: Visit, **context: Any) -> dict[str, Any]:
    return {"customer": visit.customer, "csrf_token": visit.csrf_token, "errors": [], **context}


@router.get("/sign-in")
def sign_in_page(request: Request, next: str | None = None) -> Response:
    """The sign-in form (or, once signed in, who is signed in)."""
    visit = page_visit(request)
    context = _page(visit, title="Sign in to your wallet", next=safe_next(next), email="")
    return respond(request, visit, render("sign_in.html", context))


@router.post("/sign-in")
def sign_in(request: Request, form: Form) -> Response:
    """Check the email and password; on success a new signed-in session, and on to ``next``."""
    next_url = safe_next(form.get("next"))
    try:
        visit = post_visit(request, form)
    except csrf.CsrfRejected as rejected:
        return forbidden(request, rejected, "/sign-in?" + urlencode({"next": next_url}))
    web = web_of(request)
    email = form.get("email", "").strip()
    errors: list[PageError] = []
    if not email:
        errors.append(PageError("Enter your email address", "validation_error", "email"))
    if not form.get("password"):
        errors.append(PageError("Enter your password", "validation_error", "password"))
    if not errors:
        try:
            tokens = web.kleline.customers.sign_in(email, form["password"])
        except KlelineError as error:
            errors.append(page_error(error))
        else:
            web.kleline.customers.sign_out(tokens.token)
            session = web.sessions.sign_in(visit.session, tokens.customer_id)
            response = redirect(next_url)
            web.cookies.set(response, session, web.max_age)
            return response
    locked = any(error.code == "sign_in_locked" for error in errors)
    context = _page(visit, title="Sign in to your wallet", next=next_url, email=email, errors=errors)
    return render("sign_in.html", context, status=429 if locked else 400)


@router.get("/sign-up")
def sign_up_page(request: Request, next: str | None = None) -> Response:
    """The form that opens a wallet."""
    visit = page_visit(request)
    context = _page(visit, title="Open a wallet", next=safe_next(next), email="", name="")
    return respond(request, visit, render("sign_up.html", context))


@router.post("/sign-up")
def sign_up(request: Request, form: Form) -> Response:
    """Open a wallet with an empty purse, sign its owner in, and go on to ``next``."""
    next_url = safe_next(form.get("next"))
    try:
        visit = post_visit(request, form)
    except csrf.CsrfRejected as rejected:
        return forbidden(request, rejected, "/sign-up?" + urlencode({"next": next_url}))
    web = web_of(request)
    name, email, password = form.get("name", ""), form.get("email", "").strip(), form.get("password", "")
    try:
        customer = web.kleline.customers.sign_up(email, password, name)
    except KlelineError as error:
        errors = [page_error(error, _SIGN_UP_FIELDS)]
        context = _page(visit, title="Open a wallet", next=next_url, email=email, name=name, errors=errors)
        return render("sign_up.html", context, status=409 if error.code == "email_taken" else 400)
    session = web.sessions.sign_in(visit.session, customer.id)
    response = redirect(next_url)
    web.cookies.set(response, session, web.max_age)
    return response


@router.post("/sign-out")
def sign_out(request: Request, form: Form) -> Response:
    """End the session; the browser forgets its cookie."""
    next_url = safe_next(form.get("next"))
    try:
        visit = post_visit(request, form)
    except csrf.CsrfRejected as rejected:
        return forbidden(request, rejected, next_url)
    web = web_of(request)
    web.sessions.end(visit.session.token)
    response = redirect(next_url)
    web.cookies.clear(response)
    return response
