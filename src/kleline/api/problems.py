"""RFC 9457 problem documents: every error the API returns, with a stable machine ``code``."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from kleline.api.routing import allowed_methods
from kleline.errors import KlelineError
from kleline.web.missing import missing_page

__all__ = ["install", "problem", "with_retry_after"]

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://kleline.org/problems/"

_HTTP_CODES = {401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed"}
_HTTP_CODES[413] = "payload_too_large"  # a body past its route's bound (kleline.api.boundary)


def problem(status: int, code: str, title: str, detail: str, **extra: Any) -> JSONResponse:
    """A problem+json response."""
    body = {"type": TYPE_BASE + code, "title": title, "status": status, "detail": detail, "code": code}
    body.update({k: v for k, v in extra.items() if v is not None})
    # RFC 9110: a 401 says how to authenticate.
    headers = {"WWW-Authenticate": 'Bearer realm="kleline"'} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def _title(code: str) -> str:
    return code.replace("_", " ").capitalize()


async def _kleline_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, KlelineError)
    return kleline_problem(error)


def kleline_problem(error: KlelineError) -> JSONResponse:
    """The answer to a ``KlelineError``, exactly as the application's handler gives it (for a route that must hold
    the answer before its transaction commits: ``kleline.api.unit_of_work``)."""
    response = problem(
        error.status, error.code, _title(error.code), error.detail, param=error.param, **error.extensions()
    )
    return with_retry_after(response, error)


def with_retry_after(response: JSONResponse, error: KlelineError) -> JSONResponse:
    """Say when to come back (RFC 9110 ``Retry-After``) for an error that carries ``retry_after`` seconds: a busy
    database, a request still in progress, a rate limit."""
    retry_after = getattr(error, "retry_after", None)
    if isinstance(retry_after, int):
        response.headers["Retry-After"] = str(retry_after)
    return response


async def _validation_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    first = error.errors()[0] if error.errors() else {}
    location = [str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path", "header")]
    param = ".".join(location) or None
    message = first.get("msg", "invalid request")
    return problem(400, "validation_error", "Validation error", f"{param or 'request'}: {message}", param=param)


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, StarletteHTTPException)
    if _from_a_browser(request):
        if error.status_code == 404:
            return missing_page(request)
        if error.status_code == 405 and request.method in ("GET", "HEAD"):
            page = _nearest_page(request.app, request.url.path)
            if page is not None:
                query = request.url.query
                return RedirectResponse(page + (f"?{query}" if query else ""), status_code=303)
    code = _HTTP_CODES.get(error.status_code, "http_error")
    response = problem(error.status_code, code, _title(code), str(error.detail))
    response.headers.update(error.headers or {})
    if error.status_code == 405:  # RFC 9110: a 405 names every method the path does take
        allowed = allowed_methods(request.app, request.url.path)
        if allowed:
            response.headers["Allow"] = ", ".join(allowed)
    return response


def _from_a_browser(request: Request) -> bool:
    """A person's browser asking for a page: an HTML answer outside the API's ``/v1``, whose clients read JSON."""
    path = request.url.path
    return not (path == "/v1" or path.startswith("/v1/")) and "text/html" in request.headers.get("accept", "")


def _nearest_page(app: FastAPI, path: str) -> str | None:
    """The closest address above ``path`` that a browser may open: an address that only takes a form's post
    (``/checkout/{id}/authenticate``), opened by a link, a bookmark or the language switch after that form was
    refused, leads to the page of the form (``/checkout/{id}``) rather than to a ``405``."""
    if path.startswith("//"):  # a redirect there would leave the site (a scheme-relative address)
        return None
    while path not in ("", "/"):
        path = path.rstrip("/").rsplit("/", 1)[0] or "/"
        if "GET" in allowed_methods(app, path):
            return path
    return None


async def _unexpected(_request: Request, error: Exception) -> JSONResponse:
    log.exception("unexpected error", exc_info=error)
    return problem(500, "internal_error", "Internal error", "something went wrong on our side; it has been logged")


def install(app: FastAPI) -> None:
    """Route every error through problem JSON."""
    app.add_exception_handler(KlelineError, _kleline_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
