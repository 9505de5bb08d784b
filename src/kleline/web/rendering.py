"""Jinja2 templates, escaped by default, and the headers every page is sent with.

Autoescaping is on for every template (``.html``), so a merchant's description or a customer's name is text, never
markup. ``StrictUndefined`` turns a misspelt variable into an error in tests rather than an empty string on a page.

The headers: no script, frame or plug-in may run (the pages need none: they work without JavaScript); no other site
may frame them (clickjacking); nothing is cached (pages carry form tokens and balances).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.responses import HTMLResponse, RedirectResponse, Response

from kleline.errors import KlelineError
from kleline.money import Money

__all__ = ["LOCALE", "PageError", "environment", "forbidden", "page_error", "redirect", "render", "secure_headers"]

LOCALE: Final = "en_GB"

# No ``form-action``: Chromium applies it to the redirect that follows a post, which must reach the shop.
_CSP: Final = (
    "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'; object-src 'none'"
)
_HEADERS: Final = {
    "Content-Security-Policy": _CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True, slots=True)
class PageError:
    """One problem to show in a page's error summary: ``field`` names the input it links to, if any."""

    message: str
    code: str
    field: str | None = None


def page_error(error: KlelineError, fields: Mapping[str, str] | None = None) -> PageError:
    """A refusal of a service as a page shows it; ``fields`` maps a service's ``param`` to the form's input."""
    field = None
    if error.param is not None and fields is not None:
        field = fields.get(error.param)
    return PageError(_sentence(error.detail), error.code, field)


def _sentence(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:] if text else text


def _money(amount: Money) -> str:
    return amount.format(LOCALE)


def _build_environment() -> Environment:
    env = Environment(
        loader=PackageLoader("kleline.web", "templates"),
        autoescape=select_autoescape(["html"], default_for_string=True, default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["money"] = _money
    return env


environment: Final = _build_environment()


R = TypeVar("R", bound=Response)


def secure_headers(response: R) -> R:
    """Add the pages' security headers to ``response``."""
    for name, value in _HEADERS.items():
        response.headers[name] = value
    return response


def render(template: str, context: Mapping[str, Any], *, status: int = 200) -> HTMLResponse:
    """Render ``template`` with ``context`` into a response with the pages' headers."""
    body = environment.get_template(template).render(context)
    return secure_headers(HTMLResponse(body, status_code=status))


def redirect(url: str) -> Response:
    """A 303 See Other: after a post, the browser fetches ``url`` with a GET."""
    return secure_headers(RedirectResponse(url, status_code=303))


def forbidden(reason: str, back: str) -> HTMLResponse:
    """The page a refused form post gets: why, and a link back to a fresh form."""
    context: dict[str, Any] = {"title": "This form cannot be accepted", "customer": None, "errors": []}
    context.update(reason=reason, back=back)
    return render("forbidden.html", context, status=403)
