"""Mount the pages on the application: the checkout, sign-in, wallet-opening and language-switch routes, the
merchant's dashboard, Kleline's operator console, and their stylesheet."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI, Request
from starlette.responses import Response

from kleline.bootstrap import Kleline
from kleline.web import (
    account,
    checkout,
    console,
    dashboard,
    docs,
    history,
    home,
    inbox,
    languages,
    malls,
    passkey_sign_in,
    privacy,
    receipts,
    security,
    top_up,
    top_up_challenge,
    wallet,
    wallet_forms,
    your_data,
)
from kleline.web.sessions import WebSessions, cookie_policy
from kleline.web.visits import Answered, WebState

__all__ = ["install", "not_found_page", "too_large_page"]


def install(app: FastAPI, kleline: Kleline) -> None:
    """Add Kleline's pages to ``app`` (served from the same origin as the API, under ``settings.public_url``)."""
    settings = kleline.settings
    sessions = WebSessions(kleline.db, clock=kleline.clock, ttl=timedelta(minutes=settings.web_session_minutes))
    app.state.web = WebState(kleline, sessions, cookie_policy(settings.public_url))
    app.add_exception_handler(Answered, _send)
    app.include_router(account.router)
    app.include_router(checkout.router)
    app.include_router(languages.router)
    app.include_router(malls.router)
    app.include_router(wallet.router)
    app.include_router(wallet_forms.router)
    app.include_router(top_up.router)
    app.include_router(top_up_challenge.router)
    app.include_router(history.router)
    app.include_router(inbox.router)
    app.include_router(receipts.router)
    app.include_router(security.router)
    app.include_router(privacy.router)
    app.include_router(your_data.router)
    app.include_router(passkey_sign_in.router)
    for router in dashboard.routers:
        app.include_router(router)
    for router in console.routers:
        app.include_router(router)
    app.mount("/static", docs.SecureStaticFiles(packages=[("kleline.web", "static")]), name="static")
    app.include_router(home.router)
    docs.install(app)


async def _send(_request: Request, answered: Exception) -> Response:
    assert isinstance(answered, Answered)
    return answered.response


def not_found_page(request: Request) -> Response | None:
    """The pages' own not-found page for a path under theirs that can name nothing (the API's door refuses a control
    character in a path before any route runs), or None for a path that is not a page's."""
    if request.scope["path"].startswith("/checkout/"):
        return checkout.not_found_page(request)
    if request.scope["path"].startswith(("/malls/", "/merchants/")):
        return malls.not_found_page(request)
    return None


def too_large_page(request: Request) -> Response | None:
    """The pages' own answer to a body past the door's bound (the receipt check's file), or None for the door's."""
    return receipts.too_large_page(request)
