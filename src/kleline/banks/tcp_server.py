"""``Iso8583Server``: ISO 8583 over TCP for whatever answers the bytes (the sandbox issuers, ``kleline bank serve``).

The server knows framing and sockets, nothing of the messages: a handler ``Callable[[bytes], bytes]`` (for example
``SandboxIssuers().handle``) turns each request into its response. One thread per connection, so that several
requests are in flight at once on different connections (the connector's pool); on one connection, requests are
answered in the order they came, which is what lets a client match each response to its request.

A handler that raises ``MalformedMessage`` (or a peer whose framing is broken) loses its connection: after bytes we
cannot read, nothing on that stream can be trusted to start where a message starts. The log names the peer and the
error, never the bytes, which may carry a card number.

A peer that goes quiet loses its connection too, or it would hold a thread (and a descriptor) forever: one that
connected and sends nothing, or stopped between frames, after ``idle_timeout`` seconds (a minute by default, well above
a pooled client's pause between requests); one that began a frame and has not finished it ``frame_timeout`` later
(much shorter, and counted for the whole frame, not between bytes, or a byte now and then would hold it for ever),
since an honest client writes a frame in one go. A pooled client (``TcpTransport``) notices the closed idle
connection before its next request and opens a new one.

    server = Iso8583Server(SandboxIssuers().handle, "127.0.0.1", 0)
    server.start()                       # or server.serve_forever() in a thread of your own
    host, port = server.server_address
    ...
    server.shutdown()                    # stops accepting, closes every open connection, waits for the threads
"""

from __future__ import annotations

import logging
import socket
import socketserver
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Final

from kleline.banks.errors import MalformedMessage
from kleline.banks.framing import FrameReader, frame

__all__ = ["DEFAULT_FRAME_TIMEOUT", "DEFAULT_IDLE_TIMEOUT", "Handler", "Iso8583Server"]

Handler = Callable[[bytes], bytes]

_log = logging.getLogger(__name__)
_CHUNK: Final = 65536
DEFAULT_IDLE_TIMEOUT: Final = 60.0
DEFAULT_FRAME_TIMEOUT: Final = 10.0


class _Connection(socketserver.BaseRequestHandler):
    """One client connection: read frames, answer each one in turn, until the peer or the server closes it."""

    server: _ThreadingServer

    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        peer = self.client_address
        threading.current_thread().name = f"iso8583-connection {peer}"
        if not self.server.track(sock):
            return
        reader = FrameReader()
        frame_deadline: float | None = None  # when the frame begun must be whole, however it trickles in
        try:
            while True:
                # Between frames the peer may rest; inside one, it has no reason to pause.
                if not reader.pending:
                    frame_deadline = None
                    sock.settimeout(self.server.idle_timeout)
                else:
                    if frame_deadline is None:
                        frame_deadline = time.monotonic() + self.server.frame_timeout
                    remaining = frame_deadline - time.monotonic()
                    if remaining <= 0:
                        raise TimeoutError
                    sock.settimeout(remaining)
                data = sock.recv(_CHUNK)
                if not data:
                    return
                for message in reader.feed(data):
                    frame_deadline = None  # a frame came whole: the next one has its own time
                    sock.settimeout(self.server.idle_timeout)  # an answer goes out whole unless the peer stops
                    sock.sendall(frame(self.server.handler(message)))
        except TimeoutError:
            state = "in the middle of a frame" if reader.pending else "idle"
            _log.info("closing ISO 8583 connection from %s: %s for too long", peer, state)
        except MalformedMessage as error:
            _log.warning("closing ISO 8583 connection from %s: %s", peer, error)
        except OSError:
            pass  # the peer went away, or the server closed the socket while shutting down
        except Exception as error:  # one broken request must not take the server down
            # The type only: another exception's message could quote a request's contents.
            _log.error("closing ISO 8583 connection from %s: the handler raised %s", peer, type(error).__name__)
        finally:
            self.server.forget(sock)


class _ThreadingServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], handler: Handler, idle_timeout: float, frame_timeout: float) -> None:
        self.handler = handler
        self.idle_timeout = idle_timeout
        self.frame_timeout = frame_timeout
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._closing = False
        super().__init__(address, _Connection)

    def track(self, sock: socket.socket) -> bool:
        with self._lock:
            if self._closing:
                return False
            self._open.add(sock)
            return True

    def forget(self, sock: socket.socket) -> None:
        with self._lock:
            self._open.discard(sock)

    def close_connections(self) -> None:
        with self._lock:
            self._closing = True
            sockets = list(self._open)
        for sock in sockets:
            # shutdown() wakes a thread blocked in recv(); close() alone would leave it waiting.
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class Iso8583Server:
    """A threaded TCP server answering length-prefixed ISO 8583 frames with ``handler``; port 0 picks a free port.

    A connection silent for ``idle_timeout`` seconds between frames, or that has not finished a frame
    ``frame_timeout`` seconds after beginning it, is closed."""

    def __init__(
        self,
        handler: Handler,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
        frame_timeout: float = DEFAULT_FRAME_TIMEOUT,
    ) -> None:
        if not (idle_timeout > 0 and frame_timeout > 0):
            raise ValueError("the idle and frame timeouts must be positive")
        self._server = _ThreadingServer((host, port), handler, idle_timeout, frame_timeout)
        self._thread: threading.Thread | None = None
        self._state_lock = threading.Lock()
        self._serving = False
        self._stopped = False

    @property
    def server_address(self) -> tuple[str, int]:
        """The (host, port) the server listens on: the real port when 0 was asked for."""
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def serve_forever(self) -> None:
        """Accept and serve connections in the calling thread until ``shutdown`` is called from another one."""
        with self._state_lock:
            if self._stopped or self._serving:
                return
            self._serving = True
        self._server.serve_forever(poll_interval=0.1)

    def start(self) -> Iso8583Server:
        """Serve from a daemon thread of its own and return at once (tests, benches, embedding)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self.serve_forever, name="iso8583-server", daemon=True)
            self._thread.start()
        return self

    def shutdown(self) -> None:
        """Stop accepting, close every open connection (their clients see it closed) and release the port."""
        with self._state_lock:
            if self._stopped:
                return
            self._stopped = True
            serving = self._serving
        # socketserver's shutdown() waits for the serving loop to notice: without a loop it would wait forever.
        if serving:
            self._server.shutdown()
        self._server.close_connections()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def __enter__(self) -> Iso8583Server:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.shutdown()
