"""``kleline serve --workers 2``: keep-alive requests are answered at once, not after a delayed ACK.

uvicorn's own ``--workers`` opens its socket with protocol 0, so asyncio leaves Nagle's algorithm on and each
keep-alive request after the first waits about 40 ms (uvicorn issue #3149); ``kleline serve`` opens the socket
itself. Two orders of magnitude separate the two, so the bound below holds on a busy machine.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_two_workers_answer_keep_alive_requests_without_the_delayed_ack_stall(tmp_path: Path) -> None:
    port = _free_port()
    environment = {**os.environ, "KLELINE_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}"}
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("kleline")), "serve", "--port", str(port), "--workers", "2"],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, "the server exited"
            assert time.monotonic() < deadline, "the server did not start"
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                connection.request("GET", "/health/live")
                connection.getresponse().read()
                break
            except OSError:
                time.sleep(0.2)
        times = []
        for _ in range(20):
            started = time.perf_counter()
            connection.request("GET", "/health/live")
            response = connection.getresponse()
            assert response.status == 200
            response.read()
            times.append(time.perf_counter() - started)
        connection.close()
        assert statistics.median(times) < 0.02, times
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
