"""Databases for the two backends, and the raw DB-API transactions every query of Kleline runs in.

SQLite is the embedded default: one file in WAL mode (readers never block the writer), ``synchronous=NORMAL``
(durable at checkpoints, safe against corruption), foreign keys on, and every write transaction opened with
``BEGIN IMMEDIATE`` so that two writers queue on the lock instead of failing on an upgrade. The write transactions
of every process sharing the file wait for their turn in a queue that wakes them as soon as the lock is free, rather
than in SQLite's ``busy_timeout``, which polls it (``kleline.db.writers``), and the log is checkpointed beside them
by a thread of the process, not inside their turn (``kleline.db.checkpoints``). PostgreSQL is production, reached
with psycopg 3 at READ COMMITTED; row locks are taken in one global order so that writers never deadlock.

Queries run on driver connections kept in a small queue of our own rather than through SQLAlchemy Core, whose
per-statement and per-checkout bookkeeping would cost more than the database spends on a transfer. SQLAlchemy's
engine remains for Alembic migrations. SQL is written once with ``:name`` parameters; ``Database.sql`` rewrites it
for psycopg's ``%(name)s`` style.

The pool is bounded: a process holds at most ``pool_size`` connections (idle and in use together; the autocommit ones
of ``statement`` included, a connection switching mode as it is checked out). A caller finding them all in use
queues for up to ``pool_timeout`` seconds, then gets ``DatabaseBusy``. A thread that already holds a connection
and asks for another (a read made inside a transaction, such as a balance looked up to explain a refused write)
may go up to ``2 x pool_size``: made to queue behind the first ones, such threads would wait for each other and
all time out together. Connections beyond ``pool_size`` are closed as they come back. So, with N server processes
and one worker, the server sees at most (N + 1) x 2 x ``pool_size`` connections from Kleline however many requests
arrive (the API runs sync routes in AnyIO's 40 threads per process: the requests beyond the pool queue here).

A database that cannot be reached, that refuses more clients, that drops the connection mid-way, or a transaction
that loses a lock race (deadlock, serialization failure) raises ``DatabaseUnavailable`` or ``DatabaseBusy``, never
a raw driver error: both are transient, answered 503 with ``Retry-After``. Errors of a statement itself (a
constraint, a bad query) pass through unchanged.
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any, Final, Generic, Literal, TypeVar

import psycopg
import sqlalchemy as sa
from psycopg.pq import TransactionStatus
from sqlalchemy import event

from kleline.db.checkpoints import Checkpointer
from kleline.db.errors import DatabaseBusy, DatabaseUnavailable
from kleline.db.writers import WritersQueue

__all__ = [
    "INTEGRITY_ERRORS",
    "Database",
    "DatabaseBusy",
    "DatabaseUnavailable",
    "RawTx",
    "Read",
    "is_floor_violation",
    "link_hash",
    "normalise_url",
    "one_row_reads",
    "single_int",
]

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


T = TypeVar("T")
_PIPELINED_READS: Final = 3
"""From how many reads ``RawTx.read_all`` sends them in one pipeline (see there)."""


@dataclass(frozen=True, slots=True)
class Read(Generic[T]):
    """A query and what its rows mean, kept apart so that reads which do not depend on one another can travel
    together: a page that shows a balance, a pending amount and a payout asks for them in one statement
    (``one_row_reads``), or sends its lists in one round trip (``RawTx.read_all``)."""

    sql: str
    params: Mapping[str, Any]
    decode: Callable[[list[Any]], T]
    width: int = 0
    """For a read that always returns exactly one row: how many columns (``one_row_reads`` joins such reads)."""


def single_int(rows: Sequence[Sequence[Any]]) -> int:
    """The decoder of a ``Read`` whose one row holds one integer (a sum, a count, an id)."""
    return int(rows[0][0])


@functools.lru_cache(maxsize=1024)
def _renamed(sql: str, n: int) -> str:
    """``sql`` with each parameter ``:name`` renamed ``:r{n}_name``: a page joins the same reads at every visit, and
    the substitution costs more than the lookup."""
    return _NAMED_PARAM.sub(f":r{n}_" + r"\1", sql)


def one_row_reads(*reads: Read[Any]) -> Read[list[Any]]:
    """Reads that each return exactly one row (sums, counts, ``LEFT JOIN`` s on ``1 = 1``), as one statement: their
    rows side by side, each decoded from its own columns.

    Every statement costs the database its own execution and the driver its own bookkeeping, whether or not it
    shares a round trip with others; three small figures of one page read as one statement cost about a third.
    Each read's parameters are renamed apart, so that two reads may use the same name for different values.
    """
    if any(read.width <= 0 for read in reads):
        raise ValueError("one_row_reads joins reads of one row whose width is given")
    parts, params = [], {}
    for n, read in enumerate(reads):
        renamed = _renamed(read.sql, n)
        parts.append(f"({renamed}) AS r{n}")
        params.update({f"r{n}_{name}": value for name, value in read.params.items()})

    def decode(rows: list[Any]) -> list[Any]:
        [row] = rows
        decoded, start = [], 0
        for read in reads:
            decoded.append(read.decode([row[start : start + read.width]]))
            start += read.width
        return decoded

    return Read(f"SELECT * FROM {' CROSS JOIN '.join(parts)}", params, decode)


class RawTx:
    """One open transaction on a raw DB-API connection; statements use ``:name`` parameters.

    On PostgreSQL, statements whose result nobody reads (``defer``: an event, a payment's new state, a savepoint)
    wait in the transaction and travel with the next statement that must be answered, or with the COMMIT, in one
    round trip (psycopg's pipeline mode). The transaction's own ``BEGIN`` travels the same way, with its first
    statement: a transaction of one read is one round trip plus its COMMIT. A deferred write that fails raises at
    that next statement or at the COMMIT, still inside the transaction, which then rolls back as a whole.
    """

    def __init__(self, db: Database, connection: Any) -> None:
        self._db = db
        self.is_postgres = db.is_postgres
        self.connection = connection
        self._cursor = connection.cursor()
        self._sql = db.sql
        self._pending: list[tuple[str, Any]] = []
        self._savepoints = 0
        self._reading = False  # PostgreSQL: a read-only transaction, run as autocommit statements

    def execute(self, sql: str, params: Mapping[str, Any] | Sequence[Any] = ()) -> Any:
        """Run one statement and return the cursor (fetch from it)."""
        if self._reading and sql.startswith("SET TRANSACTION"):
            # Autocommit statements: the setting would end with this statement, silently (use ``snapshot=True``).
            raise RuntimeError("a read-only block runs no transaction to set: open it with snapshot=True")
        if self._pending:
            self._send_pending((self._sql(sql), params))
        else:
            self._cursor.execute(self._sql(sql), params)
        return self._cursor

    def defer(self, sql: str, params: Mapping[str, Any] | Sequence[Any] = ()) -> None:
        """Run a statement whose result is not read: on PostgreSQL, with the next statement or the COMMIT."""
        if self.is_postgres:
            self._pending.append((self._sql(sql), params))
        else:
            self._cursor.execute(sql, params)

    def executemany(self, sql: str, rows: Sequence[Mapping[str, Any]] | Sequence[Sequence[Any]]) -> None:
        """Run one statement for many parameter sets."""
        if rows:
            if self._pending:
                self._send_pending(None)
            self._cursor.executemany(self._sql(sql), rows)

    def copy_in(self, target: str, data: str) -> None:
        """``COPY target FROM STDIN`` in text format (PostgreSQL), after the statements deferred before it."""
        if self._pending:
            self._send_pending(None)
        with self._cursor.copy(f"COPY {target} FROM STDIN") as copy:
            copy.write(data)

    def fetchall(self, sql: str, params: Mapping[str, Any] | Sequence[Any] = ()) -> list[Any]:
        """Run a query and return every row."""
        return list(self.execute(sql, params).fetchall())

    def fetchone(self, sql: str, params: Mapping[str, Any] | Sequence[Any] = ()) -> Any:
        """Run a query and return its first row, or None."""
        return self.execute(sql, params).fetchone()

    def read(self, query: Read[T]) -> T:
        """Run one ``Read`` and decode its rows."""
        return query.decode(self.fetchall(query.sql, query.params))

    def read_all(self, *queries: Read[Any]) -> list[Any]:
        """Run independent ``Read``s and decode each one's rows, in the order given.

        On PostgreSQL, three reads or more (or reads after deferred statements) travel in one pipeline: one round
        trip and one wake-up of the server for all of them (eight small reads from 16 connections cost the server a
        third less CPU so, measured alone; each statement still costs its own execution: ``one_row_reads`` saves
        that). Fewer go one after the other: entering and leaving psycopg's pipeline mode costs the client more than
        two round trips do (about 45-80 us for two statements in turn, 75-140 us pipelined). A query that fails
        raises here, and the reads after it in a pipeline are not run. On SQLite, one after the other.
        """
        if not self.is_postgres or (len(queries) < _PIPELINED_READS and not self._pending):
            return [self.read(query) for query in queries]
        cursors = [self.connection.cursor() for _ in queries]
        try:
            pending, self._pending = self._pending, []
            with self.connection.pipeline():
                for statement, params in pending:
                    self._cursor.execute(statement, params)
                for cursor, query in zip(cursors, queries, strict=True):
                    cursor.execute(self._sql(query.sql), query.params)
            return [query.decode(cursor.fetchall()) for cursor, query in zip(cursors, queries, strict=True)]
        finally:
            for cursor in cursors:
                cursor.close()

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A part of the transaction that an exception undoes alone (the exception goes on)."""
        self._savepoints += 1
        name = f"kleline_{self._savepoints}"
        marker = (f"SAVEPOINT {name}", ())
        if self.is_postgres:
            self._pending.append(marker)
        else:
            self._cursor.execute(marker[0])
        try:
            yield
        except BaseException:
            if any(entry is marker for entry in self._pending):
                # Never sent: dropping it and what followed it is the rollback.
                del self._pending[[id(entry) for entry in self._pending].index(id(marker)) :]
            else:
                self._pending.clear()  # all of it came after the savepoint
                self.defer(f"ROLLBACK TO SAVEPOINT {name}")
            raise
        self.defer(f"RELEASE SAVEPOINT {name}")

    def _send_pending(self, last: tuple[str, Any] | None) -> None:
        pending, self._pending = self._pending, []
        if last is not None:
            pending.append(last)
        if len(pending) == 1:
            self._cursor.execute(*pending[0])
            return
        with self.connection.pipeline():
            for statement, params in pending:
                self._cursor.execute(statement, params)

    def _begin(self, *, write: bool = True, snapshot: bool = False) -> None:
        """On PostgreSQL (autocommit connections), the BEGIN waits for the first statement; a read-only transaction
        sends none at all, unless it reads a snapshot (see ``Database.transaction``)."""
        self._reading = not write and not snapshot
        if self._reading:
            self._pending = []
        else:
            self._pending = [("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" if snapshot else "BEGIN", ())]
        self._savepoints = 0

    def _commit(self) -> None:
        if not self.is_postgres:
            self.connection.commit()
        elif self._reading:
            if self._pending:
                self._send_pending(None)
        elif len(self._pending) == 1 and self._pending[0][0].startswith("BEGIN"):
            self._pending = []  # nothing was ever asked: there is nothing to commit
        else:
            self._send_pending(("COMMIT", ()))

    def _rollback(self) -> None:
        begun = not (
            self.is_postgres and (self._reading or (self._pending and self._pending[0][0].startswith("BEGIN")))
        )
        self._pending = []
        if begun:
            _rollback(self.connection)


class Database:
    """A database: driver connections for queries, an SQLAlchemy engine for migrations."""

    def __init__(self, url: str, *, pool_size: int = 8, pool_timeout: float = 5.0) -> None:
        if pool_size < 1 or pool_timeout <= 0:
            raise ValueError("a database needs pool_size >= 1 and pool_timeout > 0")
        self.url = normalise_url(url)
        self.pool_size = pool_size
        self.pool_timeout = pool_timeout
        self._idle: deque[RawTx] = deque()
        self._open = 0  # connections of this process, idle or in use
        self._disposed = False
        self._free = threading.Condition()
        self._waiters: deque[object] = deque()  # tickets of the callers queuing for a connection, first come first
        self._held = threading.local()  # how many connections the current thread holds
        self._writers: WritersQueue | None = None  # SQLite: see ``kleline.db.writers``
        self._checkpoints: Checkpointer | None = None  # SQLite: see ``kleline.db.checkpoints``
        self.dialect: Literal["sqlite", "postgresql"]
        if self.url.startswith("sqlite"):
            self.dialect = "sqlite"
            self.engine = sa.create_engine(self.url, poolclass=sa.pool.NullPool)
            self._path = self.engine.url.database or ""
            if self._path in ("", ":memory:") or self._path.startswith("file::memory:"):
                raise ValueError("an in-memory SQLite database cannot be shared between connections: use a file")
            self._writers = WritersQueue(self._path)
            self._checkpoints = Checkpointer(self._path, self._writers)
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
    def transaction(self, *, write: bool = True, snapshot: bool = False) -> Iterator[RawTx]:
        """A raw transaction: committed when the block ends, rolled back if it raises.

        ``write=False`` promises that the block only reads. On PostgreSQL such a block sends no BEGIN and no COMMIT:
        its statements run in autocommit mode, which at READ COMMITTED sees exactly what they would see inside a
        transaction (each statement takes its own snapshot either way) and saves the COMMIT's round trip. A page
        of the wallet makes half a dozen such reads. On SQLite it is a deferred ``BEGIN``: one snapshot for the
        block, and no wait on the writers' lock.

        ``snapshot=True`` (reads only) is for a block whose statements must all see one state of the database (a
        statement whose movements must lead from its opening to its closing balance, the ledger's audit): on
        PostgreSQL a real transaction, ``REPEATABLE READ READ ONLY``; on SQLite the read transaction already is one.
        """
        if snapshot and write:
            raise ValueError("a snapshot is for reading: pass write=False")
        writers = self._writers if write else None
        deadline = writers.enter(_SQLITE_WRITE_WAIT) if writers is not None else 0.0
        try:
            tx = self._checkout(autocommit=False)
        except BaseException:
            if writers is not None:
                writers.leave()
            raise
        try:
            if writers is not None:
                # The queue between processes once the connection is ours: never held while waiting for the pool.
                writers.lock_file(deadline)
                tx.connection.execute("BEGIN IMMEDIATE")
            elif self.dialect == "sqlite":
                tx.connection.execute("BEGIN")
            else:
                tx._begin(write=write, snapshot=snapshot)
            yield tx
            tx._commit()
        except BaseException as error:
            tx._rollback()
            transient = _transient(error)
            if transient is not None:
                raise transient from error
            raise
        finally:
            if writers is not None:
                writers.leave()
            self._release(tx)
        if self._checkpoints is not None and write:
            self._checkpoints.committed()

    def statement(self) -> AbstractContextManager[RawTx]:
        """A transaction of exactly one statement, in one round trip where the backend allows it.

        On PostgreSQL the statement runs on a connection kept in autocommit mode, so it is its own transaction (a
        server-side function doing several writes stays atomic) and no BEGIN or COMMIT travels. On SQLite it is an
        ordinary write transaction.
        """
        return self.transaction() if self.dialect == "sqlite" else self._autocommit_statement()

    @contextmanager
    def outside_transaction(self) -> Iterator[RawTx]:
        """A connection with no transaction open, for the statements that refuse one: PostgreSQL's ``VACUUM``,
        SQLite's ``PRAGMA wal_checkpoint``. Each statement commits on its own; use nothing else here."""
        tx = self._checkout(autocommit=True)
        try:
            yield tx
        finally:
            self._release(tx)

    @contextmanager
    def _autocommit_statement(self) -> Iterator[RawTx]:
        tx = self._checkout(autocommit=True)
        try:
            yield tx
        except BaseException as error:
            transient = _transient(error)
            if transient is not None:
                raise transient from error
            raise
        finally:
            self._release(tx)

    def _checkout(self, *, autocommit: bool) -> RawTx:
        """An idle connection, a new one while fewer than ``pool_size`` are open, or one freed within the timeout.

        Callers are served in the order they came (a queue of tickets), so that a thread releasing a connection and
        asking again at once cannot overtake those already waiting and leave them to time out. A thread that already
        holds a connection does not queue: those ahead of it may be waiting for the very connection it holds.
        """
        deadline = time.monotonic() + self.pool_timeout
        held = getattr(self._held, "count", 0)
        bound = self.pool_size * (2 if held else 1)
        ticket = None if held else object()
        with self._free:
            if ticket is not None:
                self._waiters.append(ticket)
            try:
                while not (self._idle or self._open < bound) or (ticket is not None and self._waiters[0] is not ticket):
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise DatabaseBusy(
                            f"all {self.pool_size} database connections of this process stayed in use for "
                            f"{self.pool_timeout:g} s; retry shortly",
                            retry_after=max(1, math.ceil(self.pool_timeout)),
                        )
                    self._free.wait(remaining)
            finally:
                if ticket is not None:
                    self._waiters.remove(ticket)
                    self._free.notify_all()  # the next in line may go, if a connection is free for it too
            self._held.count = held + 1
            if self._idle:
                tx = self._idle.pop()  # the most recently used: its server process is the warmest
                return tx
            self._open += 1
        try:
            return RawTx(self, self._connect(autocommit))
        except BaseException as error:
            self._held.count = held
            with self._free:
                self._open -= 1
                self._free.notify_all()
            transient = _transient(error)
            if transient is not None:
                raise transient from error
            raise

    def _connect(self, autocommit: bool) -> Any:
        if self.dialect == "sqlite":
            # Connections move between threads through the pool, one owner at a time.
            connection = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False, timeout=60)
            _prepare_sqlite(connection, None)
            # Checkpoints run in the process's checkpointer, outside the writers' turn (``kleline.db.checkpoints``).
            connection.execute("PRAGMA wal_autocheckpoint=0")
            return connection
        timeout = max(2, math.ceil(self.pool_timeout))  # libpq's smallest useful connect_timeout is 2 s
        # Always in autocommit mode: ``transaction`` sends its own BEGIN with its first statement (``RawTx``).
        return psycopg.connect(self._conninfo, autocommit=True, connect_timeout=timeout)

    def _release(self, tx: RawTx) -> None:
        """Keep a healthy, idle connection for the next caller (within ``pool_size``); close anything else."""
        self._held.count -= 1
        keep = not self._disposed and self._open <= self.pool_size and self._healthy(tx.connection)
        if not keep:
            _close(tx.connection)
        with self._free:
            if keep:
                self._idle.append(tx)
            else:
                self._open -= 1
            self._free.notify_all()

    def _healthy(self, connection: Any) -> bool:
        if self.dialect == "sqlite":
            return not connection.in_transaction
        return not connection.closed and connection.info.transaction_status == TransactionStatus.IDLE

    def dispose(self) -> None:
        """Close every idle connection (connections in use close when they come back)."""
        with self._free:
            self._disposed = True
            idle, self._idle = list(self._idle), deque()
            self._open -= len(idle)
            self._free.notify_all()
        for tx in idle:
            _close(tx.connection)
        if self._writers is not None and self._checkpoints is not None:
            self._writers.close()
            self._checkpoints.close()
        self.engine.dispose()


def _rollback(connection: Any) -> None:
    """Roll back, unless the connection is already gone (then the server has rolled back for us)."""
    if isinstance(connection, psycopg.Connection) and connection.broken:
        return
    try:
        connection.rollback()
    except psycopg.OperationalError:
        pass  # lost meanwhile: the transaction died with it, and the pool will not keep this connection


def _close(connection: Any) -> None:
    try:
        connection.close()
    except (sqlite3.Error, psycopg.Error):
        pass


# SQLSTATEs that say "not now" rather than "not this": the server is full or shutting down, or the transaction lost
# a lock race that a retry of the request would win (no retry loop here: the client's retry is the safe one).
_BUSY_STATES = frozenset({"53300", "53400", "40001", "40P01", "55P03"})
_GONE_STATES = frozenset({"57P01", "57P02", "57P03"})
_SQLITE_BUSY = ("database is locked", "database is busy")
_SQLITE_WRITE_WAIT = 60.0  # as long as busy_timeout: the writers' queue is never the shorter wait


def _transient(error: BaseException) -> Exception | None:
    """The 503 a driver error amounts to when the database, not the statement, is at fault; None otherwise."""
    if isinstance(error, psycopg.OperationalError):
        state = error.sqlstate
        if state in _BUSY_STATES:
            return DatabaseBusy("the database is too busy to answer now; retry shortly", retry_after=1)
        if state is None and "too many clients" in str(error):
            return DatabaseBusy("the database server has no connection left; retry shortly", retry_after=1)
        if state in _GONE_STATES or state is None or state.startswith("08"):
            return DatabaseUnavailable("the database cannot be reached; retry later")
    elif isinstance(error, sqlite3.OperationalError) and str(error).startswith(
        ("database is locked", "database is busy")
    ):
        return DatabaseBusy("the database stayed locked by other writers; retry shortly", retry_after=1)
    return None


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
