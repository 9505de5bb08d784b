"""The API server of the benchmark: ``kleline serve --workers N`` (``kleline.cli.serving.run_server``) in a subprocess.

``python -m bench.api_server HOST PORT WORKERS [APP]`` serves Kleline's API (or ``APP``, an application factory's
import path: the same-stack reference of ``bench.reference``) as ``kleline serve`` does: uvicorn's multiprocess
supervisor with Kleline's worker health-check timeout (a busy worker is waited for, not killed: see
``kleline.cli.serving``), over a listening socket opened as ``IPPROTO_TCP`` so that TCP_NODELAY is on (without it,
every keep-alive request after a connection's first waits about 40 ms for a delayed ACK: uvicorn issue #3149; see
``kleline.api.main``). Access logs are off: they cost the same per request whatever the endpoint, and would
flatter the ratio. ``start`` runs it as a subprocess and waits until every worker answers.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from bench.http_load import Connection
from bench.usage import children_of
from kleline.cli.serving import run_server

__all__ = ["free_port", "serve", "start", "stop", "workers_of"]

ROOT = Path(__file__).resolve().parent.parent


def serve(host: str, port: int, workers: int, app: str | None = None) -> None:
    """Serve until SIGTERM or SIGINT, as ``kleline serve --workers N`` does, without access logs."""
    run_server(host, port, workers, app=app, access_log=False, log_level="warning")


def free_port(host: str) -> int:
    """A port nobody listens on now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def workers_of(server: subprocess.Popen[bytes]) -> list[int]:
    """The server's worker processes (multiprocessing children, not its resource tracker)."""
    return children_of(server.pid, b"spawn_main")


def start(
    host: str, port: int, workers: int, environment: Mapping[str, str], app: str | None = None
) -> subprocess.Popen[bytes]:
    """The server in a subprocess, once ``/health`` answers and every worker is up."""
    command = [sys.executable, "-m", "bench.api_server", host, str(port), str(workers), *([app] if app else [])]
    server = subprocess.Popen(command, env={**os.environ, **environment}, cwd=ROOT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with {server.returncode}")
        connection = Connection(host, port)
        try:
            if connection.request("GET", "/health")[0] == 200 and len(workers_of(server)) >= workers:
                return server
        except OSError:
            pass
        finally:
            connection.close()
        time.sleep(0.2)
    stop(server)
    raise RuntimeError("the server did not answer /health within a minute")


def stop(server: subprocess.Popen[bytes]) -> None:
    """SIGTERM, as an operator would; SIGKILL after 30 s."""
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


if __name__ == "__main__":
    serve(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), *sys.argv[4:5])
