"""The language switch: the footer's link to a page in the other language, remembered in a cookie.

``GET /language?lang=fr&next=/checkout/pay_1`` sets the ``kleline_lang`` cookie and sends the browser back to
``next``. A GET is enough, and safe against cross-site request forgery: all a forged link can do is choose the
language the visitor sees (as ``?lang=`` on any page does), it reads and changes nothing else (no session, no form),
and ``next`` is only ever a path on this site (``paths.safe_next``), so the link cannot send anyone elsewhere.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from kleline.web.i18n import LANGUAGES, remember
from kleline.web.paths import safe_next
from kleline.web.rendering import redirect
from kleline.web.visits import web_of

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/language")
def switch_language(request: Request, lang: str = "", next: str | None = None) -> Response:
    """Remember ``lang`` (if it is one of the pages' languages) and go back to ``next``."""
    response = redirect(safe_next(next))
    language = LANGUAGES.get(lang.lower())
    if language is not None:
        remember(response, language, secure=web_of(request).cookies.secure)
    return response
