"""Idempotency records on both backends: claims, answers, races, expiry, abandoned claims and the sweep."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from kleline.db.engine import Database
from kleline.idempotency import (
    Claim,
    Idempotency,
    IdempotencyKeyReused,
    RequestInProgress,
    StoredResponse,
    request_fingerprint,
)

from ...conftest import FakeClock

ADA = b"bearer:ct_ada"
BOB = b"bearer:ct_bob"
CREATE = request_fingerprint("POST", "/v1/things", "", b'{"n":1}')
OTHER = request_fingerprint("POST", "/v1/things", "", b'{"n":2}')
ANSWER = StoredResponse(201, (("content-type", "application/json"),), b'{"id":"thing_1","secret":"sk_shown_once"}')


@pytest.fixture
def idempotency(db: Database, clock: FakeClock) -> Idempotency:
    return Idempotency(db, b"k" * 32, clock=clock, retention=timedelta(hours=24), lock_timeout=timedelta(minutes=5))


def rows(db: Database) -> list[tuple[object, ...]]:
    with db.transaction(write=False) as tx:
        return [tuple(row) for row in tx.fetchall("SELECT * FROM idempotency_records")]


def claimed(outcome: Claim | StoredResponse) -> Claim:
    assert isinstance(outcome, Claim), outcome
    return outcome


def test_a_key_is_claimed_once_then_answers_with_the_first_response(idempotency: Idempotency) -> None:
    claim = claimed(idempotency.begin(ADA, "k1", CREATE))
    with pytest.raises(RequestInProgress):
        idempotency.begin(ADA, "k1", CREATE)
    assert idempotency.complete(claim, ANSWER)
    assert idempotency.begin(ADA, "k1", CREATE) == ANSWER
    assert idempotency.begin(ADA, "k1", CREATE) == ANSWER


def test_a_key_used_for_another_request_is_refused_in_flight_and_after(idempotency: Idempotency) -> None:
    claim = claimed(idempotency.begin(ADA, "k1", CREATE))
    with pytest.raises(IdempotencyKeyReused):
        idempotency.begin(ADA, "k1", OTHER)
    idempotency.complete(claim, ANSWER)
    with pytest.raises(IdempotencyKeyReused) as refused:
        idempotency.begin(ADA, "k1", OTHER)
    assert (refused.value.code, refused.value.status) == ("idempotency_key_reused", 409)


def test_two_callers_with_the_same_key_string_never_meet(idempotency: Idempotency) -> None:
    ada = claimed(idempotency.begin(ADA, "k1", CREATE))
    bob = claimed(idempotency.begin(BOB, "k1", OTHER))
    idempotency.complete(ada, ANSWER)
    idempotency.complete(bob, StoredResponse(201, (), b"bob's"))
    assert idempotency.begin(ADA, "k1", CREATE) == ANSWER
    assert idempotency.begin(BOB, "k1", OTHER) == StoredResponse(201, (), b"bob's")


def test_a_released_claim_frees_the_key_for_a_retry(idempotency: Idempotency, db: Database) -> None:
    idempotency.release(claimed(idempotency.begin(ADA, "k1", CREATE)))
    assert rows(db) == []
    retry = claimed(idempotency.begin(ADA, "k1", CREATE))
    idempotency.complete(retry, ANSWER)
    assert idempotency.begin(ADA, "k1", CREATE) == ANSWER


def test_nothing_readable_is_stored(idempotency: Idempotency, db: Database) -> None:
    idempotency.complete(claimed(idempotency.begin(ADA, "order-42", CREATE)), ANSWER)
    [row] = rows(db)
    stored = b"".join(bytes(v) if isinstance(v, bytes | memoryview) else str(v).encode() for v in row)
    for secret in (b"sk_shown_once", b"thing_1", b"ct_ada", b"order-42", CREATE):
        assert secret not in stored


def test_concurrent_duplicates_claim_the_key_exactly_once(idempotency: Idempotency) -> None:
    start = threading.Barrier(8)

    def attempt(_: int) -> str:
        start.wait()
        try:
            idempotency.begin(ADA, "storm", CREATE)
        except RequestInProgress:
            return "in progress"
        return "claimed"

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(attempt, range(8)))
    assert sorted(outcomes) == ["claimed"] + ["in progress"] * 7


def test_a_record_past_its_retention_no_longer_counts(idempotency: Idempotency, clock: FakeClock) -> None:
    idempotency.complete(claimed(idempotency.begin(ADA, "k1", CREATE)), ANSWER)
    clock.advance(hours=23, minutes=59)
    assert idempotency.begin(ADA, "k1", CREATE) == ANSWER
    clock.advance(minutes=1)
    # The key is free again: even another request may use it.
    claimed(idempotency.begin(ADA, "k1", OTHER))


def test_an_abandoned_claim_is_taken_over_after_the_lock_timeout(idempotency: Idempotency, clock: FakeClock) -> None:
    dead = claimed(idempotency.begin(ADA, "k1", CREATE))
    clock.advance(minutes=4, seconds=59)
    with pytest.raises(RequestInProgress):
        idempotency.begin(ADA, "k1", CREATE)
    clock.advance(seconds=1)
    with pytest.raises(IdempotencyKeyReused):
        idempotency.begin(ADA, "k1", OTHER)
    retry = claimed(idempotency.begin(ADA, "k1", CREATE))
    # The dead request, should it come back, can neither answer for the key nor free it.
    assert not idempotency.complete(dead, StoredResponse(500, (), b"late"))
    idempotency.release(dead)
    with pytest.raises(RequestInProgress):
        idempotency.begin(ADA, "k1", CREATE)
    assert idempotency.complete(retry, ANSWER)
    assert idempotency.begin(ADA, "k1", CREATE) == ANSWER


def test_the_sweep_deletes_what_is_past_retention_and_keeps_the_rest(
    idempotency: Idempotency, clock: FakeClock, db: Database
) -> None:
    idempotency.complete(claimed(idempotency.begin(ADA, "old", CREATE)), ANSWER)
    claimed(idempotency.begin(BOB, "old-in-flight", CREATE))
    clock.advance(hours=12)
    idempotency.complete(claimed(idempotency.begin(ADA, "recent", CREATE)), ANSWER)
    assert idempotency.sweep(clock.now + timedelta(hours=11)) == 0
    clock.advance(hours=12, microseconds=1)
    assert idempotency.sweep() == 2
    assert len(rows(db)) == 1
    assert idempotency.begin(ADA, "recent", CREATE) == ANSWER
    assert idempotency.sweep() == 0


def test_the_claims_lazy_commit_does_not_leak_to_the_next_statement_on_its_connection(
    idempotency: Idempotency, db: Database
) -> None:
    claimed(idempotency.begin(ADA, "k1", CREATE))
    if db.is_postgres:  # SQLite has no per-transaction synchronous_commit: there the claim is an ordinary commit
        # The claim ran on a connection of the single-statement pool; the next statement there commits as usual.
        with db.statement() as tx:
            assert tx.fetchone("SHOW synchronous_commit")[0] == "on"
    assert len(rows(db)) == 1
