"""One transaction per request: the unit of work of the routes that can do all their work in one.

The Idempotency-Key middleware (``kleline.api.idempotency``) leaves the keys of these routes (``IN_TRANSACTION``) to
the route: it puts the request's key in the ASGI scope (``KeyedRequest``) instead of claiming it in a transaction of
its own. ``in_one_transaction`` then opens the request's transaction, claims the key in it first
(``Idempotency.begin_in``: a duplicate waits for this transaction and replays its answer), runs the route's work in
it (authentication and the merchant's row included, so that no read-only transaction of their own is needed), and
stores the answer in it before the COMMIT: one effect per key, and its answer, commit together or not at all.

What stays exact:
- a ``KlelineError`` whose answer is kept (a 404, a 409...) rolls the route's work back with the claim, and the key
  is claimed again in a second transaction that stores the problem document (``_refused``: no savepoint, which
  would cost every successful request two statements); one that is not kept (401, 403, 5xx) rolls everything back,
  the claim with it, so that a retry runs again;
- a route that finds it cannot finish in one transaction (a purse payment that needs a challenge, a card payment
  that must call the issuer between transactions) raises ``SlowPath`` or never calls ``in_one_transaction``: it
  then calls ``claimed_apart``, the middleware's own way (a claim committed alone, under a lease renewed by a
  heartbeat; the middleware stores the answer afterwards);
- an answer given before the route ran (a body the schema refuses) is stored by the middleware afterwards.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from pydantic import BaseModel
from starlette.responses import Response

from kleline.api import problems
from kleline.api.auth import kleline_of
from kleline.db.engine import RawTx
from kleline.errors import KlelineError
from kleline.idempotency import Claim, PreparedKey, StoredResponse, is_kept

__all__ = ["SCOPE_KEY", "KeyedRequest", "SlowPath", "claimed_apart", "in_one_transaction", "replay"]

SCOPE_KEY = "kleline.idempotency"
_KEPT_HEADERS = ("content-type", "location")
REPLAYED = "Idempotent-Replayed"


@dataclass(slots=True)
class KeyedRequest:
    """A request's Idempotency-Key, handed by the middleware to a route of ``IN_TRANSACTION``.

    ``settled``: the route claimed the key and either stored the answer, replayed one, or left nothing behind (the
    key was refused, or everything rolled back); the middleware passes the answer on. ``claim``: the route claimed
    it apart (``claimed_apart``); the middleware stores or releases it as for any other route. Neither: the route
    never ran, and the middleware stores the answer it gave.
    """

    principal: bytes
    key: str
    fingerprint: bytes
    settled: bool = False
    claim: Claim | None = None


class SlowPath(Exception):  # noqa: N818 - a signal, not an error
    """Raised by a route's work: this request cannot finish in one transaction; roll it back and take the other way."""


def in_one_transaction(
    request: Request, status: int, model: type[BaseModel], work: Callable[[RawTx], dict[str, Any]]
) -> Response:
    """Run ``work`` in the request's one transaction, with its Idempotency-Key claimed and answered in it."""
    kleline = kleline_of(request)
    keyed: KeyedRequest | None = request.scope.get(SCOPE_KEY)
    prepared: PreparedKey | None = None
    if keyed is not None:
        keyed.settled = True
        # Its HMACs before the transaction: not under the transaction's locks (SQLite's only write lock).
        prepared = kleline.idempotency.prepare(keyed.principal, keyed.key, keyed.fingerprint)
    try:
        with kleline.db.transaction() as tx:
            if prepared is None:
                return _json(status, model, work(tx))
            outcome = kleline.idempotency.begin_in(tx, prepared)
            if isinstance(outcome, StoredResponse):
                return replay(outcome)
            try:
                response = _json(status, model, work(tx))
            except KlelineError as error:
                if not is_kept(error.status):
                    raise
                raise _Refused(error) from error  # out of the block, which rolls the work and the claim back
            kleline.idempotency.complete_in(tx, outcome, _stored(response))
        return response
    except _Refused as refused:
        assert prepared is not None
        return _refused(request, prepared, refused.error)


class _Refused(Exception):  # noqa: N818 - a signal carrying the error whose answer is kept
    def __init__(self, error: KlelineError) -> None:
        super().__init__(error)
        self.error = error


def _refused(request: Request, prepared: PreparedKey, error: KlelineError) -> Response:
    """A kept refusal (a 404, a 409...): its work was rolled back with the claim, so the key is claimed again in a
    transaction of its own that stores the problem document with it.

    No savepoint spares the work a second transaction: the refusal is the rare case, and a savepoint would cost
    every successful request two statements. A duplicate that took the key meanwhile (while it was free) has run
    the request itself, and its stored answer is the one this request gives too: one answer per key either way."""
    kleline = kleline_of(request)
    response = problems.kleline_problem(error)
    with kleline.db.transaction() as tx:
        outcome = kleline.idempotency.begin_in(tx, prepared)
        if isinstance(outcome, StoredResponse):
            return replay(outcome)
        kleline.idempotency.complete_in(tx, outcome, _stored(response))
    return response


def _stored(response: Response) -> StoredResponse:
    headers = tuple((name, value) for name, value in response.headers.items() if name in _KEPT_HEADERS)
    return StoredResponse(response.status_code, headers, bytes(response.body))


def claimed_apart(request: Request) -> Response | None:
    """Claim the request's key the middleware's way (a transaction of its own, under a lease), before a route's
    multi-transaction work: None to go on (the middleware stores the answer), or the stored answer to replay."""
    keyed: KeyedRequest | None = request.scope.get(SCOPE_KEY)
    if keyed is None:
        return None
    keyed.settled = True  # until claimed: a refused key leaves nothing to store
    outcome = kleline_of(request).idempotency.begin(keyed.principal, keyed.key, keyed.fingerprint)
    if isinstance(outcome, StoredResponse):
        return replay(outcome)
    keyed.settled, keyed.claim = False, outcome
    return None


def replay(response: StoredResponse) -> Response:
    """A stored answer, sent again as it was, marked ``Idempotent-Replayed``."""
    headers = dict(response.headers)
    headers[REPLAYED] = "true"
    return Response(response.body, status_code=response.status, headers=headers)


def _json(status: int, model: type[BaseModel], data: dict[str, Any]) -> Response:
    # What FastAPI's response_model gives for the same data: validated, then dumped as JSON, the same compact UTF-8
    # bytes as JSONResponse's, by pydantic's serializer straight to bytes rather than to a dict, then json.dumps.
    return Response(model.model_validate(data).model_dump_json(), status_code=status, media_type="application/json")
