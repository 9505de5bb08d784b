"""One visit to a console page: its session (the console's own, never a dashboard's nor a shopper's), its staff user.

This is the interface the console's pages build on:

- ``console_page(power)``: a FastAPI dependency for a page only a signed-in staff user whose role grants ``power``
  may see; it gives the ``ConsoleVisit`` (``visit.actor`` is the ``StaffActor``: kind ``staff``, the ``st_`` id, the
  role, the client's address), else answers with a redirect to where the sign-in stands, or with the 403 page that
  names the missing power::

      Approver = Annotated[ConsoleVisit, Depends(console_page(Power.DECIDE_MERCHANTS))]

      @router.get("/console/approvals")
      def approvals(request: Request, visit: Approver) -> Response:
          ... kleline.merchants.approve(..., by=visit.actor) ...

- ``console_form(power, back=...)``: the same for a form's post, its CSRF token checked first (a refusal links back to
  ``back``, the form's page); the route reads the same fields with its own ``form: Form`` parameter;
- ``StaffVisit``: the parameter of a page every signed-in staff user may see (home, security);
- ``signed_in_staff`` / ``signed_in_staff_post`` and ``require``: the same as functions, for a page whose power
  depends on what it shows;
- ``console_visit`` / ``console_post``: a visit that may be signed out (the sign-in pages, an invitation);
- ``console_context`` and ``respond``: what every console template reads (it extends ``console/_layout.html`` and
  shows the sections of ``sections.SECTIONS`` the role may open), and the response with the cookies.

The console's session is named by a cookie of its own (``__Host-kleline_console`` over HTTPS, ``kleline_console``
over plain HTTP: ``Path=/``, ``HttpOnly``, ``SameSite=Lax``, as the other pages' cookies) and kept in a table of its
own (``staff_sessions``): a dashboard's or a shopper's cookie is never read here, and a console cookie signs nobody
in anywhere else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Final
from urllib.parse import urlencode

from fastapi import Depends
from starlette.requests import Request
from starlette.responses import Response

from kleline.staff.actor import StaffActor
from kleline.staff.roles import Power
from kleline.staff_users import ConsoleSession, StaffUser
from kleline.web import csrf
from kleline.web.console.sections import visible_sections
from kleline.web.console.wording import POWER_NAMES, ROLE_NAMES
from kleline.web.i18n import N_, Language, language_of
from kleline.web.paths import safe_next
from kleline.web.rendering import forbidden, redirect, render
from kleline.web.session_cookies import SessionCookie, client_address
from kleline.web.sessions import WebSession
from kleline.web.visits import Answered, Form, keep_language_forget_note, web_of

__all__ = [
    "CONSOLE",
    "SIGN_IN",
    "ConsoleVisit",
    "StaffVisit",
    "clear_session_cookie",
    "client_address",
    "console_context",
    "console_form",
    "console_next",
    "console_page",
    "console_post",
    "console_visit",
    "refused",
    "require",
    "respond",
    "set_session_cookie",
    "signed_in_staff",
    "signed_in_staff_post",
]

CONSOLE: Final = "/console"
SIGN_IN: Final = "/console/sign-in"
SECURE_COOKIE: Final = "__Host-kleline_console"
PLAIN_COOKIE: Final = "kleline_console"
STEPS: Final = {"verify": "/console/sign-in/code", "enrol": "/console/sign-in/authenticator"}


@dataclass(frozen=True, slots=True)
class ConsoleVisit:
    """A request's console session and its staff user (None until signed in); ``address`` is where the request came
    from (for the audit trail), ``language`` the page's; ``new`` says the browser must be given the session's
    cookie."""

    session: ConsoleSession
    user: StaffUser | None
    address: str | None
    language: Language
    new: bool = False

    @property
    def csrf_token(self) -> str:
        """The token the page's forms carry."""
        return self.session.csrf_token

    @property
    def actor(self) -> StaffActor:
        """Who acts, for the services and the audit trail (only on a signed-in visit)."""
        assert self.user is not None, "a signed-in visit has a user"
        return self.user.actor(self.address)

    def may(self, power: Power) -> bool:
        """Whether the signed-in staff user's role grants ``power``."""
        return self.user is not None and self.actor.may(power)


_COOKIE: Final = SessionCookie(SECURE_COOKIE, PLAIN_COOKIE)


def set_session_cookie(request: Request, response: Response, session: ConsoleSession) -> Response:
    """Give the browser ``session``'s token in the console's cookie."""
    return _COOKIE.give(request, response, session.token, web_of(request).kleline.staff_sign_in.session_ttl)


def clear_session_cookie(request: Request, response: Response) -> Response:
    """Have the browser forget the console's cookie."""
    return _COOKIE.forget(request, response)


def _existing(request: Request) -> ConsoleSession | None:
    token = _COOKIE.token(request)
    return web_of(request).kleline.staff_sign_in.find(token) if token else None


def _visit(request: Request, session: ConsoleSession, *, new: bool = False) -> ConsoleVisit:
    user = session.user if session.signed_in else None
    return ConsoleVisit(session, user, client_address(request), language_of(request), new)


def console_visit(request: Request) -> ConsoleVisit:
    """The visit of a console page that may be signed out: its live session, or a new anonymous one."""
    session = _existing(request)
    if session is None:
        return _visit(request, web_of(request).kleline.staff_sign_in.start(), new=True)
    return _visit(request, session)


def _here(request: Request) -> str:
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


def console_next(value: str | None) -> str:
    """Where to go once signed in: a console path, else the console's home (never another site, nor a page of the
    dashboard's or the shopper's)."""
    path = safe_next(value)
    return path if path == CONSOLE or path.startswith(CONSOLE + "/") else CONSOLE


def _to_sign_in(request: Request, session: ConsoleSession | None, back: str) -> Answered:
    """Where a visit that is not signed in goes: the step its session is at, else the sign-in form."""
    next_query = urlencode({"next": console_next(back)})
    if session is not None and session.stage == "second_factor":
        step = web_of(request).kleline.staff_sign_in.next_step(session)
        if step in STEPS:
            return Answered(redirect(f"{STEPS[step]}?{next_query}"))
    return Answered(redirect(f"{SIGN_IN}?{next_query}"))


def signed_in_staff(request: Request) -> ConsoleVisit:
    """The visit of a page only a signed-in staff user may see; else ``Answered`` with a redirect to where its
    sign-in stands (the form, or the second factor), which comes back here once signed in."""
    session = _existing(request)
    if session is None or not session.signed_in:
        raise _to_sign_in(request, session, _here(request))
    return _visit(request, session)


StaffVisit = Annotated[ConsoleVisit, Depends(signed_in_staff)]
"""A route's parameter for the visit of a page every signed-in staff user may see, whatever its role."""


def console_post(request: Request, fields: dict[str, str], *, back: str) -> ConsoleVisit:
    """The visit of a console form's post, once its token is checked against the console's session; else
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


def signed_in_staff_post(request: Request, fields: dict[str, str], *, back: str) -> ConsoleVisit:
    """The visit of a signed-in console form's post; a post whose session was signed out since the form was shown
    goes to the sign-in page (and back to ``back``), changing nothing."""
    visit = console_post(request, fields, back=back)
    if visit.user is None:
        raise _to_sign_in(request, visit.session, back)
    return visit


def console_context(visit: ConsoleVisit | None, title: str, **context: Any) -> dict[str, Any]:
    """What the console's layout reads (its title, who is signed in and in which role, the sections its role may open
    as ``(key, path, name, summary)``, the forms' token, no errors yet), and ``context``."""
    user = visit.user if visit is not None else None
    _ = visit.language.gettext if visit is not None else str
    sections = visible_sections(user.actor(None) if user is not None else None)
    return {
        "title": title,
        "customer": None,
        "staff_user": user,
        "role_name": _(ROLE_NAMES[user.role]) if user is not None else "",
        "sections": [(s.key, s.path, _(s.name), _(s.summary)) for s in sections],
        "csrf_token": visit.csrf_token if visit is not None else "",
        "errors": [],
        "flash": None,
        "section": "",
        **context,
    }


def respond(request: Request, visit: ConsoleVisit | None, response: Response) -> Response:
    """``response``, with the console's cookie when the visit opened the session, the language's when the address
    chose one (``?lang=``), and the one-time note forgotten once shown."""
    if visit is not None and visit.new:
        set_session_cookie(request, response, visit.session)
    return keep_language_forget_note(request, response, secure=_COOKIE.secure(request))


def refused(request: Request, visit: ConsoleVisit, message: str, *, status: int = 403) -> Answered:
    """The page of an act the role does not allow (403), or of an object that does not exist (404)."""
    language = language_of(request)
    title = language.gettext(N_("Not allowed") if status == 403 else N_("Not found"))
    context = console_context(visit, title, message=message)
    return Answered(respond(request, visit, render(request, "console/refused.html", context, status=status)))


def require(request: Request, visit: ConsoleVisit, power: Power) -> None:
    """``Answered`` with the 403 page, naming the role and the power it lacks, unless the role grants ``power``."""
    if visit.may(power):
        return
    assert visit.user is not None
    _ = language_of(request).gettext
    message = _("Your role (%(role)s) does not allow this: it needs the power “%(power)s”. Ask an admin.") % {
        "role": _(ROLE_NAMES[visit.user.role]),
        "power": _(POWER_NAMES[power]),
    }
    raise refused(request, visit, message)


def console_page(power: Power) -> Callable[[Request], ConsoleVisit]:
    """A dependency: the visit of a page only a signed-in staff user whose role grants ``power`` may see (else a
    redirect to the sign-in, or the 403 page naming the missing power; the route does not run)."""

    def staff_with_power(request: Request) -> ConsoleVisit:
        visit = signed_in_staff(request)
        require(request, visit, power)
        return visit

    return staff_with_power


def console_form(power: Power, *, back: str) -> Callable[[Request, dict[str, str]], ConsoleVisit]:
    """A dependency: the visit of a form's post by a signed-in staff user whose role grants ``power``, its CSRF token
    checked first (a refusal links back to ``back``); nothing runs, nothing is written otherwise."""

    def staff_post_with_power(request: Request, form: Form) -> ConsoleVisit:
        visit = signed_in_staff_post(request, form, back=back)
        require(request, visit, power)
        return visit

    return staff_post_with_power
