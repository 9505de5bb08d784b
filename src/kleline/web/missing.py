"""The page of an address that names no page (``404`` to a browser): a person who mistyped ``/wallet/activty`` or
followed an old link reads a page in their language with the way home, not the API's problem JSON, which stays the
answer to every other client (``kleline.api.problems`` decides who is a browser)."""

from __future__ import annotations

from typing import Final

from fastapi import Request
from starlette.responses import Response

from kleline.web.i18n import N_, language_of
from kleline.web.rendering import render
from kleline.web.visits import page_context

__all__ = ["missing_page"]

_TITLE: Final = N_("No such page")
_MESSAGE: Final = N_("Nothing is at this address: the link may be mistyped, or the page has moved.")


def missing_page(request: Request) -> Response:
    """The not-found page, in the visitor's language, with links to the home page and the malls."""
    _ = language_of(request).gettext
    context = page_context(None, _(_TITLE), message=_(_MESSAGE), home_link=True)
    return render(request, "not_found.html", context, status=404)
