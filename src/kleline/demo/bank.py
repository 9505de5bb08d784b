"""The demo's bank: ``kleline bank serve`` as a child process of ``kleline demo``, so that the demo's card traffic
(the seeding's card checks and top-ups, then every card payment) crosses a real ISO 8583 connection to the simulated
network, as it would in production, instead of the in-process sandbox.

Why a state directory beside the database: Kleline's books and the bank's (cardholders' balances and holds, the
acquirer account) must tell one story across restarts, so the bank replays its journal from ``<database file>-bank``
(``make clean`` removes it with ``demo.db``). A database made afresh (no schema yet) means that any earlier state
there belonged to a database that is gone: it is forgotten, so that the test cards' balances again agree with the new
demo data. A PostgreSQL demo database keeps its bank's state in the working directory, named after the database.

Why the child cannot outlive the demo: ``stop`` ends it (SIGTERM) after Kleline and its worker, whose last card calls
it must still answer; it runs in its own process group, so that Ctrl-C at the terminal reaches only the demo, which
stops it in that order. Should the demo die without stopping it (kill -9), the kernel sends it SIGTERM on Linux
(``PR_SET_PDEATHSIG``), so that no orphan keeps the ports and the state's lock. That signal follows the *thread* that
started the child: start the bank from the thread that lives as long as the demo (the main thread).
"""

from __future__ import annotations

import ctypes
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from kleline.config import Settings
from kleline.db.engine import Database
from kleline.db.migrate import current_revision
from kleline.errors import KlelineError

__all__ = [
    "BankDidNotStart",
    "BankProcess",
    "DemoBank",
    "die_with",
    "forget_stale_state",
    "is_fresh",
    "state_directory",
]

START_SECONDS: Final = 60.0
STOP_SECONDS: Final = 15.0
_PR_SET_PDEATHSIG: Final = 1
_JOURNAL: Final = "journal.jsonl"  # what ``kleline bank serve --state`` keeps in its directory


class BankDidNotStart(KlelineError):
    """``kleline bank serve`` exited, or did not say where it listens, before the demo could use it."""

    code = "demo_bank_did_not_start"
    status = 500


@dataclass(frozen=True, slots=True)
class DemoBank:
    """Where the demo's card traffic goes (the ``KLELINE_BANK_URL`` it runs with) and, when the demo started the
    bank itself, the bank's HTTP side (files, statements, cardholders' balances) and its state directory."""

    url: str
    files_url: str | None = None
    state: Path | None = None
    account_iban: str | None = None

    def lines(self) -> list[str]:
        """The banner's lines about the bank."""
        if self.files_url is None:
            started_by = "the in-process sandbox issuers" if self.url == "sandbox:" else "not started by the demo"
            return [f"Bank:           {self.url}  (KLELINE_BANK_URL: {started_by})"]
        return [
            f"Bank:           {self.url}  (kleline bank serve; state {self.state or 'in memory'})",
            f"  HTTP side:    {self.files_url}   Kleline's account there:  "
            f"curl {self.files_url}/accounts/{self.account_iban}",
        ]


def state_directory(database_url: str, *, cwd: Path | None = None) -> Path:
    """Where the bank of the demo on ``database_url`` keeps its state: ``FILE-bank`` beside an SQLite file, else
    ``demo-NAME-bank`` in the working directory."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database:
        database = Path(url.database)
        return database.with_name(database.name + "-bank")
    return (cwd or Path.cwd()) / f"demo-{url.database or 'kleline'}-bank"


def is_fresh(database_url: str) -> bool:
    """Whether the database has no schema yet (an SQLite file not made yet counts); False when it cannot be read,
    so that the migration step, not this one, reports why."""
    try:
        url = make_url(database_url)
        if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).exists():
            return True
        db = Database(database_url, pool_size=1)
        try:
            return current_revision(db) is None
        finally:
            db.dispose()
    except (ArgumentError, SQLAlchemyError, ValueError, OSError):
        return False


def forget_stale_state(state: Path) -> bool:
    """Remove a bank state directory left by a demo database that is gone (and its key file beside it); True if
    there was one. A directory holding anything but the bank's journal is not the bank's: it is refused."""
    if not state.exists():
        return False
    if not state.is_dir() or any(entry.name != _JOURNAL for entry in state.iterdir()):
        raise BankDidNotStart(f"{state} is not the demo bank's state directory: move it away")
    shutil.rmtree(state)
    state.with_name(state.name + ".key").unlink(missing_ok=True)
    return True


class BankProcess:
    """A ``kleline bank serve`` child on loopback, started at construction; ``wait_until_listening`` reads where it
    listens, ``stop`` ends it. Everything it prints after its addresses is passed on to ``echo``."""

    def __init__(
        self,
        *,
        port: int = 0,
        state: Path | None = None,
        settings: Settings | None = None,
        echo: Callable[[str], None] | None = None,
    ) -> None:
        command = [*_kleline_command(), "bank", "serve", "--host", "127.0.0.1", "--port", str(port)]
        if state is not None:
            command += ["--state", str(state)]
        self.account_iban = None if settings is None else settings.safeguarding_iban
        if self.account_iban is not None:  # card settlements reach Kleline's account, whatever the bank would read
            command += ["--acquirer-iban", self.account_iban]
        self.state = state
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            process_group=0,
            preexec_fn=die_with(os.getpid()),
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._echo = echo or (lambda line: print(f"bank: {line}", file=sys.stderr, flush=True))
        self._announced = threading.Event()
        self._reader = threading.Thread(target=self._read, name="demo-bank-output", daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        """The bank process's id."""
        return self.process.pid

    def wait_until_listening(self, seconds: float = START_SECONDS) -> DemoBank:
        """Wait until the bank has said where it listens; ``BankDidNotStart`` (the bank stopped) if it exits first
        or stays silent for ``seconds``."""
        found: dict[str, str] = {}
        said: list[str] = []
        deadline = time.monotonic() + seconds
        while len(found) < 2:
            try:
                line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                line = None
            if line is None:  # exited (end of its output) or silent too long
                self.stop()
                told = "; ".join(said[-3:]) or "nothing"
                raise BankDidNotStart(f"kleline bank serve did not start (it said: {told})")
            said.append(line)
            kind, _, address = line.partition(" listening on ")
            if address:
                found[kind] = address
        self._announced.set()
        return DemoBank(found["iso8583"], found["http"], self.state, self.account_iban)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after ``STOP_SECONDS``; waits for the process either way."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._reader.join(timeout=STOP_SECONDS)

    def _read(self) -> None:
        assert self.process.stdout is not None
        with self.process.stdout:
            for raw in self.process.stdout:
                line = raw.rstrip("\n")
                if self._announced.is_set():
                    self._echo(line)
                else:
                    self._lines.put(line)
        self._lines.put(None)


def _kleline_command() -> list[str]:
    """This installation's ``kleline`` command: the script beside the interpreter, else the interpreter itself."""
    script = Path(sys.executable).with_name("kleline")
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-m", "kleline"]


def die_with(parent: int) -> Callable[[], None] | None:
    """A pre-exec step asking Linux to SIGTERM the child when ``parent`` (the thread that forked) dies: the demo's
    children (the bank, the shop) never outlive it, even when it is killed with SIGKILL."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up before the fork: the child only calls it

    def die_with_parent() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before the request was made
            os.kill(os.getpid(), signal.SIGTERM)

    return die_with_parent
