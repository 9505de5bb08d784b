"""Serving the simulator: ISO 8583 over TCP for the card traffic, HTTP for files and statements, in one process.

Both listeners are bound and listening before anything is announced (``BankServer(...)`` binds and listens; port 0
picks a free port and ``addresses`` tells which), so a client that reads the announcement can connect at once: the
kernel queues its connection until the serving threads accept it. The ISO 8583 server
(``kleline.banks.tcp_server.Iso8583Server``) and uvicorn each serve from a thread of their own; the main thread
only waits for SIGINT or SIGTERM, then stops both and closes the journal, so the state directory is left synced
and unlocked. (A kill -9 leaves it synced too: every answered request was synced before its answer.)
"""

from __future__ import annotations

import signal
import socket
import threading
import time
from dataclasses import dataclass
from types import FrameType

import uvicorn

from kleline.banks.tcp_server import DEFAULT_FRAME_TIMEOUT, DEFAULT_IDLE_TIMEOUT, Iso8583Server
from kleline.banksim.http import create_app
from kleline.banksim.simulator import BankSimulator

__all__ = ["Addresses", "BankServer", "run_until_signalled"]

_START_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class Addresses:
    """Where the simulator listens."""

    iso8583: tuple[str, int]
    http: tuple[str, int]

    @property
    def bank_url(self) -> str:
        """The value of ``KLELINE_BANK_URL`` that sends Kleline's card traffic here."""
        return f"iso8583://{_host(self.iso8583[0])}:{self.iso8583[1]}"

    @property
    def files_url(self) -> str:
        """The base URL of the HTTP side."""
        return f"http://{_host(self.http[0])}:{self.http[1]}"


class BankServer:
    """The simulator's two listeners, bound at construction; ``start`` serves them, ``stop`` ends both."""

    def __init__(
        self,
        simulator: BankSimulator,
        *,
        host: str,
        port: int,
        files_port: int | None = None,
        idle_timeout: float | None = None,
        frame_timeout: float | None = None,
    ) -> None:
        # The ISO 8583 server's timeouts (None: its defaults): a quiet peer, or one stuck inside a frame, loses its
        # connection rather than hold a thread for ever.
        self._iso = Iso8583Server(
            simulator.handle,
            host,
            port,
            idle_timeout=DEFAULT_IDLE_TIMEOUT if idle_timeout is None else idle_timeout,
            frame_timeout=DEFAULT_FRAME_TIMEOUT if frame_timeout is None else frame_timeout,
        )
        if files_port is None:  # next to the ISO 8583 port, unless that one was left to chance
            files_port = port + 1 if port else 0
        try:
            self._listener = _bind(host, files_port)
        except OSError:
            self._iso.shutdown()
            raise
        config = uvicorn.Config(
            create_app(simulator), log_level="warning", access_log=False, lifespan="off", ws="none", http="h11"
        )
        self._http = uvicorn.Server(config)
        self._thread: threading.Thread | None = None
        host_name, http_port = self._listener.getsockname()[:2]
        self.addresses = Addresses(self._iso.server_address, (str(host_name), int(http_port)))

    def start(self) -> None:
        """Serve both listeners from background threads; return once the HTTP side answers."""
        self._iso.start()
        # uvicorn installs signal handlers only in the main thread: in this one it leaves them to us.
        self._thread = threading.Thread(
            target=self._http.run, kwargs={"sockets": [self._listener]}, name="banksim-http", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + _START_SECONDS
        while not self._http.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the simulator's HTTP server did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        """Stop both servers (open ISO 8583 connections are closed) and release their ports."""
        self._iso.shutdown()
        self._http.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=_START_SECONDS)
            self._thread = None
        self._listener.close()


def run_until_signalled(server: BankServer) -> None:
    """Serve until SIGINT or SIGTERM (call from the main thread), then stop cleanly."""
    stop = threading.Event()

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {number: signal.signal(number, _stop) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        server.start()
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
        for number, handler in previous.items():
            signal.signal(number, handler)


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    listener.listen(socket.SOMAXCONN)  # a bound socket not yet listening refuses connections
    return listener


def _host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
