"""Cross-site request forgery: every form post must carry its session's synchroniser token.

A page renders the session's token in a hidden field; a post is accepted only when the field equals the token of
the session its cookie names (compared in constant time, so that timing tells an attacker nothing about it). A
forged post from another site has the cookie at best (``SameSite=Lax`` already withholds it from cross-site posts)
but never the token, which only our own pages show.

When the browser says where a post comes from (``Origin``), it must be the pages' own origin as well: the public
address, or the one the request was made to (a development server reached under another name). ``Origin: null``
(sandboxed frames, some redirects) is refused.
"""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from starlette.requests import Request

from kleline.web.i18n import N_
from kleline.web.sessions import WebSession

__all__ = ["CsrfRejected", "check", "origin_of"]


class CsrfRejected(Exception):
    """A post without its session, without the session's token, or from another origin; ``reason`` is in English,
    marked for translation (the page that shows it translates it)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def origin_of(url: str) -> str:
    """The ``scheme://host[:port]`` origin of a URL, lower-cased, default ports left out."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"  # an IPv6 literal
    port = parts.port
    default = {"http": 80, "https": 443}.get(scheme)
    return f"{scheme}://{host}" if port is None or port == default else f"{scheme}://{host}:{port}"


def check(request: Request, session: WebSession | None, submitted: str | None, public_url: str) -> None:
    """Accept a form post, or raise ``CsrfRejected`` saying why."""
    origin = request.headers.get("origin")
    if origin is not None and not _same_origin(origin, request, public_url):
        raise CsrfRejected(N_("the form was sent from another site"))
    if session is None:
        raise CsrfRejected(N_("the session has expired"))
    if not submitted or not hmac.compare_digest(submitted.encode(), session.csrf_token.encode()):
        raise CsrfRejected(N_("the form's security token is missing or out of date"))


def _same_origin(origin: str, request: Request, public_url: str) -> bool:
    try:
        return origin_of(origin) in {origin_of(public_url), origin_of(str(request.base_url))}
    except ValueError:  # a port that is not a number
        return False
