"""Under load the API degrades, never fails: a saturated or unreachable database is a 503 with ``Retry-After``,
and however many requests arrive, a process holds no more connections than its pool allows."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
from fastapi.testclient import TestClient

from kleline.bootstrap import Kleline, build
from kleline.config import load_settings

from ..conftest import PG_ADMIN_URL, FakeClock
from .http import bearer, problem

PASSWORD = "correct horse battery staple"
POOL = 2


@pytest.fixture
def kleline(database_url: str, clock: FakeClock) -> Iterator[Kleline]:
    """Kleline with a pool of two connections that queues for half a second."""
    settings = load_settings(database_url=database_url, db_pool_size=POOL, db_pool_timeout_seconds=0.5)
    system = build(settings, clock=clock)
    try:
        yield system
    finally:
        system.close()


def customer_token(client: TestClient) -> str:
    signed_up = client.post("/v1/customers", json={"email": "ada@example.org", "password": PASSWORD, "name": "Ada"})
    assert signed_up.status_code == 201, signed_up.text
    signed_in = client.post("/v1/auth/token", json={"email": "ada@example.org", "password": PASSWORD})
    token: str = signed_in.json()["token"]
    return token


def hold_every_connection(kleline: Kleline, release: threading.Event, held: threading.Barrier) -> None:
    with kleline.db.transaction(write=False):
        held.wait(5)
        release.wait(30)


def test_a_saturated_pool_is_a_503_with_retry_after_not_a_500(kleline: Kleline, client: TestClient) -> None:
    token = customer_token(client)
    release, held = threading.Event(), threading.Barrier(POOL + 1)
    with ThreadPoolExecutor(POOL) as holders:
        for _ in range(POOL):
            holders.submit(hold_every_connection, kleline, release, held)
        held.wait(5)
        try:
            busy = client.get("/v1/wallet", headers=bearer(token))
            signing_up = client.post(
                "/v1/customers",
                json={"email": "bob@example.org", "password": PASSWORD, "name": "Bob"},
                headers={"Idempotency-Key": "sign-up-bob"},
            )
        finally:
            release.set()
    body = problem(busy, 503, "database_busy")
    assert int(busy.headers["Retry-After"]) >= 1
    assert "connections" in body["detail"]
    problem(signing_up, 503, "database_busy")  # refused before the key was even claimed
    assert int(signing_up.headers["Retry-After"]) >= 1
    # Freed, the same requests go through (the 503 was not kept for the key).
    assert client.get("/v1/wallet", headers=bearer(token)).status_code == 200
    retried = client.post(
        "/v1/customers",
        json={"email": "bob@example.org", "password": PASSWORD, "name": "Bob"},
        headers={"Idempotency-Key": "sign-up-bob"},
    )
    assert retried.status_code == 201, retried.text


def test_an_unreachable_database_is_a_503_with_retry_after(
    kleline: Kleline, client: TestClient, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("an SQLite file has no server to go away")
    token = customer_token(client)
    name = database_url.rsplit("/", 1)[1]
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        try:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
            answers = [client.get("/v1/wallet", headers=bearer(token)) for _ in range(3)]
        finally:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
    for answer in answers:
        problem(answer, 503, "database_unavailable")
        assert int(answer.headers["Retry-After"]) >= 1
    assert client.get("/v1/wallet", headers=bearer(token)).status_code == 200  # back as soon as the server is


def test_concurrent_requests_stay_within_the_pool_on_the_server(
    kleline: Kleline, client: TestClient, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("counted on the PostgreSQL server")
    token = customer_token(client)
    name = database_url.rsplit("/", 1)[1]
    most, done = 0, threading.Event()

    def count() -> None:
        nonlocal most
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            while not done.is_set():
                row = admin.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (name,)).fetchone()
                most = max(most, row[0] if row else 0)
                time.sleep(0.005)

    counter = threading.Thread(target=count)
    counter.start()
    try:
        with ThreadPoolExecutor(40) as clients:
            statuses = list(
                clients.map(lambda _: client.get("/v1/wallet", headers=bearer(token)).status_code, range(200))
            )
    finally:
        done.set()
        counter.join()
    assert set(statuses) <= {200, 503}, statuses
    assert statuses.count(200) > 0
    assert 0 < most <= 2 * POOL  # a transaction's nested read may add one per holder, never more
