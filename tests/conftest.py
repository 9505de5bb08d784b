"""Fixtures shared by every test: a fresh database per test on each backend (SQLite and PostgreSQL).

PostgreSQL tests create and drop their own database, so that runs never disturb each other. When PostgreSQL is
unreachable they are skipped locally, and fail under ``CI=true``.

Migrating a database costs far more than copying one, and a thousand tests ask for a migrated database: the schema is
migrated once per session and per backend into a template (a SQLite file, a PostgreSQL template database), and each
test gets a copy of it (a file copy, ``CREATE DATABASE ... TEMPLATE``), the same schema as its own migration would
give. The PostgreSQL copies are made a couple ahead, and the databases dropped, in threads beside the tests.

The suite shares its PostgreSQL server with other work, so it keeps to a bounded number of connections: every
``Database`` of a test holds at most ``TEST_POOL_SIZE`` (twice that with nested reads), Kleline built from the
settings too (``KLELINE_DB_POOL_SIZE``, inherited by the child processes), and the session's connections carry
an ``application_name`` of their own, so that each test module's teardown checks that none is left open behind it.

Passwords are hashed with argon2's cheapest parameters here (``CHEAP_PASSWORDS``): with RFC 9106's, the
thousands of sign-ups and sign-ins took about half of the suite's time. Kleline's own processes started by a test
(``kleline serve``, ``kleline demo``) keep the real ones, and a unit test checks that a fresh process uses them.
"""

from __future__ import annotations

import os
import queue
import secrets
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from alembic import command
from alembic.config import Config
from argon2 import Parameters, PasswordHasher, Type

from kleline.db.engine import Database
from kleline.db.migrate import MIGRATIONS, upgrade
from kleline.ledger import Ledger
from kleline.wallet.password_hashing import use_hasher

PG_ADMIN_URL = os.environ.get("KLELINE_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/test")
BACKENDS = ["sqlite", "postgresql"]
TEST_POOL_SIZE = 2
ADMIN_NAME = "kleline-tests-admin"  # creating, dropping and counting databases: not counted
os.environ.setdefault("KLELINE_DB_POOL_SIZE", str(TEST_POOL_SIZE))
# libpq names every connection of this session (and of its child processes) after it, so that they can be counted.
# Under pytest-xdist each worker is a session of its own, counting only its own connections: it names them itself
# rather than inherit the name its parent (the controller) set.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ["PGAPPNAME"] = f"kleline-tests-{os.getpid()}"
APPLICATION_NAME = os.environ.setdefault("PGAPPNAME", f"kleline-tests-{os.getpid()}")
# The CLI's tables (Rich) are as wide as the terminal, or 80 columns where there is none (a pytest-xdist worker):
# one width everywhere, wide enough that an id is never folded across two lines.
os.environ.setdefault("COLUMNS", "200")
CHEAP_PASSWORDS = Parameters(
    type=Type.ID, version=19, salt_len=16, hash_len=16, time_cost=1, memory_cost=8, parallelism=1
)
use_hasher(PasswordHasher.from_parameters(CHEAP_PASSWORDS))


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
    with psycopg.connect(PG_ADMIN_URL, autocommit=True, application_name=ADMIN_NAME) as connection:
        connection.execute(sql)


def create_database_url(backend: str, tmp_path: Path) -> tuple[str, str | None]:
    """A URL to a new, empty database, and the PostgreSQL database name to drop afterwards."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'kleline.db'}", None
    require_postgres()
    name = f"kleline_test_{secrets.token_hex(6)}"
    _admin(f'CREATE DATABASE "{name}"')
    return _pg_url(name), name


class _Dropper:
    """Drops test databases in threads of their own. PostgreSQL 15 forces a checkpoint on every DROP DATABASE (up to
    a second on a busy machine, several when the server is shared) that no test needs to wait for; the session waits
    for the last drop at its end, and a drop that failed fails the session. The queue is bounded, so that a slow
    server does not pile up databases.

    A few drops run at once, on connections of their own: the server folds the checkpoints asked for while one is
    under way into the next one, so that four drops at once take about the time of one or two (measured: four in a
    row 40 to 47 s on a loaded server, four at once 4 to 10 s), and the drops keep up with the tests that make them.
    """

    THREADS = 4

    def __init__(self) -> None:
        self._names: queue.Queue[str | None] = queue.Queue(maxsize=16)
        self._threads: list[threading.Thread] = []
        self.failures: list[str] = []

    def drop(self, name: str) -> None:
        if not self._threads:
            self._threads = [
                threading.Thread(target=self._run, name=f"drop-test-databases-{index}", daemon=True)
                for index in range(self.THREADS)
            ]
            for thread in self._threads:
                thread.start()
        self._names.put(name)

    def _run(self) -> None:
        while (name := self._names.get()) is not None:
            try:
                _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            except psycopg.Error as error:
                self.failures.append(f"cannot drop the test database {name}: {error}")

    def finish(self) -> None:
        """Wait until every database handed over is dropped."""
        for _ in self._threads:
            self._names.put(None)
        for thread in self._threads:
            thread.join()
        self._threads = []


_DROPPER = _Dropper()


def drop_database(name: str | None) -> None:
    """Drop a test database made by ``create_database_url`` (closing leftover connections), in the background."""
    if name is not None:
        _DROPPER.drop(name)


def downgrade(db: Database, revision: str) -> None:
    """Take the schema down to ``revision``, for a migration's test of its downgrade (the application only ever goes
    up, so ``kleline.db.migrate`` has no such function)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Drop the last test databases before the run ends; a drop that failed fails the run."""
    _DROPPER.finish()
    if _DROPPER.failures:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        for failure in _DROPPER.failures:
            if reporter is not None:
                reporter.write_line(failure, red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


class _Spares:
    """Copies of the PostgreSQL template made ahead, in a thread of their own, while the tests run: a copy takes a
    tenth to half a second of the server (a ``CREATE DATABASE``), which a test would otherwise wait for, and about
    1,500 tests take one. Each copy is handed to one test only, so every test still gets a fresh database; the ones
    made ahead and never handed out are dropped at the end."""

    AHEAD = 2

    def __init__(self, template: str) -> None:
        self._template = template
        self._ready: queue.Queue[str | BaseException] = queue.Queue(maxsize=self.AHEAD)
        self._stop = threading.Event()
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="copy-test-databases", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            name = f"kleline_test_{secrets.token_hex(6)}"
            made: str | BaseException
            try:
                _admin(f'CREATE DATABASE "{name}" TEMPLATE "{self._template}"')
                made = name
            except psycopg.Error as error:
                made = error
            while True:
                try:
                    self._ready.put(made, timeout=0.1)
                    break
                except queue.Full:
                    if self._stop.is_set():
                        if isinstance(made, str):
                            drop_database(made)
                        return
            if not isinstance(made, str):
                return

    def take(self) -> str:
        """The name of a fresh copy of the template, of which the caller is the only user."""
        if self._failure is not None:  # the thread stopped at its failure: every later test fails with it
            raise self._failure
        made = self._ready.get()
        if isinstance(made, BaseException):
            self._failure = made
            raise made
        return made

    def close(self) -> None:
        """Stop making copies, and drop those never handed out."""
        self._stop.set()
        self._thread.join()
        while True:
            try:
                made = self._ready.get_nowait()
            except queue.Empty:
                return
            if isinstance(made, str):
                drop_database(made)


class MigratedTemplates:
    """The schema migrated once per session and backend, copied for every test that wants a migrated database."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._sqlite: Path | None = None
        self._postgresql: str | None = None
        self._spares: _Spares | None = None

    def sqlite(self) -> Path:
        """A migrated SQLite file, its write-ahead log folded in (so that the file alone is the whole database)."""
        if self._sqlite is None:
            path = self._directory / "template.db"
            db = Database(f"sqlite:///{path}")
            upgrade(db)
            db.dispose()
            with sqlite3.connect(path) as connection:
                connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            connection.close()
            self._sqlite = path
        return self._sqlite

    def postgresql(self) -> str:
        """The name of a migrated PostgreSQL database, no connection left open to it (a template must have none)."""
        if self._postgresql is None:
            url, name = create_database_url("postgresql", self._directory)
            assert name is not None
            try:
                db = Database(url)
                upgrade(db)
                db.dispose()
            except BaseException:
                drop_database(name)
                raise
            self._postgresql = name
        return self._postgresql

    def copy(self, backend: str, tmp_path: Path) -> tuple[str, str | None]:
        """A URL to a new migrated database, and the PostgreSQL database name to drop afterwards."""
        if backend == "sqlite":
            path = tmp_path / "kleline.db"
            shutil.copyfile(self.sqlite(), path)
            return f"sqlite:///{path}", None
        require_postgres()
        if self._spares is None:
            self._spares = _Spares(self.postgresql())
        name = self._spares.take()
        return _pg_url(name), name

    def drop(self) -> None:
        if self._spares is not None:
            self._spares.close()  # before the template goes: a copy may be under way
            self._spares = None
        drop_database(self._postgresql)


@pytest.fixture(scope="session")
def migrated_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MigratedTemplates]:
    """The session's migrated templates (made on first use), the PostgreSQL one dropped at the end."""
    templates = MigratedTemplates(tmp_path_factory.mktemp("migrated"))
    try:
        yield templates
    finally:
        templates.drop()


@pytest.fixture(params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, migrated_templates: MigratedTemplates
) -> Iterator[str]:
    """A migrated, empty database on each backend (a copy of the session's migrated template)."""
    with database_copy(migrated_templates, request.param, tmp_path) as url:
        yield url


@contextmanager
def database_copy(templates: MigratedTemplates, backend: str, tmp_path: Path) -> Iterator[str]:
    """A copy of the session's migrated template on ``backend``, dropped afterwards: its URL."""
    url, name = templates.copy(backend, tmp_path)
    try:
        yield url
    finally:
        drop_database(name)


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    """An open database on a migrated schema."""
    database = Database(database_url, pool_size=TEST_POOL_SIZE)
    try:
        yield database
    finally:
        database.dispose()


def open_connections() -> int:
    """Connections this session (and its children) hold on the PostgreSQL server, the admin's own excluded."""
    with psycopg.connect(PG_ADMIN_URL, application_name=ADMIN_NAME) as admin:
        row = admin.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (APPLICATION_NAME,)
        ).fetchone()
    return int(row[0]) if row else 0


@pytest.fixture(scope="module", autouse=True)
def no_connection_left_open() -> Iterator[None]:
    """A test module leaves no PostgreSQL connection open behind it (each Database it made was disposed), so that
    the session's connections stay bounded by what its running tests hold."""
    yield
    if _PG_PROBLEM is not None:
        return
    deadline = time.monotonic() + 10  # a killed child's connection takes a moment to be noticed by the server
    while (left := open_connections()) > 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert left == 0, f"{left} PostgreSQL connection(s) of this session left open by this module"


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
