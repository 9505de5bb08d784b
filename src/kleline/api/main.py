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

__all__ = ["APP", "app_from_environment", "listening_socket", "run_server"]

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


def run_server(
    host: str,
    port: int,
    workers: int,
    *,
    access_log: bool = True,
    log_level: str = "info",
    forwarded_allow_ips: str = "",
) -> None:
    """Serve until SIGTERM or SIGINT: one process, or uvicorn's supervisor over ``workers`` processes.

    A client is the connection's address unless it comes from one of ``forwarded_allow_ips`` (a proxy in front of
    Kleline), whose ``X-Forwarded-For`` then names it. uvicorn alone would trust that header from 127.0.0.1, so
    that any local process could claim to be any client and slip past the rate limits per client.
    """
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config(
        APP,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=access_log,
        log_level=log_level,
        proxy_headers=bool(forwarded_allow_ips),
        forwarded_allow_ips=forwarded_allow_ips or None,
    )
    if workers <= 1:
        uvicorn.Server(config).run()
        return
    Multiprocess(config, sockets=[listening_socket(host, port)]).run()
