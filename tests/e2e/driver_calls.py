"""Counting what the database drivers are asked to do: transactions, round trips, statements and the commits that
flush the write-ahead log, on both backends.

``count_driver_calls`` swaps ``sqlite3.connect`` and ``psycopg.connect`` for factories that build the same driver
connections with counting subclasses, so every connection ``Database`` opens while it is in force is counted (turn
counting on and off with ``DriverCalls.counting``). Nothing of Kleline is replaced: the counted calls are the real
ones, on the real database.

How each backend is counted:
- **PostgreSQL**: every ``execute``/``executemany`` is one round trip (psycopg 3 sends a statement's messages and
  waits once; ``executemany`` is pipelined). Outside autocommit, the first statement of a transaction is preceded by
  the ``BEGIN`` psycopg sends on its own: one more round trip and one transaction. ``commit`` of an open transaction
  is one round trip; it flushes the WAL when the transaction wrote (it has a transaction id) and
  ``synchronous_commit`` is not ``off`` for it, both asked of the server just before the commit, uncounted. An
  autocommit statement is a transaction of its own; it flushes unless it reads only (a plain ``SELECT`` of no
  ``kleline_`` function) or turns ``synchronous_commit`` off for itself.
- **SQLite**: in process, so a "round trip" is a call into the driver: each statement (``BEGIN`` included) and each
  ``commit`` of an open transaction. A commit "flushes" when the transaction changed rows (in WAL mode with
  ``synchronous=NORMAL`` that is a write to the log, the file lock held meanwhile).
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest
from psycopg.pq import TransactionStatus

__all__ = ["DriverCalls", "count_driver_calls"]

_READ_ONLY = re.compile(r"^\s*SELECT\b", re.IGNORECASE)
_SYNC_OFF = re.compile(r"synchronous_commit'\s*,\s*'off'", re.IGNORECASE)


@dataclass
class DriverCalls:
    """What the drivers were asked while ``counting`` was True."""

    counting: bool = False
    transactions: int = 0
    round_trips: int = 0
    statements: int = 0
    commits: int = 0
    flushing_commits: int = 0
    read_only_transactions: int = 0
    log: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def note(self, line: str, **deltas: int) -> None:
        if not self.counting:
            return
        with self._lock:
            for name, delta in deltas.items():
                setattr(self, name, getattr(self, name) + delta)
            if line:
                self.log.append(line)

    def reset(self) -> None:
        with self._lock:
            self.transactions = self.round_trips = self.statements = 0
            self.commits = self.flushing_commits = self.read_only_transactions = 0
            self.log.clear()

    def summary(self) -> str:
        return (
            f"{self.transactions} transactions ({self.read_only_transactions} read-only), {self.round_trips} round "
            f"trips, {self.statements} statements, {self.commits} commits ({self.flushing_commits} flushing)\n"
            + "\n".join(self.log)
        )


def _short(sql: str) -> str:
    return " ".join(sql.split())[:110]


def _pg_classes(calls: DriverCalls) -> tuple[type[psycopg.Connection[Any]], type[psycopg.Cursor[Any]]]:
    class Cursor(psycopg.Cursor[Any]):
        def _before(self, query: Any) -> None:
            connection: Connection = self.connection  # type: ignore[assignment]
            text = query if isinstance(query, str) else str(query)
            word = text.strip().split(None, 1)[0].upper() if text.strip() else ""
            trip = 0 if connection.piped else 1
            connection.queued += 1 - trip
            idle = connection.info.transaction_status == TransactionStatus.IDLE
            if word == "BEGIN" or (idle and not connection.autocommit):
                calls.note("BEGIN", transactions=1, round_trips=trip if word == "BEGIN" else 1)
                if word == "BEGIN":
                    return
            if word == "COMMIT":
                with psycopg.Cursor(self.connection) as probe:  # uncounted: a plain cursor, not this one
                    wrote, sync = probe.execute(
                        "SELECT pg_current_xact_id_if_assigned() IS NOT NULL, current_setting('synchronous_commit')"
                    ).fetchone()  # type: ignore[misc]
                flushing = bool(wrote) and sync != "off"
                calls.note(
                    f"COMMIT{' (flushing)' if flushing else ''}",
                    round_trips=trip,
                    commits=1,
                    flushing_commits=int(flushing),
                    read_only_transactions=int(not wrote),
                )
                return
            if idle and connection.autocommit and not connection.piped:
                reads = bool(_READ_ONLY.match(text)) and "kleline_" not in text
                flushing = not reads and not _SYNC_OFF.search(text)
                calls.note(
                    f"  autocommit{' (flushing)' if flushing else ''}: {_short(text)}",
                    transactions=1,
                    round_trips=1,
                    statements=1,
                    commits=1,
                    flushing_commits=int(flushing),
                    read_only_transactions=int(reads),
                )
                return
            calls.note(f"  {'(piped) ' if not trip else ''}{_short(text)}", round_trips=trip, statements=1)

        def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:  # type: ignore[override]
            self._before(query)
            return super().execute(query, params, **kwargs)

        def executemany(self, query: Any, params_seq: Any, **kwargs: Any) -> None:  # type: ignore[override]
            self._before(query)
            super().executemany(query, params_seq, **kwargs)

    class Connection(psycopg.Connection[Any]):
        piped = False
        queued = 0

        @contextmanager
        def pipeline(self) -> Iterator[Any]:  # type: ignore[override]
            """Statements sent in a pipeline are answered together: one round trip when it ends."""
            self.piped, self.queued = True, 0
            try:
                with super().pipeline() as pipeline:
                    yield pipeline
            finally:
                self.piped = False
                if self.queued:
                    calls.note("  (pipeline sent)", round_trips=1)

        def commit(self) -> None:
            if calls.counting and self.info.transaction_status != TransactionStatus.IDLE:
                with psycopg.Cursor(self) as probe:  # uncounted: a plain cursor, not the counting one
                    wrote, sync = probe.execute(
                        "SELECT pg_current_xact_id_if_assigned() IS NOT NULL, current_setting('synchronous_commit')"
                    ).fetchone()  # type: ignore[misc]
                flushing = bool(wrote) and sync != "off"
                calls.note(
                    f"COMMIT{' (flushing)' if flushing else ''}",
                    round_trips=1,
                    commits=1,
                    flushing_commits=int(flushing),
                    read_only_transactions=int(not wrote),
                )
            super().commit()

    return Connection, Cursor


def _sqlite_classes(calls: DriverCalls) -> type[sqlite3.Connection]:
    class Cursor(sqlite3.Cursor):
        def _around(self, sql: str, run: Any) -> Any:
            connection = self.connection
            if not calls.counting:
                return run()
            if sql.lstrip().upper().startswith("BEGIN"):
                calls.note(sql.strip(), transactions=1, round_trips=1)
                connection.changes_at_begin = connection.total_changes  # type: ignore[attr-defined]
                return run()
            outside = not connection.in_transaction
            before = connection.total_changes
            result = run()
            if outside and not connection.in_transaction:  # a statement of its own: an implicit transaction
                wrote = connection.total_changes != before
                calls.note(
                    f"  autocommit: {_short(sql)}",
                    transactions=1,
                    round_trips=1,
                    statements=1,
                    commits=1,
                    flushing_commits=int(wrote),
                )
            else:
                calls.note(f"  {_short(sql)}", round_trips=1, statements=1)
            return result

        def execute(self, sql: str, parameters: Any = (), /) -> Any:  # type: ignore[override]
            return self._around(sql, lambda: super(Cursor, self).execute(sql, parameters))

        def executemany(self, sql: str, seq_of_parameters: Any, /) -> Any:  # type: ignore[override]
            return self._around(sql, lambda: super(Cursor, self).executemany(sql, seq_of_parameters))

    class Connection(sqlite3.Connection):
        def cursor(self, factory: Any = None) -> Any:  # type: ignore[override]
            return super().cursor(factory or Cursor)

        def execute(self, sql: str, parameters: Any = (), /) -> Any:  # type: ignore[override]
            return self.cursor().execute(sql, parameters)

        def commit(self) -> None:
            if calls.counting and self.in_transaction:
                wrote = self.total_changes != getattr(self, "changes_at_begin", self.total_changes)
                calls.note(
                    f"COMMIT{' (flushing)' if wrote else ''}",
                    round_trips=1,
                    commits=1,
                    flushing_commits=int(wrote),
                    read_only_transactions=int(not wrote),
                )
            super().commit()

    return Connection


_MACHINERY_THREADS = ("copy-test-databases", "drop-test-databases")
"""The suite's own threads (``tests/conftest.py``), which copy and drop test databases beside the tests: their
connections are not Kleline's, and counting them made the counts flaky."""


def _test_machinery() -> bool:
    return threading.current_thread().name.startswith(_MACHINERY_THREADS)


@contextmanager
def count_driver_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[DriverCalls]:
    """While in force, every new driver connection counts into the ``DriverCalls`` yielded, but those of the suite's
    own threads that copy and drop test databases."""
    calls = DriverCalls()
    pg_connection, pg_cursor = _pg_classes(calls)
    sqlite_connection = _sqlite_classes(calls)
    sqlite_connect, pg_connect = sqlite3.connect, psycopg.connect

    def connect_sqlite(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        if not _test_machinery():
            kwargs.setdefault("factory", sqlite_connection)
        return sqlite_connect(*args, **kwargs)

    def connect_pg(*args: Any, **kwargs: Any) -> psycopg.Connection[Any]:
        if _test_machinery():
            return pg_connect(*args, **kwargs)
        kwargs.setdefault("cursor_factory", pg_cursor)
        return pg_connection.connect(*args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(sqlite3, "connect", connect_sqlite)
        patch.setattr(psycopg, "connect", connect_pg)
        yield calls
