"""The simulator's write-ahead journal: every request that changed something, replayed at start.

Why a journal of requests rather than snapshots of state: the simulator's state (holds, balances, statement lines)
is a pure function of the requests it accepted, in order, and of the time each came in. Appending one line per
request and syncing it before the answer leaves is the cheapest way to make "the bank said yes" survive a
``kill -9``: a restarted ``kleline bank serve --state DIR`` replays the lines and knows every hold it had approved.

Format: JSON lines in ``DIR/journal.jsonl``. The first line is a header naming the set-up that replay depends on
(the acquirer account); each other line is one request with its time (epoch microseconds). A line is only complete
with its newline: a crash in the middle of a write leaves a torn last line, which was never synced, so its request
was never answered, and it is cut off at the next start. A line that does not parse anywhere else is corruption,
and the simulator refuses to start rather than forget what it said.

Thread-safety: ``append`` is called under the simulator's lock (so the journal's order is the order requests were
applied in); ``sync`` outside it, by the thread about to answer. One fsync covers every line written before it, so
concurrent requests share syncs instead of queueing for them.

The journal holds no card security code: the simulator masks it before journaling (its value never changes an
answer; only its presence does). Nor any card number in clear: a simulated issuer must know them to replay, but card
numbers are written in clear nowhere outside Kleline's vault, so the simulator seals each one (``seal``: AES-256-GCM,
random nonce) under a key kept in ``DIR.key``, beside the state directory rather than in it, so that a copy of the
directory (attached to a bug report, kept as a CI artefact) reveals no card number. The key file is created with the
first sealed number; a journal whose key is gone refuses to start.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kleline.banksim.errors import JournalUnreadable

__all__ = ["JOURNAL_NAME", "Journal", "key_path"]

JOURNAL_NAME: Final = "journal.jsonl"
_FORMAT: Final = "kleline-banksim-journal"
_VERSION: Final = 1
_KEY_SIZE: Final = 32
_NONCE_SIZE: Final = 12
_SEALED_CONTEXT: Final = b"kleline-banksim-card-number-v1"


def key_path(directory: Path) -> Path:
    """The file holding the key of the card numbers journaled in ``directory``: its sibling ``DIR.key``."""
    directory = directory.resolve()
    return directory.with_name(directory.name + ".key")


class Journal:
    """An append-only, fsynced file of JSON records in a state directory that one process at a time may own."""

    def __init__(self, directory: Path, header: Mapping[str, Any]) -> None:
        """Open (or create) the journal in ``directory``; ``records`` then holds what is to be replayed."""
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / JOURNAL_NAME
        self.key_path = key_path(directory)
        self._sealer: AESGCM | None = None
        created = not self.path.exists()
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            try:
                # The lock dies with the process (even on kill -9), so a restart is never locked out by its corpse.
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise JournalUnreadable(f"{self.path} is in use by another simulator") from None
            if self.key_path.exists():
                self._sealer = AESGCM(_read_key(self.key_path))
            expected = {"format": _FORMAT, "version": _VERSION, **header}
            self.records = self._read(expected)
            if created:
                _sync_directory(directory)  # the file's name must survive a crash as well as its content
        except BaseException:
            os.close(self._fd)
            raise

    def append(self, record: Mapping[str, Any]) -> None:
        """Write ``record`` as one line (not yet synced: call ``sync`` before answering the request)."""
        _write_all(self._fd, _line(record))

    def seal(self, text: str) -> str:
        """``text`` (a card number) encrypted for the journal; creates the key file the first time."""
        if self._sealer is None:
            self._sealer = AESGCM(_create_key(self.key_path))
        nonce = os.urandom(_NONCE_SIZE)
        sealed = nonce + self._sealer.encrypt(nonce, text.encode(), _SEALED_CONTEXT)
        return base64.b64encode(sealed).decode("ascii")

    def unseal(self, sealed: str) -> str:
        """The text that ``seal`` sealed; ``JournalUnreadable`` when the key is missing or not the one it used."""
        if self._sealer is None:
            raise JournalUnreadable(f"{self.path} holds sealed card numbers and their key {self.key_path} is missing")
        try:
            data = base64.b64decode(sealed.encode("ascii"), validate=True)
            return self._sealer.decrypt(data[:_NONCE_SIZE], data[_NONCE_SIZE:], _SEALED_CONTEXT).decode()
        except (ValueError, InvalidTag):
            raise JournalUnreadable(f"the key {self.key_path} does not open a card number of {self.path}") from None

    def sync(self) -> None:
        """Make every appended line durable."""
        os.fsync(self._fd)

    def close(self) -> None:
        """Sync and release the journal (and the state directory's lock)."""
        if self._fd >= 0:
            os.fsync(self._fd)
            os.close(self._fd)
            self._fd = -1

    def _read(self, expected: Mapping[str, Any]) -> list[dict[str, Any]]:
        data = self.path.read_bytes()
        complete = data[: data.rfind(b"\n") + 1]
        if len(complete) != len(data):  # a torn last line: never synced, never answered
            os.truncate(self.path, len(complete))
            os.fsync(self._fd)
        if not complete:
            self.append(expected)
            self.sync()
            return []
        lines = complete.split(b"\n")[:-1]
        records = []
        for number, line in enumerate(lines, start=1):
            try:
                record = json.loads(line)
            except ValueError:
                raise JournalUnreadable(f"{self.path} line {number} is not a journal record") from None
            if not isinstance(record, dict):
                raise JournalUnreadable(f"{self.path} line {number} is not a journal record")
            records.append(record)
        header, *requests = records
        if header != dict(expected):
            raise JournalUnreadable(
                f"{self.path} was written by another set-up ({_describe(header)}), not {_describe(expected)}: "
                "use another --state directory"
            )
        return requests


def _line(record: Mapping[str, Any]) -> bytes:
    return json.dumps(record, separators=(",", ":"), sort_keys=True).encode() + b"\n"


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _read_key(path: Path) -> bytes:
    key = path.read_bytes()
    if len(key) != _KEY_SIZE:
        raise JournalUnreadable(f"{path} is not a journal key ({_KEY_SIZE} bytes)")
    return key


def _create_key(path: Path) -> bytes:
    """A new key, written whole and synced under a temporary name, then linked into place (never over an existing
    key): a crash or a full disk half-way leaves no torn key that would keep the journal from opening again."""
    key = AESGCM.generate_key(bit_length=_KEY_SIZE * 8)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 0o600
    try:
        try:
            _write_all(fd, key)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.link(temporary, path)
    finally:
        os.unlink(temporary)
    _sync_directory(path.parent)
    return key


def _sync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _describe(header: Mapping[str, Any]) -> str:
    return ", ".join(f"{key}={value}" for key, value in sorted(header.items()) if key not in ("format", "version"))
