"""The API's documentation pages, ``/docs`` (Swagger UI) and ``/redoc`` (ReDoc), served whole from this server.

FastAPI's own pages load Swagger UI and ReDoc from a CDN: offline (or behind a firewall, or with a CDN down) they
are blank, and a CDN's script runs with this origin's authority. Here the scripts and styles come from the
``fastapi-offline`` package (``fastapi_offline/static``, pinned in ``requirements.lock``), mounted under
``/assets/docs``, and the one line that starts Swagger UI is a file of ours (``static/swagger-init.js``), since no
inline script is allowed.

The pages get the same headers as Kleline's other pages, with a policy that allows what the two viewers need and
only from this origin: scripts and the OpenAPI document (``connect-src``, also Swagger UI's "Try it out") from
``'self'``, ``data:`` images (their icons), ReDoc's search worker from a ``blob:`` it makes itself, and inline
styles, which both viewers set at run time (ReDoc's styled-components writes ``<style>`` elements). No other host.
"""

from __future__ import annotations

from typing import Final

from fastapi import APIRouter, FastAPI, Request
from starlette.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from kleline.web.rendering import environment, secure_headers

__all__ = ["ASSETS", "DOCS_CSP", "SecureStaticFiles", "install"]

ASSETS: Final = "/assets/docs"
"""Where the viewers' scripts and styles are served (from the ``fastapi_offline`` package)."""

DOCS_CSP: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; worker-src 'self' blob:; base-uri 'none'; frame-ancestors 'none'; object-src 'none'; "
    "form-action 'none'"
)
# A static file opened directly (a script, a stylesheet) runs nothing and may not be framed.
_ASSET_CSP: Final = "default-src 'none'; frame-ancestors 'none'"


class SecureStaticFiles(StaticFiles):
    """Static files with the pages' headers: never sniffed into another type, never framed."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["Content-Security-Policy"] = _ASSET_CSP
        return response


router = APIRouter(include_in_schema=False)


def _page(request: Request, template: str) -> HTMLResponse:
    app = request.app
    assert isinstance(app, FastAPI)
    body = environment.get_template(template).render(title=app.title, openapi_url=app.openapi_url, assets=ASSETS)
    response = secure_headers(HTMLResponse(body))
    response.headers["Content-Security-Policy"] = DOCS_CSP
    return response


@router.get("/docs")
def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI on the OpenAPI document: every operation, with "Try it out"."""
    return _page(request, "swagger_ui.html")


@router.get("/redoc")
def redoc(request: Request) -> HTMLResponse:
    """ReDoc on the OpenAPI document: the same reference, to read."""
    return _page(request, "redoc.html")


def install(app: FastAPI) -> None:
    """Serve the documentation pages and their assets on ``app`` (whose own ``docs_url`` and ``redoc_url`` are off)."""
    app.include_router(router)
    app.mount(ASSETS, SecureStaticFiles(packages=[("fastapi_offline", "static")]), name="docs-assets")
