"""The merchant's dashboard (``/dashboard``): its people's sign-in, invitations, team and audit trail, the
foundation the dashboard's other pages (sales, payouts, statements, developers, settings) build on.

The pages follow the shopper's (``kleline.web``: server-rendered, French and English, CSRF on every form, every
error at once, keyboard and 360 px usable) over the same services as the API (``kleline.merchant_users``), in a
session of the dashboard's own. A new page starts from ``visits``: ``signed_in_merchant_user`` (or
``signed_in_merchant_post``) for the visit and its ``actor``, ``require`` for the role, and, before a refund or a new
API key, ``require_recent_second_factor``; its template extends ``dashboard/_layout.html`` and adds its link to
``dashboard/_nav.html``.
"""

from fastapi import APIRouter

from kleline.web.dashboard import (
    charts,
    developers,
    home,
    invitations,
    join,
    offers,
    passkeys,
    payments,
    payouts,
    security,
    settings,
    sign_in,
    statements,
    team,
)

__all__ = ["routers"]

routers: tuple[APIRouter, ...] = (
    sign_in.router,
    passkeys.router,
    invitations.router,
    home.router,
    charts.router,
    team.router,
    payments.router,
    developers.router,
    payouts.router,
    statements.router,
    offers.router,
    settings.router,
    join.router,
    security.router,
)
"""The dashboard's routes, for ``kleline.web.app.install``."""
