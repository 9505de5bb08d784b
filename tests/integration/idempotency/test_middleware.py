"""The Idempotency-Key middleware at the ASGI level, where an application may be cancelled mid-way."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest
from starlette.types import Message, Receive, Scope, Send

from kleline.api.idempotency import IdempotencyMiddleware
from kleline.db.engine import Database
from kleline.idempotency import Claim, Idempotency, StoredResponse, principal, request_fingerprint

from ...conftest import FakeClock

SCOPE: Scope = {
    "type": "http",
    "method": "POST",
    "path": "/v1/things",
    "query_string": b"",
    "headers": [(b"authorization", b"Bearer sk_one"), (b"idempotency-key", b"k1")],
}
ANSWER = StoredResponse(201, (("content-type", "application/json"),), b'{"id":"thing_1"}')


async def receive() -> Message:
    return {"type": "http.request", "body": b"{}", "more_body": False}


def run(app: object, idempotency: Idempotency) -> list[Message]:
    """Drive the middleware around ``app`` once; what it sent to the client."""
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    middleware = IdempotencyMiddleware(app, idempotency)  # type: ignore[arg-type]
    # A thread of its own, with its own event loop: earlier tests in the same process (Playwright's sync API) may
    # have left this thread with a running loop, where asyncio.run refuses to start.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, middleware(SCOPE, receive, send)).result()
    return sent


def outcome(idempotency: Idempotency) -> Claim | StoredResponse:
    """What a retry of the same request would meet."""
    return idempotency.begin(principal("Bearer sk_one"), "k1", request_fingerprint("POST", "/v1/things", "", b"{}"))


@pytest.fixture
def idempotency(db: Database, clock: FakeClock) -> Idempotency:
    return Idempotency(db, b"k" * 32, clock=clock)


def test_an_answer_complete_before_a_cancellation_is_kept_for_the_retry(idempotency: Idempotency) -> None:
    async def answered_then_cancelled(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 201, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": ANSWER.body})
        raise asyncio.CancelledError  # a background task cut short by a shutdown: the effect is done

    with pytest.raises(asyncio.CancelledError):
        run(answered_then_cancelled, idempotency)
    assert outcome(idempotency) == ANSWER


def test_a_request_cancelled_before_its_answer_frees_the_key(idempotency: Idempotency) -> None:
    async def cancelled(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 201, "headers": []})
        raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        run(cancelled, idempotency)
    assert isinstance(outcome(idempotency), Claim)
