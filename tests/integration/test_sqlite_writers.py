"""SQLite's writers queue across processes (``kleline.db.writers``): a writer waiting for another process goes as
soon as that one commits, rather than when ``busy_timeout`` next polls; a writer that waits too long is told the
database is busy and gives its place back; a process that dies holding the lock frees it; readers never queue.
Checkpoints run beside the writers, not in their turn (``kleline.db.checkpoints``), except to restart a long log.

Other processes are real ones (``_Writer``, a child Python driving its own ``Database``), except where two
``WritersQueue`` of one process stand for two processes: each opens the lock file on its own, and ``flock`` locks
belong to an open file, not to a process.
"""

from __future__ import annotations

import fcntl
import os
import random
import signal
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kleline.db import checkpoints, engine
from kleline.db.checkpoints import Checkpointer
from kleline.db.engine import Database, DatabaseBusy
from kleline.db.writers import WritersQueue, lock_file_of

SRC = Path(engine.__file__).resolve().parents[2]

# A child process that holds write transactions on command: "hold" opens one and writes a row, "commit" ends it
# and answers with the monotonic clock (system-wide on Linux, so comparable with the parent's).
_CHILD = """
import sys, time
from kleline.db.engine import Database
db = Database(sys.argv[1], pool_size=1)
for line in sys.stdin:
    if line.strip() != "hold":
        break
    with db.transaction() as tx:
        tx.execute("INSERT INTO rows (who) VALUES ('child')")
        print("held", flush=True)
        sys.stdin.readline()
    print(f"committed {time.monotonic()}", flush=True)
"""


class _Writer:
    """Another process writing to the database: ``hold()`` returns once its write transaction is open."""

    def __init__(self, url: str) -> None:
        environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
        self.process = subprocess.Popen(
            [sys.executable, "-c", _CHILD, url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=environment,
        )

    def _send(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def _answer(self) -> str:
        assert self.process.stdout is not None
        return self.process.stdout.readline().strip()

    def hold(self) -> None:
        self._send("hold")
        assert self._answer() == "held"

    def commit(self) -> float:
        """Commit; the moment (``time.monotonic``) it had committed."""
        self._send("commit")
        answer = self._answer()
        assert answer.startswith("committed "), answer
        return float(answer.split()[1])

    def close(self) -> None:
        if self.process.poll() is None:
            self._send("stop")
        self.process.wait(10)
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()


@pytest.fixture
def url(tmp_path: Path) -> Iterator[str]:
    location = f"sqlite:///{tmp_path / 'writers.db'}"
    db = Database(location)
    with db.transaction() as tx:
        tx.execute("CREATE TABLE rows (who TEXT NOT NULL)")
    db.dispose()
    yield location


@pytest.fixture
def other(url: str) -> Iterator[_Writer]:
    writer = _Writer(url)
    try:
        yield writer
    finally:
        if writer.process.poll() is None:
            writer.process.kill()
        writer.close()


def _path(url: str) -> str:
    return url.removeprefix("sqlite:///")


def _locked_elsewhere(url: str) -> bool:
    """True when another open file of the lock, as another process would have, finds it taken."""
    descriptor = os.open(lock_file_of(_path(url)), os.O_RDONLY | os.O_CREAT)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(descriptor)
    return False


def _write_in_thread(db: Database, entered: list[float]) -> threading.Thread:
    def write() -> None:
        with db.transaction() as tx:
            entered.append(time.monotonic())
            tx.execute("INSERT INTO rows (who) VALUES ('parent')")

    thread = threading.Thread(target=write)
    thread.start()
    return thread


def test_a_write_transaction_holds_the_writers_lock_and_a_read_does_not(url: str) -> None:
    db = Database(url)
    try:
        with db.transaction() as tx:
            tx.execute("INSERT INTO rows (who) VALUES ('parent')")
            assert _locked_elsewhere(url)
        assert not _locked_elsewhere(url)
        with db.transaction(write=False) as tx:
            assert tx.fetchone("SELECT count(*) FROM rows")[0] == 1
            assert not _locked_elsewhere(url)
    finally:
        db.dispose()


def test_a_writer_waiting_for_another_process_goes_as_soon_as_that_one_commits(url: str, other: _Writer) -> None:
    # busy_timeout would poll the file lock every 100 ms by then: on average 50 ms late.
    db = Database(url)
    delays = []
    try:
        for _ in range(8):
            other.hold()
            entered: list[float] = []
            writer = _write_in_thread(db, entered)
            time.sleep(random.uniform(0.3, 0.45))  # long enough for the writer to be waiting
            assert not entered
            committed = other.commit()
            writer.join(10)
            delays.append(entered[0] - committed)
        assert statistics.mean(delays) < 0.025, delays
        with db.transaction(write=False) as tx:
            assert tx.fetchall("SELECT who, count(*) FROM rows GROUP BY who ORDER BY who") == [
                ("child", 8),
                ("parent", 8),
            ]
    finally:
        db.dispose()


def test_a_writer_that_waits_too_long_is_told_the_database_is_busy_and_gives_its_place_back(
    url: str, other: _Writer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "_SQLITE_WRITE_WAIT", 0.5)
    db = Database(url)
    try:
        other.hold()
        started = time.monotonic()
        with pytest.raises(DatabaseBusy) as refused, db.transaction() as tx:
            tx.execute("INSERT INTO rows (who) VALUES ('parent')")
        assert 0.45 < time.monotonic() - started < 5
        assert refused.value.status == 503 and refused.value.retry_after >= 1
        other.commit()
        # The lock the abandoned wait was to get goes back at once: the other process writes again, then this one.
        started = time.monotonic()
        other.hold()
        other.commit()
        assert time.monotonic() - started < 2
        with db.transaction() as tx:
            tx.execute("INSERT INTO rows (who) VALUES ('parent')")
        with db.transaction(write=False) as tx:
            assert tx.fetchall("SELECT who, count(*) FROM rows GROUP BY who ORDER BY who") == [
                ("child", 2),
                ("parent", 1),
            ]
    finally:
        db.dispose()


def test_a_process_killed_while_writing_frees_the_lock_for_the_next_writer(url: str, other: _Writer) -> None:
    db = Database(url)
    try:
        other.hold()
        entered: list[float] = []
        writer = _write_in_thread(db, entered)
        time.sleep(0.2)
        assert not entered
        other.process.send_signal(signal.SIGKILL)
        other.process.wait(10)
        writer.join(10)
        assert entered, "the writer still waits for a dead process"
        with db.transaction(write=False) as tx:
            assert tx.fetchall("SELECT who FROM rows") == [("parent",)]  # the dead one's write never happened
    finally:
        db.dispose()


def test_a_writer_waits_for_the_process_holding_the_lock_then_passes_it_on(tmp_path: Path) -> None:
    # Two queues of one process on one file: two open files, two holders of the lock, as two processes would be.
    first, second = WritersQueue(str(tmp_path / "a.db")), WritersQueue(str(tmp_path / "a.db"))
    try:
        first.lock_file(first.enter(1))
        deadline = second.enter(0.2)
        with pytest.raises(DatabaseBusy):
            second.lock_file(deadline)
        second.leave()
        got: list[float] = []

        def wait_for_it() -> None:
            second.lock_file(second.enter(10))
            got.append(time.monotonic())

        waiting = threading.Thread(target=wait_for_it)
        waiting.start()
        time.sleep(0.1)
        assert not got
        released = time.monotonic()
        first.leave()
        waiting.join(5)
        assert got and got[0] - released < 0.5
        second.leave()
        # Nobody holds it any more: the first takes it without waiting, and a third open of the file cannot.
        first.lock_file(first.enter(0.01))
        assert _locked_elsewhere(f"sqlite:///{tmp_path / 'a.db'}")
        first.leave()
    finally:
        first.close()
        second.close()


def test_a_lock_file_that_cannot_be_opened_leaves_the_writers_to_sqlite(url: str) -> None:
    # As in a read-only directory (which root, running these tests, would still write to): the writes go on.
    os.remove(lock_file_of(_path(url)))
    os.mkdir(lock_file_of(_path(url)))
    db = Database(url)
    try:
        with db.transaction() as tx:
            tx.execute("INSERT INTO rows (who) VALUES ('parent')")
        with db.transaction(write=False) as tx:
            assert tx.fetchone("SELECT count(*) FROM rows")[0] == 1
    finally:
        db.dispose()


def test_a_database_in_a_missing_directory_fails_as_before_and_leaves_no_lock_file(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'nowhere' / 'writers.db'}")
    try:
        with pytest.raises(sqlite3.OperationalError, match="unable to open database file"), db.transaction():
            pass
    finally:
        db.dispose()
    assert list(tmp_path.iterdir()) == []


def _until(condition: Callable[[], bool], seconds: float = 5) -> bool:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    return condition()


def _log_pages(url: str) -> int:
    """The pages in the write-ahead log now (a checkpoint that reports them, folding in what it can)."""
    connection = sqlite3.connect(_path(url))
    try:
        return int(connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1])
    finally:
        connection.close()


def test_checkpoints_run_in_the_process_checkpointer_not_in_a_commit(url: str) -> None:
    db = Database(url)
    try:
        with db.transaction() as tx:
            assert tx.fetchone("PRAGMA wal_autocheckpoint")[0] == 0  # no checkpoint inside the writers' turn
        for _ in range(3 * checkpoints.EVERY):
            with db.transaction() as tx:
                tx.execute("INSERT INTO rows (who) VALUES ('parent')")
        assert db._checkpoints is not None  # noqa: SLF001 - the process's checkpointer is what is watched
        assert _until(lambda: db._checkpoints.done >= 1)  # type: ignore[union-attr]  # noqa: SLF001
    finally:
        db.dispose()


def test_a_checkpoint_runs_while_another_process_writes(url: str, other: _Writer) -> None:
    path = _path(url)
    checkpointer = Checkpointer(path, WritersQueue(path), every=1)
    try:
        other.hold()
        checkpointer.committed()
        assert _until(lambda: checkpointer.done == 1), "the checkpoint waited for the writer"
        other.commit()
    finally:
        checkpointer.close()


def test_a_long_log_is_folded_in_the_writers_turn_so_that_it_restarts(url: str, other: _Writer) -> None:
    path = _path(url)
    db = Database(url)
    checkpointer = Checkpointer(path, WritersQueue(path), every=1, long_log=5)
    try:
        for _ in range(20):
            with db.transaction() as tx:
                tx.execute("INSERT INTO rows (who) VALUES ('parent')")
        checkpointer.committed()  # finds a log longer than 5 pages
        assert _until(lambda: checkpointer.done == 1)
        other.hold()
        checkpointer.committed()  # so this one waits for the writers' turn
        time.sleep(0.3)
        assert checkpointer.done == 1
        other.commit()
        assert _until(lambda: checkpointer.done == 2)
        with db.transaction() as tx:  # the first writer after a whole checkpoint starts the log afresh
            tx.execute("INSERT INTO rows (who) VALUES ('parent')")
        assert _log_pages(url) <= 5
    finally:
        checkpointer.close()
        db.dispose()
