"""The HTTP side of Idempotency-Key: an ASGI middleware around every ``POST /v1/...``.

A pure ASGI middleware rather than Starlette's ``BaseHTTPMiddleware``, which wraps every request in a task group
and a streaming bridge: a request without the header passes straight through after a scan of its header names,
so that it costs nothing measurable. With the header, the body is read whole (it must be fingerprinted) and fed
again to the application; the answer is buffered, stored, and only then sent, so that a client holding an answer
always gets the same one on a retry. The database work is synchronous (``Database``) and runs in a worker thread.

See ``kleline.idempotency.service`` for the life of a key and why a 5xx is not replayed.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Iterable
from typing import Any

import anyio
import anyio.to_thread
from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kleline.api import problems
from kleline.api.asgi import feed
from kleline.api.unit_of_work import SCOPE_KEY, KeyedRequest
from kleline.errors import KlelineError
from kleline.idempotency import (
    HEADER,
    KEY_PATTERN,
    MAX_KEY_LENGTH,
    Claim,
    Idempotency,
    InvalidIdempotencyKey,
    StoredResponse,
    check_key,
    is_kept,
    principal,
    request_fingerprint,
)

__all__ = ["IdempotencyMiddleware", "install"]

log = logging.getLogger(__name__)

_HEADER_NAME = HEADER.lower().encode()
_KEPT_HEADERS = (b"content-type", b"location")
REPLAYED = "Idempotent-Replayed"

IN_TRANSACTION = (re.compile(r"^/v1/payments$"), re.compile(r"^/v1/payments/[^/]+/confirm$"))
"""The routes that claim their key in their own request transaction (``kleline.api.unit_of_work``): the
middleware hands them the key instead of claiming it in a transaction of its own."""


class IdempotencyMiddleware:
    """Replays the first answer to a ``POST /v1/...`` retried with the same ``Idempotency-Key``."""

    def __init__(self, app: ASGIApp, idempotency: Idempotency) -> None:
        self.app = app
        self.idempotency = idempotency

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or not scope["path"].startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        keys = [value for name, value in scope["headers"] if name == _HEADER_NAME]
        if not keys:
            await self.app(scope, receive, send)
            return
        await self._idempotent(scope, receive, send, keys)

    async def _idempotent(self, scope: Scope, receive: Receive, send: Send, keys: list[bytes]) -> None:
        try:
            if len(keys) > 1:
                raise InvalidIdempotencyKey(f"send one {HEADER} header, not {len(keys)}")
            key = check_key(keys[0].decode("latin-1"))
        except KlelineError as error:
            await _problem(error, scope, receive, send)
            return
        body = await _read_body(receive)
        if body is None:
            return  # the client left before sending its body: nobody to answer
        caller = principal(_first_header(scope["headers"], b"authorization"))
        fingerprint = request_fingerprint("POST", scope["path"], scope["query_string"].decode("latin-1"), body)
        if any(pattern.match(scope["path"]) for pattern in IN_TRANSACTION):
            keyed = KeyedRequest(caller, key, fingerprint)
            await self._run(None, {**scope, SCOPE_KEY: keyed}, feed(body, receive), send, keyed)
            return
        try:
            outcome = await anyio.to_thread.run_sync(self.idempotency.begin, caller, key, fingerprint)
        except KlelineError as error:
            await _problem(error, scope, receive, send)
            return
        if isinstance(outcome, StoredResponse):
            await _replay(outcome, send)
            return
        await self._run(outcome, scope, feed(body, receive), send)

    async def _run(
        self, claim: Claim | None, scope: Scope, receive: Receive, send: Send, keyed: KeyedRequest | None = None
    ) -> None:
        """Run the request and keep its answer under ``claim``; for a route of ``IN_TRANSACTION``, ``keyed`` says
        what the route did with the key (``kleline.api.unit_of_work``)."""
        start: Message | None = None
        chunks: list[bytes] = []
        finished = False

        async def capture(message: Message) -> None:
            nonlocal start, finished
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                finished = not message.get("more_body", False)
            else:
                await send(message)

        failure: Exception | None = None
        try:
            await self.app(scope, receive, capture)
        except Exception as error:
            if keyed is not None:
                claim = keyed.claim
            if not finished:
                if claim is not None:
                    await self._settle(self.idempotency.release, claim)
                raise
            # The answer was complete when something after it failed (a background task): the request's effect is
            # done, so its answer is kept and sent, and the error goes on to be logged.
            failure = error
        except BaseException:
            # Cancelled (the server shutting down, say). Once the answer was complete, the effect is done just the
            # same: the answer is kept for a retry (there is nobody left to send it to); before that, released.
            if keyed is not None:
                claim = keyed.claim
            if claim is not None and start is not None and finished:
                await self._keep(claim, start, b"".join(chunks))
            elif claim is not None:
                await self._settle(self.idempotency.release, claim)
            raise
        if keyed is not None:
            claim = keyed.claim
        if start is None or not finished:  # the application sent no whole answer: there is nothing to keep
            if claim is not None:
                await self._settle(self.idempotency.release, claim)
            return
        body = b"".join(chunks)
        if claim is not None:
            await self._keep(claim, start, body)
        elif keyed is not None and not keyed.settled and is_kept(int(start["status"])):
            # The route never ran (its body was refused, say): the answer is stored now, unless a duplicate's was.
            try:
                outcome = await anyio.to_thread.run_sync(
                    self.idempotency.begin, keyed.principal, keyed.key, keyed.fingerprint
                )
            except KlelineError as error:
                await _problem(error, scope, receive, send)
                return
            if isinstance(outcome, StoredResponse):
                await _replay(outcome, send)
                return
            await self._keep(outcome, start, body)
        await send(start)
        await send({"type": "http.response.body", "body": body, "more_body": False})
        if failure is not None:
            raise failure

    async def _keep(self, claim: Claim, start: Message, body: bytes) -> None:
        """Store a kept answer, or release the claim of one that is not kept (before the client sees it)."""
        status = int(start["status"])
        if not is_kept(status):
            await self._settle(self.idempotency.release, claim)
            return
        kept = tuple(
            (name.decode("latin-1"), value.decode("latin-1"))
            for name, value in start.get("headers", ())
            if name.lower() in _KEPT_HEADERS
        )
        try:
            await self._settle(self.idempotency.complete, claim, StoredResponse(status, kept, body))
        except Exception:
            # The request's effect is done: the client gets its answer all the same. The claim stays in flight
            # until the lock timeout, when a retry may take it over.
            log.exception("the answer to an idempotent request could not be stored")

    @staticmethod
    async def _settle(action: Callable[..., object], *args: object) -> None:
        # Shielded: a cancelled request must still release or complete its claim, or the key stays blocked.
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(functools.partial(action, *args))


async def _read_body(receive: Receive) -> bytes | None:
    """The whole request body, or None if the client disconnected first."""
    parts: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(parts)


def _first_header(raw: Iterable[tuple[bytes, bytes]], name: bytes) -> str | None:
    """The first value of a header, as Starlette's ``Request.headers`` (and so the authentication) reads it."""
    for header, value in raw:
        if header.lower() == name:
            return value.decode("latin-1")
    return None


async def _replay(response: StoredResponse, send: Send) -> None:
    headers = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in response.headers]
    headers += [(b"content-length", str(len(response.body)).encode()), (REPLAYED.lower().encode(), b"true")]
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body, "more_body": False})


async def _problem(error: KlelineError, scope: Scope, receive: Receive, send: Send) -> None:
    # The same document the application's handler of KlelineError would give (this runs outside the application).
    title = error.code.replace("_", " ").capitalize()
    response = problems.problem(error.status, error.code, title, error.detail, param=error.param, **error.extensions())
    await problems.with_retry_after(response, error)(scope, receive, send)


def install(app: FastAPI, idempotency: Idempotency) -> None:
    """Put the middleware around ``app`` and name the header on every ``POST /v1`` operation of its OpenAPI schema."""
    app.add_middleware(IdempotencyMiddleware, idempotency=idempotency)
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        schema = generate()
        for path, operations in schema.get("paths", {}).items():
            operation = operations.get("post")
            if path.startswith("/v1/") and operation is not None:
                parameters = operation.setdefault("parameters", [])
                if not any(parameter.get("name") == HEADER for parameter in parameters):
                    parameters.append(_HEADER_PARAMETER)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


_HEADER_PARAMETER: dict[str, Any] = {
    "name": HEADER,
    "in": "header",
    "required": False,
    # What ``check_key`` accepts (anything else is a 400 ``validation_error`` naming the header).
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH, "pattern": KEY_PATTERN},
    "description": (
        f"1 to {MAX_KEY_LENGTH} printable ASCII characters (a UUID is the usual choice). "
        "Makes a retry safe: the same key with the same request returns the first answer (with "
        "`Idempotent-Replayed: true`) instead of running again, for 24 hours by default. The same key with another "
        "method, path or body gets 409 `idempotency_key_reused`; a duplicate sent while the first is still running "
        "gets 409 `idempotency_request_in_progress` with `Retry-After`. Keys are scoped to the caller's API key. "
        "Server errors (5xx), 401, 403, 408 and 429 are not kept: a retry runs again."
    ),
}
