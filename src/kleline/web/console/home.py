"""The console's home page (``/console``): what waits for the staff (applications, new bank accounts, proposals,
suspense lines, each counted and linked to its queue), who is signed in, in which role, what the role allows, and the
sections it opens (``sections.SECTIONS``).

The counts are the clerks' morning glance: each is one ``COUNT`` of its service, so that the page costs four small
reads, not the queues themselves."""

from __future__ import annotations

from typing import Final

from fastapi import APIRouter, Request
from starlette.responses import Response

from kleline.staff.roles import ROLE_POWERS
from kleline.web.console.visits import CONSOLE, StaffVisit, console_context, respond
from kleline.web.console.wording import POWER_NAMES, ROLE_DUTIES, note_of
from kleline.web.i18n import N_, language_of
from kleline.web.rendering import render
from kleline.web.security import when
from kleline.web.visits import web_of

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

_TITLE: Final = N_("Kleline's console")


def _waiting(request: Request) -> dict[str, int]:
    """How much waits in each of the console's queues that every role reads."""
    kleline = web_of(request).kleline
    return {
        "applications": kleline.merchants.count("pending"),
        "bank_changes": kleline.bank_account_changes.pending_count(),
        "proposals": kleline.proposals.pending_count(),
        "suspense": kleline.suspense.open_count(),
    }


@router.get(CONSOLE)
def home_page(request: Request, visit: StaffVisit) -> Response:
    """Who you are, your role, and links to the sections your role opens."""
    assert visit.user is not None
    language = language_of(request)
    powers = [power for power in POWER_NAMES if power in ROLE_POWERS[visit.user.role]]
    context = console_context(
        visit,
        language.gettext(_TITLE),
        section="home",
        flash=note_of(request, signed_in=True),
        role_duties=language.gettext(ROLE_DUTIES[visit.user.role]),
        powers=[language.gettext(POWER_NAMES[power]) for power in powers],
        since=when(visit.user.created_at, language),
        waiting=_waiting(request),
    )
    return respond(request, visit, render(request, "console/home.html", context))
