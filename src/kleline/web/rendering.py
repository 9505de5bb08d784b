"""Jinja2 templates, escaped by default, in the visitor's language, and the headers every page is sent with.

Autoescaping is on for every template (``.html``), so a merchant's description or a customer's name is text, never
markup. ``StrictUndefined`` turns a misspelt variable into an error in tests rather than an empty string on a page.

Each language has its own environment, with Jinja2's i18n extension bound to its catalog and a ``money`` filter in
its formats (see ``kleline.web.i18n``): a page is rendered whole in one language, with no global state switched per
request. ``render`` takes the request, as Starlette's ``TemplateResponse`` does, to know the language, and gives the
layout ``<html lang>`` and the footer's links to the other languages.

The headers: no script, frame or plug-in may run (the pages need none: they work without JavaScript); no other site
may frame them (clickjacking); nothing is cached (pages carry form tokens and balances).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, TypeVar
from urllib.parse import urlencode

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from kleline.web.i18n import ENGLISH, LANGUAGES, N_, Language, language_of
from kleline.web.paths import safe_next
from kleline.web.template_i18n import CompiledTranslations, translate_when_compiled

__all__ = ["allow_scripts", "environment", "environment_for", "forbidden", "redirect", "render", "secure_headers"]

# No ``form-action``: Chromium applies it to the redirect that follows a post, which must reach the shop.
_CSP: Final = (
    "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'; object-src 'none'"
)
# Only the pages that run a passkey ceremony (kleline.web.security, the sign-in and checkout pages offering one):
# the site's own static scripts, never inline ones.
_CSP_WITH_SCRIPTS: Final = _CSP.replace("default-src 'none';", "default-src 'none'; script-src 'self';")
_HEADERS: Final = {
    "Content-Security-Policy": _CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def _build_environment(language: Language) -> Environment:
    env = Environment(
        loader=PackageLoader("kleline.web", "templates"),
        autoescape=select_autoescape(["html"], default_for_string=True, default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=[CompiledTranslations],
        auto_reload=False,  # the templates are the package's files: no need to stat them at every page
    )
    env.policies["ext.i18n.trimmed"] = True  # a message's line breaks and indentation are not part of it
    # Added by the i18n extension, hence unknown to mypy; newstyle: placeholders are escaped and checked.
    env.install_gettext_translations(language.translations, newstyle=True)  # type: ignore[attr-defined]
    translate_when_compiled(env, language.translations.gettext)  # the fixed blocks: once per template, not per page
    env.filters["money"] = language.money
    return env


_ENVIRONMENTS: Final = {code: _build_environment(language) for code, language in LANGUAGES.items()}
environment: Final = _ENVIRONMENTS[ENGLISH.code]
"""The English environment (the default language)."""


def environment_for(language: Language) -> Environment:
    """The templates' environment for ``language``."""
    return _ENVIRONMENTS[language.code]


R = TypeVar("R", bound=Response)


def secure_headers(response: R) -> R:
    """Add the pages' security headers to ``response``."""
    for name, value in _HEADERS.items():
        response.headers[name] = value
    return response


def _switch_links(request: Request, current: Language) -> list[tuple[Language, str]]:
    """Links to this page in the other languages, through the switch that remembers the choice."""
    # A ``next`` is carried over only as the page itself would take it: a crafted link's other site stays out.
    query = [(k, safe_next(v) if k == "next" else v) for k, v in request.query_params.multi_items() if k != "lang"]
    here = request.url.path + (f"?{urlencode(query)}" if query else "")
    return [
        (language, "/language?" + urlencode({"lang": language.code, "next": here}))
        for language in LANGUAGES.values()
        if language != current
    ]


def render(request: Request, template: str, context: Mapping[str, Any], *, status: int = 200) -> HTMLResponse:
    """Render ``template`` with ``context`` in ``request``'s language into a response with the pages' headers."""
    language = language_of(request)
    page = {**context, "lang": language.code, "language_links": _switch_links(request, language)}
    page.setdefault("unread_offers", _unread_offers(request, context.get("customer")))
    body = environment_for(language).get_template(template).render(page)
    # The same address reads differently per visitor: ``Vary``. The headers are given whole, not set one by one.
    headers = {**_HEADERS, "Content-Language": language.code, "Vary": "Accept-Language, Cookie"}
    return HTMLResponse(body, status_code=status, headers=headers)


def _unread_offers(request: Request, customer: Any) -> Any:
    """The wallet's navigation's count of unread offers, read only if the page shows that navigation."""

    def unread() -> int:
        if customer is None:
            return 0
        return int(request.app.state.web.kleline.inbox.unread(customer.id))

    return unread


def allow_scripts(response: R) -> R:
    """Let ``response``'s page load this site's own script files (``/static/*.js``), and no other script."""
    response.headers["Content-Security-Policy"] = _CSP_WITH_SCRIPTS
    return response


def redirect(url: str) -> Response:
    """A 303 See Other: after a post, the browser fetches ``url`` with a GET."""
    return secure_headers(RedirectResponse(url, status_code=303))


def forbidden(request: Request, reason: str, back: str) -> HTMLResponse:
    """The page a refused form post gets: why (a message marked with ``N_``), and a link back to a fresh form."""
    language = language_of(request)
    title = language.gettext(N_("This form cannot be accepted"))
    context: dict[str, Any] = {"title": title, "customer": None, "errors": [], "flash": None}
    context.update(reason=language.gettext(reason), back=back)
    return render(request, "forbidden.html", context, status=403)
