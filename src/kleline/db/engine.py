"""Engines for the two backends, and raw DB-API transactions for the ledger's hot paths.

SQLite is the embedded default: one file in WAL mode (readers never block the writer), ``synchronous=NORMAL``
(durable at checkpoints, safe against corruption), foreign keys on, and every write transaction opened with
``BEGIN IMMEDIATE`` so that two writers queue on the lock instead of failing on an upgrade. PostgreSQL is
production, reached with psycopg 3 at READ COMMITTED; row locks are taken in one global order so that writers
never deadlock.

The hot paths use the pooled DB-API connection directly: SQLAlchemy Core would cost more per statement than the
database itself spends on a transfer. SQL is written once with ``:name`` parameters; ``Database.sql`` rewrites it
for psycopg's ``%(name)s`` style.
"""

from __future__ import annotations

import functools
import hashlib
import re
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Literal

import sqlalchemy as sa
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
        self.connection = connection
        self._cursor = connection.cursor()

    def execute(self, sql: str, params: Mapping[str, Any] | Sequence[Any] = ()) -> Any:
        """Run one statement and return the cursor (fetch from it)."""
        self._cursor.execute(self._db.sql(sql), params)
        return self._cursor

    def executemany(self, sql: str, rows: Sequence[Mapping[str, Any]]) -> None:
        """Run one statement for many parameter sets."""
        if rows:
            self._cursor.executemany(self._db.sql(sql), rows)

    def fetchall(self, sql: str, params: Mapping[str, Any] | Sequence[Any] = ()) -> list[Any]:
        """Run a query and return every row."""
        return list(self.execute(sql, params).fetchall())

    def fetchone(self, sql: str, params: Mapping[str, Any] | Sequence[Any] = ()) -> Any:
        """Run a query and return its first row, or None."""
        return self.execute(sql, params).fetchone()


class Database:
    """An engine plus what the ledger needs to know of its backend."""

    def __init__(self, url: str, *, pool_size: int = 8) -> None:
        self.url = normalise_url(url)
        self.dialect: Literal["sqlite", "postgresql"]
        if self.url.startswith("sqlite"):
            self.dialect = "sqlite"
            self.engine = sa.create_engine(self.url, pool_size=pool_size, max_overflow=pool_size * 4)
            event.listen(self.engine, "connect", _prepare_sqlite)
            event.listen(self.engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN"))
        elif self.url.startswith("postgresql"):
            self.dialect = "postgresql"
            self.engine = sa.create_engine(
                self.url, pool_size=pool_size, max_overflow=pool_size * 4, pool_pre_ping=False
            )
        else:
            raise ValueError(f"unsupported database URL {url!r}: use sqlite:///FILE or postgresql://...")

    @property
    def is_postgres(self) -> bool:
        """True on PostgreSQL, where row locks and pipelines matter."""
        return self.dialect == "postgresql"

    def sql(self, statement: str) -> str:
        """``statement`` in this driver's parameter style."""
        return _to_pyformat(statement) if self.is_postgres else statement

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[RawTx]:
        """A raw transaction: committed when the block ends, rolled back if it raises."""
        fairy = self.engine.raw_connection()
        try:
            connection: Any = fairy.driver_connection
            tx = RawTx(self, connection)
            try:
                if self.dialect == "sqlite":
                    connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                    yield tx
                    connection.commit()
                else:
                    # Pipeline mode: statements go out without waiting for each answer; a fetch or the commit
                    # waits. A transfer costs one network round trip instead of one per statement.
                    with connection.pipeline():
                        yield tx
                        connection.commit()
            except BaseException:
                connection.rollback()
                raise
        finally:
            fairy.close()

    def dispose(self) -> None:
        """Close every pooled connection."""
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


def _integrity_errors() -> tuple[type[Exception], ...]:
    import psycopg

    return (sqlite3.IntegrityError, psycopg.errors.IntegrityError)


INTEGRITY_ERRORS = _integrity_errors()
"""Driver errors raised when the database refuses a write (unique key, constraint, trigger)."""


def is_floor_violation(error: Exception) -> bool:
    """True when the database refused a move because it would cross an account's floor."""
    return "kleline: floor crossed" in str(error)
