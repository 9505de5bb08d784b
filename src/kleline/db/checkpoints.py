"""SQLite's write-ahead log, folded into the database file by a thread of the process, outside the writers' turn.

Why: by default SQLite checkpoints in the COMMIT that takes the log past 1,000 pages, in the committing thread, so
inside the writers' turn (``kleline.db.writers``): every writer of every process then waits for the checkpoint,
whose ``fsync`` of the log and of the database (``synchronous=NORMAL`` syncs at checkpoints only) takes from a
millisecond to a hundred on an ordinary disk. Kleline's connections turn that off (``wal_autocheckpoint=0``) and
the process's checkpointer runs the same PASSIVE checkpoint on a connection of its own, once every ``every``
commits of the process: a checkpoint runs beside SQLite's writers and readers (it never takes the write lock), so
the writers go on while it syncs, and the next writer after a complete checkpoint restarts the log from its start,
as after an automatic one.

Under a steady load that restart may never come: the writers add to the log while the checkpoint runs, so that no
checkpoint ever finds it all folded when a writer begins. So when a checkpoint finds the log longer than
``LONG_LOG`` pages, the next one runs inside the writers' turn, as SQLite's own would (rarely: about once per eight
of SQLite's), and the log restarts: it stays bounded.

Durability is unchanged: a commit is in the log, and the log is synced at checkpoints, as before; a crash between
two checkpoints loses at most what ``synchronous=NORMAL`` always could.

The thread starts at the first commit and ends with ``close`` (``Database.dispose``); a process that exits without
it leaves a log that the next connection to close the database, or the next checkpoint, folds in.
"""

from __future__ import annotations

import sqlite3
import threading

from kleline.db.errors import DatabaseBusy
from kleline.db.writers import WritersQueue

__all__ = ["Checkpointer"]

EVERY = 64
"""Commits of the process between two checkpoints: about SQLite's 1,000 pages at Kleline's 15 to 30 per commit."""
LONG_LOG = 8_000
"""Pages of log found by a checkpoint beyond which the next one runs in the writers' turn, so that it restarts."""


class Checkpointer:
    """The PASSIVE checkpoints of one SQLite file for this process, in a thread of their own."""

    def __init__(self, path: str, writers: WritersQueue, every: int = EVERY, long_log: int = LONG_LOG) -> None:
        self.path = path
        self.every = every
        self.long_log = long_log
        self._writers = writers
        self._long = False  # the last checkpoint found more than ``long_log`` pages of log
        self._commits = 0
        self._wake = threading.Condition()
        self._due = False
        self._closed = False
        self._thread: threading.Thread | None = None
        self.done = 0  # checkpoints run, for tests and curious operators

    def committed(self) -> None:
        """Count a commit of this process; every ``every`` of them, wake the checkpointer."""
        with self._wake:
            self._commits += 1
            if self._commits < self.every or self._closed:
                return
            self._commits, self._due = 0, True
            if self._thread is None or not self._thread.is_alive():  # first time, or in a forked child
                self._thread = threading.Thread(target=self._run, name="kleline-sqlite-checkpoints", daemon=True)
                self._thread.start()
            self._wake.notify()

    def close(self) -> None:
        """Stop the thread (after the checkpoint it may be running)."""
        with self._wake:
            self._closed = True
            self._wake.notify()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(30)

    def _run(self) -> None:
        connection: sqlite3.Connection | None = None
        try:
            while True:
                with self._wake:
                    while not (self._due or self._closed):
                        self._wake.wait()
                    if self._closed:
                        return
                    self._due = False
                try:
                    if connection is None:
                        connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
                        connection.execute("PRAGMA busy_timeout=0")  # a checkpoint under way elsewhere: skip this one
                    self._long = self._checkpoint(connection) > self.long_log
                    self.done += 1
                except (sqlite3.Error, DatabaseBusy):
                    pass  # busy, or the file went away: the next one, or SQLite on close, folds the log in
        finally:
            if connection is not None:
                connection.close()

    def _checkpoint(self, connection: sqlite3.Connection) -> int:
        """One PASSIVE checkpoint, in the writers' turn if the log grew long; the pages of log it found."""
        if not self._long:
            return int(connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1])
        deadline = self._writers.enter(60)
        try:
            self._writers.lock_file(deadline)
            connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        finally:
            self._writers.leave()
        return 0  # folded whole with no writer beside it: the next writer restarts the log
