"""An ASGI application on a real HTTP server (uvicorn, in a thread of the test process) on a loopback port."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from starlette.types import ASGIApp


def loopback_listener() -> tuple[socket.socket, str]:
    """A socket bound to a free loopback port, and its URL: known before the application that will serve it is
    built (Kleline's public URL, the shop's webhook address)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    return listener, f"http://127.0.0.1:{listener.getsockname()[1]}"


@contextmanager
def serving(app: ASGIApp, listener: socket.socket, *, seconds: float = 30) -> Iterator[None]:
    """Serve ``app`` on ``listener`` until the block ends; the server is answering when the block starts."""
    config = uvicorn.Config(app, log_level="warning", lifespan="on", ws="none", http="h11")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + seconds
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the server did not start")
        time.sleep(0.01)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=seconds)
        listener.close()
