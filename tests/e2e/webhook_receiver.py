"""A merchant's webhook receiver for tests: a small HTTP server on 127.0.0.1 in a thread.

It verifies each delivery's ``Kleline-Signature`` with the helper shipped for merchants, records what it received,
and answers with the statuses a test scripts (200 once the script runs out).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from kleline.events.signature import SignatureError, verify


@dataclass
class Received:
    """One request as the receiver saw it, and whether its signature held."""

    path: str
    headers: dict[str, str]
    body: bytes
    status: int
    verified: bool
    refusal: str | None

    @property
    def event(self) -> dict[str, Any]:
        return dict(json.loads(self.body))


@dataclass
class Receiver:
    """What the server received; ``statuses`` are answered in turn, ``delay`` seconds late."""

    port: int = 0
    secret: str | None = None
    now: Callable[[], float] = time.time
    statuses: list[int] = field(default_factory=list)
    delay: float = 0.0
    extra_headers: dict[str, str] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/kleline/webhooks"

    def answered(self, status: int) -> list[Received]:
        """The requests that got ``status``."""
        return [r for r in self.received if r.status == status]

    def delivered_ids(self) -> list[str]:
        """Ids of the events answered 2xx, in order."""
        return [r.event["id"] for r in self.received if 200 <= r.status < 300]


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            verified, refusal = False, None
            try:
                assert receiver.secret is not None, "the test did not give the receiver its secret"
                verify(receiver.secret, self.headers.get("Kleline-Signature"), body, now=receiver.now())
                verified = True
            except SignatureError as error:
                refusal = str(error)
            with receiver.lock:
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                if not verified:
                    status = 400  # a real merchant refuses what it cannot trust
                receiver.received.append(
                    Received(self.path, dict(self.headers.items()), body, status, verified, refusal)
                )
            if receiver.delay:
                time.sleep(receiver.delay)
            try:
                self.send_response(status)
                for name, value in receiver.extra_headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
            except OSError:
                pass  # the client gave up (a timeout test)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def running_receiver(**options: Any) -> Iterator[Receiver]:
    """A receiver listening on 127.0.0.1 (a free port) for the duration of the block."""
    receiver = Receiver(**options)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    server.daemon_threads = True
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
