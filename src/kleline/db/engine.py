"""Databases for the two backends, and the raw DB-API transactions every query of Kleline runs in.

SQLite is the embedded default: one file in WAL mode (readers never block the writer), ``synchronous=NORMAL``
(durable at checkpoints, safe against corruption), foreign keys on, and every write transaction opened with
``BEGIN IMMEDIATE`` so that two writers queue on the lock instead of failing on an upgrade. PostgreSQL is
production, reached with psycopg 3 at READ COMMITTED; row locks are taken in one global order so that writers
never deadlock.

Queries run on driver connections kept in a small queue of our own rather than through SQLAlchemy Core, whose
per-statement and per-checkout bookkeeping would cost more than the database spends on a transfer. SQLAlchemy's
engine remains for Alembic migrations. SQL is written once with ``:name`` parameters; ``Database.sql`` rewrites it
for psycopg's ``%(name)s`` style.
"""

from __future__ import annotations

import functools
import hashlib
import queue
import re
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Literal

import psycopg
import sqlalchemy as sa
from psycopg.pq import TransactionStatus
from sqlalchemy import event

__all__ = ["INTEGRITY_ERRORS", "Database", "RawTx", "is_floor_violation", "link_hash", "normalise_url"]

_NAMED_PARAM = re.compile(r"(?<![:\w]):([a-z_][a-z0-9_]*)")


def link_hash(previous: bytes, content: bytes) -> bytes:
    """One link of a hash chain: SHA-256 over the previous head and the entry's content hash."""
    return hashlib.sha256(previous + content).digest()


def normalise_url(url: str) -> str:
    """Accept ``postgresql://`` and ``postgres://`` URLs, and drive them with psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class RawTx:
    """One open transaction on a raw DB-API connection; statements use ``:name`` parameters."""

    def __init__(self, db: Database, connection: Any) -> None:
        self._db = db
        self.is_postgres = db.is_postgres
        self.connection = connection
        self._cursor = connection.cursor()
        self._sql = db.sql

    def execute(self, sql: str, params: Mapping[str, Any] | Sequence[Any] = ()) -> Any:
        """Run one statement and return the cursor (fetch from it)."""
        self._cursor.execute(self._sql(sql), params)
        return self._cursor

    def executemany(self, sql: str, rows: Sequence[Mapping[str, Any]]) -> None:
        """Run one statement for many parameter sets."""
        if rows:
            self._cursor.executemany(self._sql(sql), rows)

    def fetchall(self, sql: str, params: Mapping[str, Any] | Sequence[Any] = ()) -> list[Any]:
        """Run a query and return every row."""
        return list(self.execute(sql, params).fetchall())

    def fetchone(self, sql: str, params: Mapping[str, Any] | Sequence[Any] = ()) -> Any:
        """Run a query and return its first row, or None."""
        return self.execute(sql, params).fetchone()


class Database:
    """A database: driver connections for queries, an SQLAlchemy engine for migrations."""

    def __init__(self, url: str, *, pool_size: int = 8) -> None:
        self.url = normalise_url(url)
        self._pool_size = pool_size
        self._idle: dict[bool, queue.SimpleQueue[RawTx]] = {False: queue.SimpleQueue(), True: queue.SimpleQueue()}
        self.dialect: Literal["sqlite", "postgresql"]
        if self.url.startswith("sqlite"):
            self.dialect = "sqlite"
            self.engine = sa.create_engine(self.url, poolclass=sa.pool.NullPool)
            self._path = self.engine.url.database or ""
            if self._path in ("", ":memory:") or self._path.startswith("file::memory:"):
                raise ValueError("an in-memory SQLite database cannot be shared between connections: use a file")
            event.listen(self.engine, "connect", _prepare_sqlite)
            event.listen(self.engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN"))
        elif self.url.startswith("postgresql"):
            self.dialect = "postgresql"
            self.engine = sa.create_engine(self.url, poolclass=sa.pool.NullPool)
            self._conninfo = self.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        else:
            raise ValueError(f"unsupported database URL {url!r}: use sqlite:///FILE or postgresql://...")

    @property
    def is_postgres(self) -> bool:
        """True on PostgreSQL, where row locks and round trips matter."""
        return self.dialect == "postgresql"

    def sql(self, statement: str) -> str:
        """``statement`` in this driver's parameter style."""
        return _to_pyformat(statement) if self.is_postgres else statement

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[RawTx]:
        """A raw transaction: committed when the block ends, rolled back if it raises."""
        idle = self._idle[False]
        tx = self._checkout(idle, autocommit=False)
        connection = tx.connection
        try:
            if self.dialect == "sqlite":
                connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            yield tx
            connection.commit()
        except BaseException:
            connection.rollback()
            raise
        finally:
            self._release(idle, tx)

    def statement(self) -> AbstractContextManager[RawTx]:
        """A transaction of exactly one statement, in one round trip where the backend allows it.

        On PostgreSQL the statement runs on a connection kept in autocommit mode, so it is its own transaction (a
        server-side function doing several writes stays atomic) and no BEGIN or COMMIT travels. On SQLite it is an
        ordinary write transaction.
        """
        return self.transaction() if self.dialect == "sqlite" else self._autocommit_statement()

    @contextmanager
    def _autocommit_statement(self) -> Iterator[RawTx]:
        idle = self._idle[True]
        tx = self._checkout(idle, autocommit=True)
        try:
            yield tx
        finally:
            self._release(idle, tx)

    def _checkout(self, idle: queue.SimpleQueue[RawTx], *, autocommit: bool) -> RawTx:
        try:
            return idle.get_nowait()
        except queue.Empty:
            return RawTx(self, self._connect(autocommit))

    def _connect(self, autocommit: bool) -> Any:
        if self.dialect == "sqlite":
            # Connections move between threads through the queue, one owner at a time.
            connection = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False, timeout=60)
            _prepare_sqlite(connection, None)
            return connection
        return psycopg.connect(self._conninfo, autocommit=autocommit)

    def _release(self, idle: queue.SimpleQueue[RawTx], tx: RawTx) -> None:
        """Keep a healthy, idle connection for the next caller; close anything else."""
        if self._healthy(tx.connection) and idle.qsize() < self._pool_size:
            idle.put(tx)
        else:
            tx.connection.close()

    def _healthy(self, connection: Any) -> bool:
        if self.dialect == "sqlite":
            return not connection.in_transaction
        return not connection.closed and connection.info.transaction_status == TransactionStatus.IDLE

    def dispose(self) -> None:
        """Close every idle connection (connections in use close when they come back)."""
        self._pool_size = 0
        for idle in self._idle.values():
            while True:
                try:
                    idle.get_nowait().connection.close()
                except queue.Empty:
                    break
        self.engine.dispose()


@functools.lru_cache(maxsize=512)
def _to_pyformat(statement: str) -> str:
    return _NAMED_PARAM.sub(r"%(\1)s", statement.replace("%", "%%"))


def _prepare_sqlite(dbapi_connection: sqlite3.Connection, _record: object) -> None:
    # Autocommit at the driver level: we issue BEGIN ourselves, so that SQLAlchemy and the raw paths agree.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=60000")
    cursor.close()
    dbapi_connection.create_function("kleline_link", 2, link_hash, deterministic=True)


INTEGRITY_ERRORS: tuple[type[Exception], ...] = (sqlite3.IntegrityError, psycopg.errors.IntegrityError)
"""Driver errors raised when the database refuses a write (unique key, constraint, trigger)."""


def is_floor_violation(error: Exception) -> bool:
    """True when the database refused a move because it would cross an account's floor."""
    return "kleline: floor crossed" in str(error)
