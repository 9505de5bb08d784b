"""SQLite's write transactions, queued across the processes that share a database file.

Why: SQLite admits one writer at a time, and a writer that finds the file locked waits in ``busy_timeout``, which
sleeps and retries on a fixed schedule (1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, then 100 ms at a time). Under a
steady load the lock is free most of the time but rarely at the moment a sleeper wakes: with two server processes
some writers waited hundreds of milliseconds for a lock free more than half of that time. Here the writers wait in
queues that wake them as soon as the lock is theirs:

- in a process, on a ``threading.Lock`` (the process's *turn*): one of its threads writes at a time;
- between processes, on ``flock(LOCK_EX)`` over a sidecar file beside the database, ``<database>-writers.lock``,
  taken by the thread whose turn it is before ``BEGIN IMMEDIATE`` and given back after the COMMIT or ROLLBACK. The
  kernel wakes a blocked ``flock`` the moment the lock is released, and releases the lock of a process that dies
  (no stale lock, and no file content to trust: the file stays empty).

The wait stays bounded (a writer that waited ``timeout`` seconds gets ``DatabaseBusy``, a 503 with Retry-After),
though ``flock`` has no timeout: the thread whose turn it is tries ``LOCK_NB`` first, which costs nothing when no
other process writes. When one does, a thread of the process, the *acquirer*, blocks in ``flock`` on its behalf
while the writer waits for it on a condition with the time it has left. A writer that gives up leaves; the acquirer,
once it gets the lock, hands it to the process's next writer if one is waiting, else gives it back at once. Polling
``LOCK_NB`` would be ``busy_timeout`` again; ``SIGALRM`` interrupts only the main thread; a semaphore between
processes would stay taken forever by a process killed while holding it.

Only write transactions queue here; readers never block in WAL mode. Writers that do not take part (Alembic's
migrations through SQLAlchemy, the ``sqlite3`` shell, a process that cannot open the lock file) are still ordered
by SQLite's own lock and ``busy_timeout``, as before. A lock file that cannot be opened (a read-only directory) is
not an error here: the writer goes on without the queue between processes and meets SQLite's own error, if any.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time

from kleline.db.errors import DatabaseBusy

__all__ = ["WritersQueue", "lock_file_of"]


def lock_file_of(database: str) -> str:
    """The sidecar file whose ``flock`` queues the writers of the SQLite file ``database``."""
    return f"{database}-writers.lock"


class WritersQueue:
    """The turn of one writer at a time, in this process (``enter``) and then among processes (``lock_file``)."""

    def __init__(self, database: str) -> None:
        self.path = lock_file_of(database)
        self._turn = threading.Lock()
        self._state = threading.Condition()  # guards every field below
        self._fd: int | None = None
        self._pid = 0  # the process that opened ``_fd``: a forked child must not share its lock
        self._holding = False  # the writer whose turn it is holds the file lock
        self._acquiring = False  # the acquirer is blocked in flock (or about to be)
        self._granted = False  # the acquirer got the lock for the writer waiting
        self._waiting = False  # a writer waits for the acquirer
        self._acquirer: threading.Thread | None = None
        self._closed = False
        self._failed = False  # flock itself failed (a file system without locks): no queue between processes

    def enter(self, timeout: float) -> float:
        """Wait for this process's turn to write; the deadline (``time.monotonic``) of the whole wait."""
        deadline = time.monotonic() + timeout
        if not self._turn.acquire(timeout=timeout):
            raise _busy()
        return deadline

    def lock_file(self, deadline: float) -> None:
        """With this process's turn: wait for the other processes' writers until ``deadline``, else DatabaseBusy."""
        with self._state:
            fd = self._file()
            if fd is None:
                return
            if not self._acquiring:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    self._acquire_for_me(fd)
                except OSError:
                    self._failed = True  # no lock on this file system: SQLite's own lock orders the writers
                    return
                else:
                    self._holding = True
                    return
            self._waiting, self._granted = True, False
            self._state.notify_all()
            try:
                while not self._granted:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise _busy()
                    self._state.wait(remaining)
            finally:
                self._waiting = False
            self._granted, self._holding = False, not self._failed

    def leave(self) -> None:
        """Give back the file lock (if held) and this process's turn."""
        try:
            with self._state:
                if self._holding:
                    self._holding = False
                    assert self._fd is not None
                    fcntl.flock(self._fd, fcntl.LOCK_UN)
                    if self._closed and not self._acquiring:
                        self._close_file()
        finally:
            self._turn.release()

    def close(self) -> None:
        """Close the lock file once nobody holds or waits for it; writers after this do without the queue between
        processes (SQLite's own lock still orders them)."""
        with self._state:
            self._closed = True
            self._state.notify_all()
            if not (self._holding or self._acquiring):
                self._close_file()

    def _file(self) -> int | None:
        """The lock file, opened on first use in this process; None when closed or it cannot be opened."""
        if self._fd is not None and self._pid != os.getpid():
            # Forked: the descriptor shares the parent's open file, and so its lock. Forget it without unlocking.
            os.close(self._fd)
            self._fd, self._holding, self._acquiring, self._waiting, self._acquirer = None, False, False, False, None
        if self._fd is None and not (self._closed or self._failed):
            try:
                # Read-only is enough to flock, and works on a lock file another user created.
                self._fd = os.open(self.path, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
            except OSError:
                return None  # no queue between processes: SQLite's own lock and its errors, as without this file
            self._pid = os.getpid()
        return self._fd

    def _close_file(self) -> None:
        if self._fd is not None and self._pid == os.getpid():
            os.close(self._fd)
        self._fd = None

    def _acquire_for_me(self, fd: int) -> None:
        """Wake the acquirer (started on first need) to block in flock for the writer whose turn it is."""
        self._acquiring = True
        if self._acquirer is None or not self._acquirer.is_alive():
            self._acquirer = threading.Thread(
                target=self._acquire_forever, args=(fd,), name="kleline-sqlite-writers", daemon=True
            )
            self._acquirer.start()

    def _acquire_forever(self, fd: int) -> None:
        while True:
            with self._state:
                while not self._acquiring:
                    if self._closed or self._fd != fd:
                        return
                    self._state.wait()
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)  # without the GIL: the kernel wakes it when the lock is released
            except OSError:
                with self._state:  # the writer goes on without the queue, as every writer of this process will
                    self._acquiring, self._failed, self._granted = False, True, self._waiting
                    self._state.notify_all()
                    return
            with self._state:
                self._acquiring = False
                if self._waiting and self._fd == fd:
                    self._granted = True
                    self._state.notify_all()
                else:  # the writer gave up, and none came after it: the lock goes back to the other processes
                    fcntl.flock(fd, fcntl.LOCK_UN)
                    if self._closed and not self._holding:
                        self._close_file()


def _busy() -> DatabaseBusy:
    return DatabaseBusy("the database stayed locked by other writers; retry shortly", retry_after=1)
