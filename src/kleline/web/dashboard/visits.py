"""One visit to a dashboard page: its session (the dashboard's own, never a customer's), its user and merchant.

This is the interface the dashboard's pages build on:

- ``signed_in_merchant_user(request)``: the visit of a page only a signed-in merchant user may see, with its user,
  merchant and ``actor`` (for the services and the audit trail); else ``Answered`` with a redirect to the sign-in
  page, or to the sign-in step the session is at.
- ``signed_in_merchant_post(request, form, back=...)``: the same for a form's post, its CSRF token checked first.
- ``require(visit, action)``: ``Answered`` with the 403 page unless the user's role allows ``action``
  (``kleline.merchant_users.can``, the one permission table).
- ``require_recent_second_factor(request, visit, back)``: ``Answered`` with a redirect to ``/dashboard/confirm``
  (which comes back to ``back``) when the session's last second factor is older than 15 minutes: call it before a
  refund or a new API key.
- ``dashboard_visit`` / ``dashboard_post``: a visit that may be signed out (the sign-in pages).
- ``dashboard_context`` and ``respond``: what every dashboard template reads, and the response with the cookies.

Customers and merchant users are kept strictly apart: the dashboard's session is named by a cookie of its own
(``__Host-kleline_dashboard`` over HTTPS, ``kleline_dashboard`` over plain HTTP: ``Path=/``, ``HttpOnly``,
``SameSite=Lax``, as the pages' cookie) and kept in a table of its own (``merchant_sessions``). A customer's cookie is
never read here, so a signed-in shopper reaches no dashboard page, and a dashboard cookie signs nobody in to a wallet.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Final, NamedTuple
from urllib.parse import urlencode

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response

from kleline.merchant_users import Action, Actor, DashboardSession, MerchantUser
from kleline.merchants import Merchant
from kleline.web import csrf
from kleline.web.i18n import LANGUAGES, N_, language_of
from kleline.web.paths import safe_next
from kleline.web.rendering import environment_for, forbidden, redirect, render
from kleline.web.session_cookies import SessionCookie, client_address
from kleline.web.sessions import WebSession
from kleline.web.visits import Answered, keep_language_forget_note, web_of

__all__ = [
    "CONFIRM",
    "DASHBOARD",
    "SIGN_IN",
    "DashboardVisit",
    "client_address",
    "dashboard_context",
    "dashboard_next",
    "dashboard_post",
    "dashboard_visit",
    "refused",
    "require",
    "require_recent_second_factor",
    "respond",
    "set_session_cookie",
    "signed_in_merchant_post",
    "signed_in_merchant_user",
]

DASHBOARD: Final = "/dashboard"
SIGN_IN: Final = "/dashboard/sign-in"
CONFIRM: Final = "/dashboard/confirm"
SECURE_COOKIE: Final = "__Host-kleline_dashboard"
PLAIN_COOKIE: Final = "kleline_dashboard"
_STEPS: Final = {"verify": "/dashboard/sign-in/code", "enrol": "/dashboard/sign-in/authenticator"}


@dataclass(frozen=True, slots=True)
class DashboardVisit:
    """A request's dashboard session, its user and merchant (both None until signed in); ``new`` says the browser
    must be given the session's cookie; ``address`` is where the request came from (for the audit trail)."""

    session: DashboardSession
    user: MerchantUser | None
    merchant: Merchant | None
    address: str | None
    new: bool = False

    @property
    def csrf_token(self) -> str:
        """The token the page's forms carry."""
        return self.session.csrf_token

    @property
    def actor(self) -> Actor:
        """Who acts, for the services (only on a signed-in visit)."""
        assert self.user is not None, "a signed-in visit has a user"
        return Actor(self.user, self.address)

    def can(self, action: Action) -> bool:
        """Whether the signed-in user's role allows ``action``."""
        return self.user is not None and self.user.can(action)


_COOKIE: Final = SessionCookie(SECURE_COOKIE, PLAIN_COOKIE)


def set_session_cookie(request: Request, response: Response, session: DashboardSession) -> Response:
    """Give the browser ``session``'s token in the dashboard's cookie."""
    return _COOKIE.give(request, response, session.token, web_of(request).kleline.merchant_sign_in.session_ttl)


def clear_session_cookie(request: Request, response: Response) -> Response:
    """Have the browser forget the dashboard's cookie."""
    return _COOKIE.forget(request, response)


def _existing(request: Request) -> DashboardSession | None:
    token = _COOKIE.token(request)
    return web_of(request).kleline.merchant_sign_in.find(token) if token else None


def _visit(request: Request, session: DashboardSession, *, new: bool = False) -> DashboardVisit:
    merchant = None
    if session.signed_in and session.user is not None:
        # Read with the session (``merchant_sign_in.find``); a session just opened by a sign-in step has none yet.
        merchant = session.merchant or web_of(request).kleline.merchants.get(session.user.merchant_id)
    user = session.user if session.signed_in else None
    return DashboardVisit(session, user, merchant, client_address(request), new)


def dashboard_visit(request: Request) -> DashboardVisit:
    """The visit of a dashboard page that may be signed out: its live session, or a new anonymous one."""
    session = _existing(request)
    if session is None:
        return _visit(request, web_of(request).kleline.merchant_sign_in.start(), new=True)
    return _visit(request, session)


def _here(request: Request) -> str:
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


def dashboard_next(value: str | None) -> str:
    """Where to go once signed in: a dashboard path, else the dashboard's home (never another site, nor a page of
    the shopper's)."""
    path = safe_next(value)
    return path if path == DASHBOARD or path.startswith(DASHBOARD + "/") else DASHBOARD


def _to_sign_in(request: Request, session: DashboardSession | None, back: str) -> Answered:
    """Where a visit that is not signed in goes: the step its session is at, else the sign-in form."""
    next_query = urlencode({"next": dashboard_next(back)})
    if session is not None and session.stage == "second_factor":
        step = web_of(request).kleline.merchant_sign_in.next_step(session)
        if step in _STEPS:
            return Answered(redirect(f"{_STEPS[step]}?{next_query}"))
    return Answered(redirect(f"{SIGN_IN}?{next_query}"))


def signed_in_merchant_user(request: Request) -> DashboardVisit:
    """The visit of a page only a signed-in merchant user may see; else ``Answered`` with a redirect to where its
    sign-in stands (the form, or the second factor), which comes back here once signed in."""
    session = _existing(request)
    if session is None or not session.signed_in:
        raise _to_sign_in(request, session, _here(request))
    return _visit(request, session)


def dashboard_post(request: Request, fields: dict[str, str], *, back: str) -> DashboardVisit:
    """The visit of a dashboard form's post, once its token is checked against the dashboard's session; else
    ``Answered`` with the refusal, which links back to ``back`` (the form's page)."""
    session = _existing(request)
    form_session = None
    if session is not None:  # the check reads the forms' token only
        form_session = WebSession(session.token, None, session.csrf_token, session.expires_at)
    try:
        csrf.check(request, form_session, fields.get("csrf_token"), web_of(request).kleline.settings.public_url)
    except csrf.CsrfRejected as rejected:
        raise Answered(forbidden(request, rejected.reason, back)) from None
    assert session is not None  # check refuses a post without a session
    return _visit(request, session)


def signed_in_merchant_post(request: Request, fields: dict[str, str], *, back: str) -> DashboardVisit:
    """The visit of a signed-in dashboard form's post; a post whose session was signed out since the form was shown
    goes to the sign-in page (and back to ``back``), changing nothing."""
    visit = dashboard_post(request, fields, back=back)
    if visit.user is None:
        raise _to_sign_in(request, visit.session, back)
    return visit


def dashboard_context(visit: DashboardVisit | None, title: str, **context: Any) -> dict[str, Any]:
    """What the dashboard's layout reads (its title, who is signed in and for which merchant, which sections the
    role may open, the forms' token, no errors yet), and ``context``."""
    user = visit.user if visit is not None else None
    return {
        "title": title,
        "customer": None,
        "merchant_user": user,
        "dashboard_nav": functools.partial(_sections_nav, None if visit is None else _Sections.of(visit)),
        "merchant": visit.merchant if visit is not None else None,
        "may_read_activity": visit is not None and visit.can("activity"),
        "may_manage_keys": visit is not None and visit.can("keys"),
        "csrf_token": visit.csrf_token if visit is not None else "",
        "errors": [],
        "flash": None,
        "section": "",
        **context,
    }


class _Sections(NamedTuple):
    """Which of the dashboard's sections a signed-in user's role may open (all the navigation depends on)."""

    statements: bool
    keys: bool
    settings: bool
    activity: bool

    @classmethod
    def of(cls, visit: DashboardVisit) -> _Sections | None:
        if visit.user is None:
            return None
        return cls(visit.can("statements"), visit.can("keys"), visit.can("settings"), visit.can("activity"))


@functools.lru_cache(maxsize=512)
def _sections_nav(sections: _Sections | None, language: str, section: str) -> Markup:
    """The navigation between the dashboard's sections, ``section`` being the current one: the same for every user
    whose role opens the same sections, so drawn once per process for each (every page of the dashboard shows it)."""
    if sections is None:
        return Markup("")
    template = environment_for(LANGUAGES[language]).get_template("dashboard/_sections.html")
    return Markup(template.render(sections=sections, section=section))  # noqa: S704 (the template's escaped output)


def respond(request: Request, visit: DashboardVisit | None, response: Response) -> Response:
    """``response``, with the dashboard's cookie when the visit opened the session, the language's when the address
    chose one (``?lang=``), and the one-time note forgotten once shown."""
    if visit is not None and visit.new:
        set_session_cookie(request, response, visit.session)
    return keep_language_forget_note(request, response, secure=_COOKIE.secure(request))


def refused(request: Request, visit: DashboardVisit, message: str, *, status: int = 403) -> Answered:
    """The page of an act the user's role does not allow, or of an object that is not its merchant's (404)."""
    language = language_of(request)
    title = language.gettext(N_("Not allowed") if status == 403 else N_("Not found"))
    context = dashboard_context(visit, title, message=message)
    return Answered(respond(request, visit, render(request, "dashboard/refused.html", context, status=status)))


def require(request: Request, visit: DashboardVisit, action: Action) -> None:
    """``Answered`` with the 403 page unless the signed-in user's role allows ``action``."""
    if not visit.can(action):
        message = language_of(request).gettext(N_("Your role in this shop does not allow this. Ask an owner."))
        raise refused(request, visit, message)


def require_recent_second_factor(request: Request, visit: DashboardVisit, back: str) -> None:
    """``Answered`` with a redirect to the page that asks for the second factor again (and comes back to ``back``)
    when the session's last one is older than 15 minutes, or none was given in it."""
    if web_of(request).kleline.merchant_sign_in.needs_second_factor_again(visit.session):
        raise Answered(redirect(f"{CONFIRM}?{urlencode({'next': dashboard_next(back)})}"))
