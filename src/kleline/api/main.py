"""The ASGI entry for ``uvicorn --factory`` and the server ``kleline serve`` runs.

Several workers share one listening socket opened here as ``IPPROTO_TCP``. ``uvicorn --workers N`` opens it with
protocol 0; the accepted connections inherit that, asyncio then leaves Nagle's algorithm on (it sets TCP_NODELAY
only on sockets that say ``IPPROTO_TCP``), and every keep-alive request after a connection's first waits for the
client's delayed ACK, about 40 ms on Linux (uvicorn issue #3149). One worker lets uvicorn open its own socket, which
is right.
"""

from __future__ import annotations

import socket

from fastapi import FastAPI

from kleline.api.app import create_app
from kleline.bootstrap import build

__all__ = ["APP", "app_from_environment", "listening_socket"]

APP = "kleline.api.main:app_from_environment"


def app_from_environment() -> FastAPI:
    """The API over Kleline as the ``KLELINE_*`` environment describes it."""
    return create_app(build())


def listening_socket(host: str, port: int) -> socket.socket:
    """A bound TCP socket that says so (``proto`` = ``IPPROTO_TCP``), inheritable by the workers."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock
