"""``TcpTransport``: ISO 8583 frames to the card network over a small pool of persistent TCP connections.

Why a pool: opening a connection costs a round trip (and, to a real network, a TLS handshake and a sign-on), and one
connection carries one request at a time, so a busy API would queue behind it. ``pool_size`` connections are opened
as they are first needed and kept; each carries one request at a time, so the answer read on it is the answer to the
request just written (``IsoBankNetwork`` checks the trace number and reference anyway).

What can go wrong, and what the caller learns:
- no connection can be opened (refused, unreachable), or none is free within the timeout: ``IssuerUnreachable``;
  the request never left, so the issuer knows nothing of it.
- the request was written and no whole answer came back within the timeout (counted from when a connection was
  free, so that a request never goes out with too little time left to be answered), or the connection broke while
  waiting:
  ``NoAnswer``; the issuer may have acted on it. The connection is closed rather than reused, so that a late answer
  can never be read as the answer to the next request.

An idle connection that the network closed meanwhile (a restart) is noticed before it is used, and replaced; the
request then goes out on a fresh connection instead of being lost on a dead one. A connection idle for longer than
``max_idle`` is retired before use as well: the network closes connections idle for its own limit (60 s for
``Iso8583Server``), and a request written in the instant it does so would be lost and then reversed. Retiring ours
at half that limit or less means we never race its close.
"""

from __future__ import annotations

import select
import socket
import threading
import time
from collections import deque
from typing import Final

from kleline.banks.errors import IssuerUnreachable, MalformedMessage, NoAnswer
from kleline.banks.framing import FrameReader, frame

__all__ = ["TcpTransport"]

_CHUNK: Final = 65536


class _Connection:
    """One socket and the bytes received on it that do not yet make a whole frame."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.reader = FrameReader()
        self.idle_since = time.monotonic()

    def stale(self) -> bool:
        """True when the peer closed (or wrote unasked): nothing may be read on an idle connection."""
        try:
            readable, _, _ = select.select([self.sock], [], [], 0)
        except (OSError, ValueError):
            return True
        return bool(readable)

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


class TcpTransport:
    """A ``Transport`` over up to ``pool_size`` TCP connections to ``host:port``; safe to share between threads."""

    def __init__(
        self, host: str, port: int, *, pool_size: int = 4, timeout: float = 5.0, max_idle: float = 30.0
    ) -> None:
        if pool_size < 1:
            raise ValueError("a connection pool holds at least one connection")
        if timeout <= 0:
            raise ValueError("the timeout must be positive")
        if max_idle <= 0:
            raise ValueError("the idle limit must be positive")
        self.host = host
        self.port = port
        self.pool_size = pool_size
        self.timeout = timeout
        self.max_idle = max_idle
        self._slots = threading.BoundedSemaphore(pool_size)
        self._lock = threading.Lock()
        self._idle: deque[_Connection] = deque()
        self._closed = False
        self.opened = 0
        """Connections opened so far (for tests and benches: reuse keeps it at most ``pool_size``)."""

    def exchange(self, request: bytes) -> bytes:
        """Send ``request`` on a pooled connection and return the answer, within ``timeout`` seconds."""
        data = frame(request)
        if not self._slots.acquire(timeout=self.timeout):
            raise IssuerUnreachable(f"no connection to the card network was free within {self.timeout:g} s")
        try:
            deadline = time.monotonic() + self.timeout
            connection = self._borrow(deadline)
            try:
                answer = self._round_trip(connection, data, deadline)
            except BaseException:
                connection.close()
                raise
            self._give_back(connection)
            return answer
        finally:
            self._slots.release()

    def close(self) -> None:
        """Close every idle connection; connections in use close when they come back."""
        with self._lock:
            self._closed = True
            idle, self._idle = list(self._idle), deque()
        for connection in idle:
            connection.close()

    def __enter__(self) -> TcpTransport:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _borrow(self, deadline: float) -> _Connection:
        while True:
            with self._lock:
                if self._closed:
                    raise IssuerUnreachable("the connection to the card network is closed")
                connection = self._idle.pop() if self._idle else None
            if connection is None:
                return self._open(deadline)
            if time.monotonic() - connection.idle_since <= self.max_idle and not connection.stale():
                return connection
            connection.close()

    def _open(self, deadline: float) -> _Connection:
        try:
            sock = socket.create_connection((self.host, self.port), timeout=max(deadline - time.monotonic(), 0.001))
        except OSError as error:
            raise IssuerUnreachable(
                f"cannot connect to the card network at {self.host}:{self.port} ({type(error).__name__})"
            ) from None
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._lock:
            self.opened += 1
        return _Connection(sock)

    def _round_trip(self, connection: _Connection, data: bytes, deadline: float) -> bytes:
        sock = connection.sock
        try:
            sock.settimeout(max(deadline - time.monotonic(), 0.001))
            sock.sendall(data)
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError
                sock.settimeout(remaining)
                chunk = sock.recv(_CHUNK)
                if not chunk:
                    raise NoAnswer("the card network closed the connection before answering")
                messages = connection.reader.feed(chunk)
                if messages:
                    if len(messages) > 1 or connection.reader.pending:
                        # One request, one answer: more is a peer out of step with us.
                        raise MalformedMessage("the card network sent more than one answer to one request")
                    return messages[0]
        except TimeoutError:
            raise NoAnswer(f"the card network did not answer within {self.timeout:g} s") from None
        except OSError as error:
            raise NoAnswer(f"the connection to the card network broke ({type(error).__name__})") from None

    def _give_back(self, connection: _Connection) -> None:
        connection.idle_since = time.monotonic()
        with self._lock:
            if not self._closed:
                self._idle.append(connection)
                return
        connection.close()
