"""One visit to a page: the session its cookie names (or a new one), the signed-in customer, the form's fields.

Pages that show a form open a session when the browser has none, so that the form carries a token; posts never
do: a post without a live session is refused (its form was rendered for a session that has since expired or ended).

A helper that must answer at once (a refused form, a redirect to sign in) raises ``Answered`` with its response,
which ``kleline.web.app.install`` sends as it is, as ``HTTPException`` does for the API.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Final
from urllib.parse import parse_qsl, urlencode

from fastapi import Depends
from starlette.requests import Request
from starlette.responses import Response

from kleline.bootstrap import Kleline
from kleline.wallet.model import Customer
from kleline.web import csrf
from kleline.web.i18n import COOKIE as LANGUAGE_COOKIE
from kleline.web.i18n import remember, requested
from kleline.web.paths import safe_next
from kleline.web.rendering import forbidden, redirect
from kleline.web.sessions import FLASH_COOKIE, CookiePolicy, WebSession, WebSessions

__all__ = [
    "FORM_LIMIT",
    "Answered",
    "Form",
    "Visit",
    "WebState",
    "form_fields",
    "keep_language_forget_note",
    "known_visit",
    "page_context",
    "page_visit",
    "post_visit",
    "respond",
    "signed_in_post",
    "signed_in_visit",
    "web_of",
]

FORM_LIMIT: Final = 16_384
"""The largest form body accepted, in bytes: the pages' forms are a few short fields."""


class Answered(Exception):
    """A response to send at once, raised from a helper of a route (a refused form, a redirect)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


@dataclass(frozen=True, slots=True)
class WebState:
    """What the pages share: Kleline, the sessions, and how the cookie is named."""

    kleline: Kleline
    sessions: WebSessions
    cookies: CookiePolicy

    @property
    def max_age(self) -> int:
        """The cookie's lifetime in seconds: the session's."""
        return int(self.sessions.ttl.total_seconds())


@dataclass(frozen=True, slots=True)
class Visit:
    """A request's session and customer; ``new`` says the browser must be given the session's cookie."""

    session: WebSession
    customer: Customer | None
    new: bool = False
    unread_offers: int | None = None
    """The navigation's count of unread offers, when the page asked for it with the session (else read if shown)."""

    @property
    def csrf_token(self) -> str:
        """The token the page's forms carry."""
        return self.session.csrf_token


def web_of(request: Request) -> WebState:
    """The pages' shared state, set up by ``kleline.web.app.install``."""
    state: WebState = request.app.state.web
    return state


def _existing(request: Request, web: WebState, *, unread_offers: bool = False) -> Visit | None:
    """The visit of the live session the cookie names, with its customer read in the same statement (and, with
    ``unread_offers``, the navigation's count of unread offers), or None."""
    token = request.cookies.get(web.cookies.name)
    if not token:
        return None
    beside = web.kleline.inbox.unread_of("s.customer_id") if unread_offers else None
    found = web.sessions.find_with_customer(token, web.kleline.customers, beside=beside)
    if found is None:
        return None
    unread = None if found.beside is None or found.customer is None else int(found.beside)
    return Visit(found.session, found.customer, unread_offers=unread)


def known_visit(request: Request) -> Visit | None:
    """The visit of a page that needs no form: its live session if it has one, without opening any."""
    return _existing(request, web_of(request))


def page_visit(request: Request) -> Visit:
    """The visit of a page: its live session, or a new anonymous one."""
    web = web_of(request)
    visit = _existing(request, web)
    if visit is None:
        return Visit(web.sessions.start(), None, new=True)
    return visit


def signed_in_visit(request: Request, *, unread_offers: bool = False) -> Visit:
    """The visit of a page of the wallet, which only its owner may see: else ``Answered`` with a redirect to the
    sign-in page, which comes back here once signed in. ``unread_offers``: the navigation's count is read in the
    session's statement (for a page that changes no offer before it shows the count)."""
    visit = _existing(request, web_of(request), unread_offers=unread_offers)
    if visit is None or visit.customer is None:
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise Answered(redirect("/sign-in?" + urlencode({"next": safe_next(here)})))
    return visit


def post_visit(request: Request, fields: dict[str, str], *, back: str) -> Visit:
    """The visit of a form post, once its token is checked; else ``Answered`` with the refusal, which links to
    ``back`` (the form's page)."""
    web = web_of(request)
    visit = _existing(request, web)
    try:
        csrf.check(
            request, None if visit is None else visit.session, fields.get("csrf_token"), web.kleline.settings.public_url
        )
    except csrf.CsrfRejected as rejected:
        raise Answered(forbidden(request, rejected.reason, back)) from None
    assert visit is not None  # check refuses a post without a session
    return visit


def signed_in_post(request: Request, fields: dict[str, str], *, back: str) -> tuple[Visit, Customer]:
    """The visit of a wallet form's post and its signed-in customer; a post whose session was signed out since the
    form was shown goes to the sign-in page (and back to ``back``), changing nothing."""
    visit = post_visit(request, fields, back=back)
    if visit.customer is None:
        raise Answered(redirect("/sign-in?" + urlencode({"next": safe_next(back)})))
    return visit, visit.customer


def page_context(visit: Visit | None, title: str, **context: Any) -> dict[str, Any]:
    """What the layout of every page reads (its title, who is signed in, the forms' token, no errors yet), and
    ``context``."""
    customer = visit.customer if visit is not None else None
    csrf_token = visit.csrf_token if visit is not None else ""
    page: dict[str, Any] = {"title": title, "customer": customer, "csrf_token": csrf_token, "errors": [], "flash": None}
    if visit is not None and visit.unread_offers is not None:
        unread = visit.unread_offers
        page["unread_offers"] = lambda: unread  # read with the session: no statement of its own
    return {**page, **context}


def respond(request: Request, visit: Visit, response: Response) -> Response:
    """``response``, with the session's cookie when the visit opened the session, and the language's when the
    address chose one (``?lang=``), so that the page's forms and redirects keep it."""
    web = web_of(request)
    if visit.new:
        web.cookies.set(response, visit.session, web.max_age)
    return keep_language_forget_note(request, response, secure=web.cookies.secure)


def keep_language_forget_note(request: Request, response: Response, *, secure: bool) -> Response:
    """``response`` with the language's cookie when the address chose one (``?lang=``), so that the page's forms and
    redirects keep it, and the one-time note forgotten once this page showed it: what every area's answer does
    after its own session cookie."""
    language = requested(request)
    if language is not None and request.cookies.get(LANGUAGE_COOKIE) != language.code:
        remember(response, language, secure=secure)
    if FLASH_COOKIE in request.cookies:
        web_of(request).cookies.clear_flash(response)
    return response


async def form_fields(request: Request) -> dict[str, str]:
    """A URL-encoded form's fields (the first value of each), at most ``FORM_LIMIT`` bytes; others read as empty."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        return {}
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > FORM_LIMIT:
            return {}
    fields: dict[str, str] = {}
    for name, value in parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True):
        fields.setdefault(name, value)
    return fields


Form = Annotated[dict[str, str], Depends(form_fields)]
"""A route's parameter for the fields of its form."""
