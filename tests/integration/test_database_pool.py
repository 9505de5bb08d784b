"""The connection pool is bounded: a caller beyond it queues, then gets ``DatabaseBusy``; a database that cannot be
reached gives ``DatabaseUnavailable``; neither is a raw driver error (which the API would answer with a 500)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest

from kleline.db.engine import Database, DatabaseBusy, DatabaseUnavailable

from ..conftest import PG_ADMIN_URL, require_postgres


def test_a_caller_beyond_the_pool_queues_then_is_told_the_database_is_busy(database_url: str) -> None:
    db = Database(database_url, pool_size=1, pool_timeout=0.3)
    try:
        with db.transaction(write=False), ThreadPoolExecutor(1) as other:
            started = time.monotonic()
            with pytest.raises(DatabaseBusy) as refused:
                other.submit(lambda: db.transaction(write=False).__enter__()).result()
            assert 0.25 < time.monotonic() - started < 5
        assert refused.value.status == 503 and refused.value.retry_after >= 1
        with db.transaction(write=False) as tx:  # the pool is whole again
            assert tx.fetchone("SELECT 1")[0] == 1
    finally:
        db.dispose()


def test_a_queued_caller_gets_the_connection_freed_within_the_timeout(database_url: str) -> None:
    db = Database(database_url, pool_size=1, pool_timeout=10)
    held = threading.Event()

    def hold_briefly() -> None:
        with db.transaction(write=False):
            held.set()
            time.sleep(0.3)

    try:
        with ThreadPoolExecutor(1) as other:
            first = other.submit(hold_briefly)
            held.wait(5)
            with db.statement() as tx:  # the autocommit kind takes the freed connection in its own mode
                assert tx.fetchone("SELECT 1")[0] == 1
            first.result()
    finally:
        db.dispose()


def test_many_threads_never_open_more_connections_than_the_pool_allows(database_url: str) -> None:
    db = Database(database_url, pool_size=3, pool_timeout=30)
    most, lock = 0, threading.Lock()

    def work(_: int) -> None:
        nonlocal most
        with db.transaction(write=False) as tx:
            tx.fetchone("SELECT 1")
            with lock:
                most = max(most, db._open)  # noqa: SLF001 - the pool's own count is what is bounded
            time.sleep(0.01)

    try:
        with ThreadPoolExecutor(20) as pool:
            list(pool.map(work, range(100)))
        assert most == 3
    finally:
        db.dispose()


def test_a_read_nested_in_a_transaction_is_not_starved_by_a_full_pool(database_url: str) -> None:
    # Each thread holds one connection and asks for a second (as a balance read inside a transaction does): made to
    # queue behind the first ones, every thread would wait for the others and all would time out.
    db = Database(database_url, pool_size=2, pool_timeout=2)
    barrier = threading.Barrier(2)

    def nested(_: int) -> int:
        with db.transaction(write=False):
            barrier.wait(5)
            with db.transaction(write=False) as inner:
                return int(inner.fetchone("SELECT 1")[0])

    try:
        with ThreadPoolExecutor(2) as pool:
            assert list(pool.map(nested, range(2))) == [1, 1]
        assert db._open <= 2  # noqa: SLF001 - the connections beyond the pool were closed on their return
    finally:
        db.dispose()


def test_an_unreachable_postgresql_server_is_unavailable_not_a_driver_error() -> None:
    db = Database("postgresql://postgres@127.0.0.1:1/kleline", pool_size=1, pool_timeout=2)
    with pytest.raises(DatabaseUnavailable) as refused:
        with db.transaction():
            pass
    assert refused.value.status == 503
    with pytest.raises(DatabaseUnavailable):  # the failed connection gave its place back
        with db.statement():
            pass


def test_a_connection_the_server_dropped_is_unavailable_and_the_next_caller_reconnects(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has no server to drop a connection")
    require_postgres()
    db = Database(database_url, pool_size=1)
    try:
        with db.transaction(write=False) as tx:
            pid = tx.fetchone("SELECT pg_backend_pid()")[0]
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        with pytest.raises(DatabaseUnavailable), db.transaction(write=False) as tx:
            tx.fetchone("SELECT 1")
        with db.transaction(write=False) as tx:
            assert tx.fetchone("SELECT 1")[0] == 1
    finally:
        db.dispose()


def test_a_thread_asking_again_at_once_never_overtakes_a_caller_already_queuing(database_url: str) -> None:
    # A busy request thread releases its connection and asks for one again straight away: were the pool a free-for-all,
    # it would win every time and the queuing caller would time out with a 503 although connections keep coming back.
    db = Database(database_url, pool_size=1, pool_timeout=2)
    stop = threading.Event()
    cycles = 0

    def busy() -> None:
        nonlocal cycles
        while not stop.is_set():
            with db.transaction(write=False) as tx:
                tx.fetchone("SELECT 1")
                time.sleep(0.002)
            cycles += 1

    try:
        with ThreadPoolExecutor(1) as pool:
            running = pool.submit(busy)
            try:
                while cycles < 5:
                    time.sleep(0.01)
                started = time.monotonic()
                with db.transaction(write=False) as tx:  # queues behind at most the one transaction in progress
                    assert tx.fetchone("SELECT 1")[0] == 1
                waited = time.monotonic() - started
            finally:
                stop.set()  # before the executor waits for the busy thread
            running.result()
        assert waited < 1
    finally:
        db.dispose()
