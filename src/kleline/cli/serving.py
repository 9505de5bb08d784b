"""The HTTP server ``kleline serve`` runs: uvicorn, one process or its multiprocess supervisor over N workers.

Why uvicorn's supervisor, and why its worker health check waits two minutes rather than uvicorn's 5 seconds:
the supervisor pings each worker every half second through a pipe, answered by a thread of the worker; a worker
that has not answered within ``timeout_worker_healthcheck`` is killed with SIGKILL and replaced. That thread needs
the interpreter, so it stays silent whenever the whole worker makes no progress: a C call holding the GIL, a long
start-up, or simply no CPU on a saturated machine (the benchmark saw three workers killed so). Killing a busy
worker never helps: every request it holds fails with a reset connection, and its replacement must start, which
costs more CPU on the same saturated machine. With a long timeout, a busy worker's requests wait instead; a worker
that died is still replaced at once (the supervisor checks that the process is alive before it pings). Only a
worker whose interpreter stays stuck for two minutes (a real deadlock) is killed. The cost: the supervisor checks
its workers one after another, so while it waits on a stuck worker it acts on SIGTERM only once that wait ends.

Why not gunicorn with uvicorn workers: its arbiter kills a worker whose event loop has not touched its heartbeat
file for ``--timeout`` seconds, that is precisely a busy worker, and it would be one more dependency.

The listening socket of several workers is opened here as ``IPPROTO_TCP``: see ``kleline.api.main``.
"""

from __future__ import annotations

__all__ = ["HEALTHCHECK_TIMEOUT", "run_server"]

HEALTHCHECK_TIMEOUT = 120
"""Seconds a worker may go without answering the supervisor's ping before it is killed and replaced."""


def run_server(
    host: str,
    port: int,
    workers: int,
    *,
    app: str | None = None,
    access_log: bool = True,
    log_level: str = "info",
    healthcheck_timeout: int = HEALTHCHECK_TIMEOUT,
    forwarded_allow_ips: str = "",
) -> None:
    """Serve ``app`` (an application factory's import path; Kleline's API by default) until SIGTERM or SIGINT: one
    process, or the multiprocess supervisor over ``workers`` processes sharing one listening socket.

    A client is the connection's address unless it comes from one of ``forwarded_allow_ips`` (a proxy in front of
    Kleline), whose ``X-Forwarded-For`` then names it. uvicorn alone would trust that header from 127.0.0.1, so
    that any local process could claim to be any client and slip past the rate limits per client.
    """
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from kleline.api.main import APP, listening_socket  # here: the CLI starts without the API's imports

    config = uvicorn.Config(
        app or APP,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=access_log,
        log_level=log_level,
        timeout_worker_healthcheck=healthcheck_timeout,
        proxy_headers=bool(forwarded_allow_ips),
        forwarded_allow_ips=forwarded_allow_ips or None,
    )
    if workers <= 1:
        uvicorn.Server(config).run()
        return
    Multiprocess(config, sockets=[listening_socket(host, port)]).run()
