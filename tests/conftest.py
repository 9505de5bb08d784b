"""Fixtures shared by every test: a fresh database per test on each backend (SQLite and PostgreSQL).

PostgreSQL tests create and drop their own database, so that runs never disturb each other. When PostgreSQL is
unreachable they are skipped locally, and fail under ``CI=true``.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from kleline.db.engine import Database
from kleline.db.migrate import upgrade
from kleline.ledger import Ledger

PG_ADMIN_URL = os.environ.get("KLELINE_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/test")
BACKENDS = ["sqlite", "postgresql"]


def _pg_reachable() -> str | None:
    try:
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3):
            return None
    except psycopg.OperationalError as error:
        return str(error).strip()


_PG_PROBLEM = _pg_reachable()


def require_postgres() -> None:
    """Skip (or, under CI, fail) a PostgreSQL test when the server cannot be reached."""
    if _PG_PROBLEM is not None:
        message = f"PostgreSQL unreachable at {PG_ADMIN_URL}: {_PG_PROBLEM}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


def _pg_url(name: str) -> str:
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    return f"{base}/{name}"


def _admin(sql: str) -> None:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as connection:
        connection.execute(sql)


def create_database_url(backend: str, tmp_path: Path) -> tuple[str, str | None]:
    """A URL to a new, empty database, and the PostgreSQL database name to drop afterwards."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'kleline.db'}", None
    require_postgres()
    name = f"kleline_test_{secrets.token_hex(6)}"
    _admin(f'CREATE DATABASE "{name}"')
    return _pg_url(name), name


def drop_database(name: str | None) -> None:
    """Drop a test database made by ``create_database_url`` (closing leftover connections)."""
    if name is not None:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database on each backend."""
    url, name = create_database_url(request.param, tmp_path)
    db = Database(url)
    upgrade(db)
    db.dispose()
    try:
        yield url
    finally:
        drop_database(name)


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    """An open database on a migrated schema."""
    database = Database(database_url)
    try:
        yield database
    finally:
        database.dispose()


class FakeClock:
    """A clock that tests move by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        """Move time forward."""
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> FakeClock:
    """A clock starting at 2026-01-15 09:30 UTC."""
    return FakeClock()


@pytest.fixture
def ledger(db: Database, clock: FakeClock) -> Ledger:
    """A ledger on a fresh database, with a hand-moved clock."""
    books = Ledger(db, clock=clock, chain_shards=4)
    books.prepare()
    return books
