"""Rate limits per client, counted in the database: exact under concurrency, shared by every process, per window."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from kleline.db.engine import Database
from kleline.ratelimit import SIGN_IN, SIGN_UP, Rate, RateLimited, RateLimits

from ...conftest import TEST_POOL_SIZE, FakeClock

RATES = {SIGN_IN: Rate(20, timedelta(minutes=1)), SIGN_UP: Rate(10, timedelta(hours=1))}
PROCESSES = 4  # as many Database objects as server processes, each with its own pool


@pytest.fixture
def processes(database_url: str) -> Iterator[list[Database]]:
    """Several pools on one database, as ``kleline serve --workers 4`` has."""
    pools = [Database(database_url, pool_size=TEST_POOL_SIZE, pool_timeout=30) for _ in range(PROCESSES)]
    try:
        yield pools
    finally:
        for pool in pools:
            pool.dispose()


@pytest.fixture
def limits(db: Database, clock: FakeClock) -> RateLimits:
    return RateLimits(db, RATES, clock=clock)


def attempt(limits: RateLimits, scope: str, host: str) -> str:
    try:
        limits.take(scope, host)
    except RateLimited as refused:
        return f"refused, retry after {refused.retry_after}"
    return "let through"


def test_the_attempt_after_the_limit_is_refused_until_the_window_ends(limits: RateLimits, clock: FakeClock) -> None:
    clock.advance(seconds=15)  # 09:30:15: the minute's window ends in 45 seconds
    assert [attempt(limits, SIGN_IN, "203.0.113.7") for _ in range(20)] == ["let through"] * 20
    with pytest.raises(RateLimited) as refused:
        limits.take(SIGN_IN, "203.0.113.7")
    assert (refused.value.code, refused.value.status, refused.value.retry_after) == ("rate_limited", 429, 45)
    clock.advance(seconds=44, microseconds=500_000)
    assert attempt(limits, SIGN_IN, "203.0.113.7") == "refused, retry after 1"
    clock.advance(seconds=1)  # the next window
    assert attempt(limits, SIGN_IN, "203.0.113.7") == "let through"


def test_another_client_and_another_scope_keep_their_own_count(limits: RateLimits) -> None:
    for _ in range(10):
        limits.take(SIGN_UP, "203.0.113.7")
    assert attempt(limits, SIGN_UP, "203.0.113.7").startswith("refused")
    assert attempt(limits, SIGN_UP, "203.0.113.8") == "let through"
    assert attempt(limits, SIGN_IN, "203.0.113.7") == "let through"


def test_one_ipv6_subscriber_is_one_client_whatever_address_of_its_64_it_uses(limits: RateLimits) -> None:
    for suffix in range(10):
        limits.take(SIGN_UP, f"2001:db8:1:2::{suffix + 1:x}")
    assert attempt(limits, SIGN_UP, "2001:db8:1:2:ffff:ffff:ffff:ffff").startswith("refused")
    assert attempt(limits, SIGN_UP, "2001:db8:1:3::1") == "let through"


@pytest.mark.parametrize("scope", [SIGN_IN, SIGN_UP])
def test_forty_concurrent_attempts_from_one_client_over_four_processes_let_exactly_the_limit_through(
    processes: list[Database], clock: FakeClock, scope: str
) -> None:
    workers = [RateLimits(db, RATES, clock=clock) for db in processes]
    with ThreadPoolExecutor(40) as clients:
        outcomes = list(clients.map(lambda i: attempt(workers[i % PROCESSES], scope, "198.51.100.1"), range(40)))
    assert outcomes.count("let through") == RATES[scope].limit
    assert len(outcomes) - outcomes.count("let through") == 40 - RATES[scope].limit


def test_the_counters_of_ended_windows_are_forgotten(limits: RateLimits, db: Database, clock: FakeClock) -> None:
    for client in range(5):
        limits.take(SIGN_IN, f"192.0.2.{client}")
    clock.advance(minutes=1)
    limits.take(SIGN_IN, "192.0.2.200")  # the first attempt of a new window prunes the ended ones
    with db.transaction(write=False) as tx:
        rows = tx.execute("SELECT client FROM rate_limit_hits").fetchall()
    assert [row[0] for row in rows] == ["192.0.2.200"]
