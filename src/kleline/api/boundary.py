"""The door every request passes first: bodies bounded in size, and no control character in what reaches SQL.

A pure ASGI middleware, outside every other one (``Idempotency-Key`` included, so that a refused request never
claims a key), because the two checks must come before anything reads or stores the request:

- **Size.** A body is bounded by route (``Limits``): a declared ``Content-Length`` above the bound is answered 413
  ``payload_too_large`` before a byte is read, and a chunked body is counted as it streams, so that a client can
  never make a worker hold more than the bound. JSON and form bodies (small by their bound) are read here to be
  inspected and handed on; any other body (a bank statement's XML) streams through a counting ``receive`` that
  raises ``PayloadTooLarge`` once it goes past its bound, which is answered 413 wherever it surfaces.
- **Control characters.** PostgreSQL cannot store NUL in text (SQLite can), and no id, name or cursor has a use for
  a control character, so they are refused at the door on both backends alike, before they reach a query: in the
  decoded path a 404 ``not_found`` (the path can name nothing; the pages show their own not-found page), in the
  query string or a header a 400 ``validation_error`` naming it, in a JSON or form body a 400 ``validation_error``
  naming the field. Text in bodies may hold tab, line feed and carriage return (a note, an address); nothing else
  below U+0020, nor DEL, nor a lone surrogate (which no database can encode).
"""

from __future__ import annotations

import json
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import parse_qsl

from fastapi import FastAPI
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kleline.api import problems
from kleline.api.asgi import feed

__all__ = ["BoundaryMiddleware", "Limits", "PayloadTooLarge", "install"]

# Anywhere a name, an id or a cursor is read (paths, query strings): every C0 control character and DEL.
_CONTROL = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")
# In body text: the same, but for tab, line feed and carriage return.
_CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
# Header values: RFC 9110 allows HTAB and visible characters; NUL, CR, LF and the other controls never.
_CONTROL_IN_HEADER = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
_JSON = re.compile(r"^application/(?:[\w.+-]+\+)?json$")
_FORM = "application/x-www-form-urlencoded"

NotFoundPage = Callable[[Request], Response | None]

STATEMENT_FORM: Final = "/console/money/statements"
"""The console's form that uploads a bank statement: bounded as the API's import is, not as a page's form (16 KiB,
which a real camt.053 of a few dozen lines outgrows); the page refuses a larger file with its own message."""
FORM_SLACK: Final = 64 * 1024
"""Room for a multipart form's boundaries, part headers and other fields around its file."""


class PayloadTooLarge(HTTPException):
    """A body longer than its route's bound. An ``HTTPException`` so that FastAPI, reading a body through the
    counting ``receive``, lets it through as it is (it turns any other error while reading into a 400)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than this route accepts ({limit} bytes at most)")
        self.limit = limit


@dataclass(frozen=True, slots=True)
class Limits:
    """The largest body, in bytes, of an API call, a bank statement import and a page's form."""

    json: int
    statement: int
    form: int

    def of(self, scope: Scope) -> int:
        """The bound of this request's body: by its route, never by what the client says the body is."""
        path: str = scope["path"]
        if scope["method"] == "POST":
            if path.rstrip("/") == "/v1/bank-statements":
                return self.statement
            if path.rstrip("/") == STATEMENT_FORM:
                return self.statement + FORM_SLACK
        return self.json if path.startswith("/v1/") else self.form


class BoundaryMiddleware:
    """Refuses an oversized body (413) and control characters (404 in the path, 400 elsewhere) before the app."""

    def __init__(
        self,
        app: ASGIApp,
        limits: Limits,
        not_found_page: NotFoundPage | None = None,
        too_large_page: NotFoundPage | None = None,
    ) -> None:
        self.app = app
        self.limits = limits
        self.not_found_page = not_found_page
        self.too_large_page = too_large_page

    def _too_large(self, scope: Scope, limit: int) -> Response:
        """413: the page's own answer where a page gives one (a form with a file), else the problem document."""
        page = self.too_large_page(Request(scope)) if self.too_large_page is not None else None
        return page or _too_large(limit)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = self._refusal(scope)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        limit = self.limits.of(scope)
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._too_large(scope, limit)(scope, receive, send)
            return
        media_type = (_header(scope, b"content-type") or "").partition(";")[0].strip().lower()
        if not media_type or _JSON.match(media_type) or media_type == _FORM:  # FastAPI reads no type as JSON
            await self._inspected(scope, receive, send, limit, form=media_type == _FORM)
            return
        await self._counted(scope, _counting(receive, limit), send)

    def _refusal(self, scope: Scope) -> Response | None:
        """The answer to a control character in the path, the query string or a header, or None."""
        if _CONTROL.search(scope["path"]):
            page = self.not_found_page(Request(scope)) if self.not_found_page is not None else None
            return page or problems.problem(404, "not_found", "Not found", "no object has this path")
        for name, value in parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True):
            if _CONTROL.search(name) or _CONTROL.search(value):
                return _control(name)
        for name, raw in scope["headers"]:
            if _CONTROL_IN_HEADER.search(raw):
                return _control(name.decode("latin-1").lower())
        return None

    async def _inspected(self, scope: Scope, receive: Receive, send: Send, limit: int, *, form: bool) -> None:
        try:
            body = await _read(receive, limit)
        except PayloadTooLarge:
            await self._too_large(scope, limit)(scope, receive, send)
            return
        if body is None:
            return  # the client left before sending its body: nobody to answer
        param = _form_control(body) if form else _json_control(body)
        if param is not None:
            await _control(param)(scope, receive, send)
            return
        await self._counted(scope, feed(body, receive), send)

    async def _counted(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except PayloadTooLarge as error:  # surfaced outside the app's handlers (read by an outer middleware)
            if started:
                raise
            await self._too_large(scope, error.limit)(scope, receive, send)


def _header(scope: Scope, name: bytes) -> str | None:
    for header, value in scope["headers"]:
        if header == name:
            return str(value.decode("latin-1"))
    return None


def _control(param: str) -> Response:
    detail = f"{param}: control characters are not allowed"
    return problems.problem(400, "validation_error", "Validation error", detail, param=param)


def _too_large(limit: int) -> Response:
    error = PayloadTooLarge(limit)
    return problems.problem(413, "payload_too_large", "Payload too large", str(error.detail))


async def _read(receive: Receive, limit: int) -> bytes | None:
    """The whole body, at most ``limit`` bytes (``PayloadTooLarge`` past it), or None if the client left."""
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(limit)
        parts.append(chunk)
        if not message.get("more_body", False):
            return b"".join(parts)


def _counting(receive: Receive, limit: int) -> Receive:
    """A ``receive`` that raises ``PayloadTooLarge`` as soon as the body goes past ``limit`` bytes."""
    size = 0

    async def counted() -> Message:
        nonlocal size
        message = await receive()
        if message["type"] == "http.request":
            size += len(message.get("body", b""))
            if size > limit:
                raise PayloadTooLarge(limit)
        return message

    return counted


def _form_control(body: bytes) -> str | None:
    """The first form field whose name or value holds a control character (read as the pages read forms)."""
    for name, value in parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True):
        if _CONTROL.search(name) or _CONTROL_IN_TEXT.search(value):
            return name if not _CONTROL.search(name) else "body"
    return None


def _json_control(body: bytes) -> str | None:
    """Where in a JSON body a key or a string holds a control character (``a.0.b``, as validation errors name
    fields), or None; a body that is no JSON is left to the application to refuse."""
    if not body:
        return None  # a GET's empty body, say: nothing to inspect
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return None
    pending: deque[tuple[tuple[str, ...], Any]] = deque([((), document)])
    while pending:  # a loop, not recursion: the nesting is the client's to choose
        where, value = pending.popleft()
        if isinstance(value, str):
            if _CONTROL_IN_TEXT.search(value):
                return ".".join(where) or "body"
        elif isinstance(value, dict):
            for key, item in value.items():
                if _CONTROL.search(key):
                    return ".".join(where) or "body"
                pending.append(((*where, key), item))
        elif isinstance(value, list):
            pending.extend(((*where, str(index)), item) for index, item in enumerate(value))
    return None


def install(
    app: FastAPI, limits: Limits, not_found_page: NotFoundPage | None = None, too_large_page: NotFoundPage | None = None
) -> None:
    """Put the door around ``app``: install it after every other middleware, so that it runs first."""
    app.add_middleware(BoundaryMiddleware, limits=limits, not_found_page=not_found_page, too_large_page=too_large_page)
