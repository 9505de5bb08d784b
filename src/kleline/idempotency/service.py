"""Idempotency-Key records: a retried POST gets the first answer, never a second effect.

How one key goes (the HTTP side, ``kleline.api.idempotency``, drives it):

1. ``begin`` claims the key *before* the request runs, by inserting an in-flight row; the row's unique id decides
   a race between duplicates on SQLite and PostgreSQL alike. A duplicate finds the row: with another request it
   gets ``IdempotencyKeyReused``; while the first still runs, ``RequestInProgress``; afterwards, the stored answer.
2. The request runs.
3. ``complete`` stores the answer (status, content type and location, body, sealed: see ``sealing``) when
   ``model.is_kept`` says so; otherwise ``release`` deletes the claim and the key is free again.

Why a 5xx or an exception releases the claim rather than being replayed: a server error means the request did not
finish, and the services write in one transaction, so nothing was applied; where a side effect outside the database
may have happened (a card authorisation at the issuer), the service carries its own id-based idempotency. A retry
must therefore be allowed to run again, and replaying a 500 for 24 hours would only pin an outage to the key.

A claim is a lease: while its request runs, a heartbeat thread of the process renews it (``created_at``, for a claim,
is when its holder was last heard from) every quarter of ``lock_timeout``. A claim whose process died (``kill -9``,
a lost machine) stops being renewed, and ``lock_timeout`` (15 seconds by default) after its last renewal a duplicate
takes it over and runs the request, on the same reasoning as for a 5xx; a claim whose request still runs, however
slowly, keeps answering ``RequestInProgress``. The heartbeat is a thread of its own rather than a task of the
request, so that neither a busy event loop nor a request blocked in a bank call delays it; one thread renews every
claim of the process. The lease must outlast a renewal's own wait for a database connection (the pool's timeout,
5 seconds by default) with room to spare, or a live request could lose its claim to a retry.
Records are kept for ``retention`` (24 hours by default); an older record no longer counts, and ``sweep`` deletes it.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from kleline.clock import Clock, epoch_us, system_clock
from kleline.db.engine import Database, RawTx
from kleline.idempotency import store
from kleline.idempotency.model import IdempotencyKeyReused, RequestInProgress, StoredResponse, check_key
from kleline.idempotency.sealing import RecordKeys, open_response, record_keys, seal_response

__all__ = ["Claim", "Idempotency", "PreparedKey"]

log = logging.getLogger(__name__)

_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class PreparedKey:
    """A request's Idempotency-Key made ready for ``begin_in``: the record's keys and the request's stored MAC.

    Pure computation (HMACs, no database): prepared before the request's transaction opens, it is not done while
    the transaction holds its locks (on SQLite, the database's only write lock)."""

    keys: RecordKeys
    request_mac: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class Claim:
    """A key this request holds: run it, then ``complete`` or ``release`` the claim."""

    keys: RecordKeys
    token: bytes = field(repr=False)


class Idempotency:
    """Claims, answers and the sweep of Idempotency-Key records; ``secret`` is a server-side key (never stored)."""

    def __init__(
        self,
        db: Database,
        secret: bytes,
        *,
        clock: Clock = system_clock,
        retention: timedelta = timedelta(hours=24),
        lock_timeout: timedelta = timedelta(seconds=15),
    ) -> None:
        self._db = db
        # A key of our own, derived under a label, so that the secret handed in (the card fingerprint key, which
        # is never rotated) serves here without its own use being exposed or weakened.
        self._server_key = hmac.new(secret, b"kleline-idempotency-v1", hashlib.sha256).digest()
        self._clock = clock
        self.retention = retention
        self.lock_timeout = lock_timeout
        self._heartbeat = _Heartbeat(self._renew, lock_timeout.total_seconds() / 4)

    def begin(self, principal: bytes, key: str, fingerprint: bytes) -> Claim | StoredResponse:
        """Claim ``key`` for this request, or return the first request's stored answer.

        Raises ``IdempotencyKeyReused`` if the key was first used for another request (another fingerprint), and
        ``RequestInProgress`` while the first request with the key is still running.
        """
        prepared = self.prepare(principal, key, fingerprint)
        keys, request_mac = prepared.keys, prepared.request_mac
        now = epoch_us(self._clock())
        for _ in range(_ATTEMPTS):
            token = secrets.token_bytes(16)
            with self._db.statement() as tx:
                inserted = store.insert_claim(tx, keys.id, request_mac, token, now)
            if inserted:
                return self._held(Claim(keys, token))
            with self._db.transaction(write=False) as tx:
                record = store.fetch(tx, keys.id)
            if record is None:
                continue  # released between our insert and our read: try to claim it again
            if record.created_at <= now - _us(self.retention):
                with self._db.statement() as tx:
                    store.delete_claim(tx, keys.id, record.claim)
                continue
            self._refuse_unless_replayable(record, request_mac, now)
            if record.status is None:
                with self._db.statement() as tx:
                    if store.take_over(tx, keys.id, record.claim, token, now):
                        log.warning("took over an abandoned idempotency claim (its request never answered)")
                        return self._held(Claim(keys, token))
                continue
            assert record.response is not None
            return open_response(keys, record.status, record.response)
        # The key changed hands at every attempt: only a storm of duplicates does that, and they are in flight.
        raise RequestInProgress("requests with this Idempotency-Key are being processed")

    def _refuse_unless_replayable(self, record: store.Record, request_mac: bytes, now: int) -> None:
        """Refuse a key met again with another request, or whose first request still runs under a live lease."""
        if not secrets.compare_digest(record.request_mac, request_mac):
            raise IdempotencyKeyReused(
                "this Idempotency-Key was first used for another request (method, path or body): "
                "use a new key for a new request"
            )
        if record.status is None and record.created_at > now - _us(self.lock_timeout):
            raise RequestInProgress("the first request with this Idempotency-Key has not answered yet")

    def prepare(self, principal: bytes, key: str, fingerprint: bytes) -> PreparedKey:
        """The record's keys and the request's MAC for ``key`` (``InvalidIdempotencyKey`` if malformed)."""
        keys = record_keys(self._server_key, principal, check_key(key))
        return PreparedKey(keys, keys.request_mac(fingerprint))

    def begin_in(self, tx: RawTx, prepared: PreparedKey) -> Claim | StoredResponse:
        """``begin`` inside the request's own transaction, whose COMMIT publishes the claim with the answer, for a
        key made ready by ``prepare`` before the transaction opened.

        The claim row is inserted first; until the transaction ends nobody else sees it, and a duplicate's own
        insert of the same key waits for it (a unique key being written) on PostgreSQL, or for the write lock on
        SQLite, then finds the answer and replays it. So no lease is needed: a process that dies mid-way takes its
        uncommitted claim with it, and the key is free at once. A claim left by another request running in
        transactions of its own (a card payment) is met exactly as ``begin`` meets it, under its lease.
        """
        keys, request_mac = prepared.keys, prepared.request_mac
        now = epoch_us(self._clock())
        token = secrets.token_bytes(16)
        for _ in range(_ATTEMPTS):
            if store.insert_claim(tx, keys.id, request_mac, token, now, alone=False):
                return Claim(keys, token)
            record = store.fetch(tx, keys.id)
            if record is None:
                continue  # released between our insert and our read
            if record.created_at <= now - _us(self.retention):
                store.delete_claim(tx, keys.id, record.claim)
                continue
            self._refuse_unless_replayable(record, request_mac, now)
            if record.status is None:
                if store.take_over(tx, keys.id, record.claim, token, now):
                    log.warning("took over an abandoned idempotency claim (its request never answered)")
                    return Claim(keys, token)
                continue
            assert record.response is not None
            return open_response(keys, record.status, record.response)
        raise RequestInProgress("requests with this Idempotency-Key are being processed")

    def complete_in(self, tx: RawTx, claim: Claim, response: StoredResponse) -> None:
        """Store the answer of a claim taken by ``begin_in``, in the same transaction (sent with its COMMIT)."""
        store.complete_deferred(
            tx,
            claim.keys.id,
            claim.token,
            response.status,
            seal_response(claim.keys, response),
            epoch_us(self._clock()),
        )

    def complete(self, claim: Claim, response: StoredResponse) -> bool:
        """Store the answer of a claimed request; False (and a warning) if the claim was lost meanwhile."""
        sealed = seal_response(claim.keys, response)
        now = epoch_us(self._clock())
        try:
            with self._db.statement() as tx:
                stored = store.complete(tx, claim.keys.id, claim.token, response.status, sealed, now)
        finally:
            self._heartbeat.forget(claim)  # stored or not, this request is over: its lease runs out by itself
        if not stored:
            log.warning("an idempotency claim was lost before its answer could be stored")
        return stored

    def release(self, claim: Claim) -> None:
        """Give up a claim without storing an answer (a 5xx, an exception, a transient refusal)."""
        try:
            with self._db.statement() as tx:
                store.release(tx, claim.keys.id, claim.token)
        finally:
            self._heartbeat.forget(claim)

    def _held(self, claim: Claim) -> Claim:
        self._heartbeat.keep(claim)
        return claim

    def _renew(self, claim: Claim) -> bool:
        """Extend a running request's lease; False when the claim is no longer this request's."""
        with self._db.statement() as tx:
            return store.renew(tx, claim.keys.id, claim.token, epoch_us(self._clock()))

    def sweep(self, now: datetime | None = None) -> int:
        """Delete the records older than the retention period; the number deleted (the worker calls it)."""
        cutoff = epoch_us(now or self._clock()) - _us(self.retention)
        with self._db.statement() as tx:
            return store.sweep(tx, cutoff)


class _Heartbeat:
    """One thread per process that renews the lease of every claim whose request is running, every ``interval``
    seconds; it stops when no claim is held, and starts again with the next one."""

    def __init__(self, renew: Callable[[Claim], bool], interval: float) -> None:
        self._renew = renew
        self._interval = interval
        self._claims: dict[bytes, Claim] = {}
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None

    def keep(self, claim: Claim) -> None:
        with self._changed:
            self._claims[claim.token] = claim
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="idempotency-heartbeat", daemon=True)
                self._thread.start()

    def forget(self, claim: Claim) -> None:
        with self._changed:
            self._claims.pop(claim.token, None)

    def _run(self) -> None:
        while True:
            with self._changed:
                self._changed.wait(self._interval)
                if not self._claims:
                    self._thread = None
                    return
                claims = list(self._claims.values())
            for claim in claims:
                try:
                    if not self._renew(claim):
                        self.forget(claim)  # completed, released or taken over meanwhile: nothing to renew
                except Exception:
                    log.exception("an idempotency claim's lease could not be renewed (the next beat tries again)")


def _us(delta: timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
