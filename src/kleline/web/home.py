"""The home page (``GET /``): what Kleline is and where to go from here, for a customer, a shop and a developer.

It is the address the server's banner prints, so it must be a page, not a JSON 404. Every link on it is to this
server (the pages, the malls, the API's documentation), so that it works offline like the rest. A signed-in customer
is offered their wallet; anyone else, to open one or sign in. The malls are listed as ``/malls`` lists them.
"""

from __future__ import annotations

from typing import Final

from fastapi import APIRouter, Request
from starlette.responses import Response

from kleline.web.i18n import N_, language_of
from kleline.web.malls import open_malls
from kleline.web.rendering import render
from kleline.web.visits import known_visit, page_context

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

_TITLE: Final = N_("Kleline: pay online shops from one wallet")


@router.get("/")
def home(request: Request) -> Response:
    """The home page; a signed-in visitor is shown as signed in, but no session is opened for anyone else."""
    title = language_of(request).gettext(_TITLE)
    context = page_context(known_visit(request), title, sign_out_next="/", malls=open_malls(request))
    return render(request, "home.html", context)
