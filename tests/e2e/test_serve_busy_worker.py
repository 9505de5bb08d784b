"""``kleline serve --workers 2``: a worker that makes no progress for longer than uvicorn's default health-check
timeout (5 s) is waited for, not killed, and the request it holds is answered.

uvicorn's supervisor pings each worker through a thread of that worker; the ping goes unanswered whenever the whole
process is held: a request holding the GIL, or no CPU on a saturated machine. The test holds the worker the surest
way, with SIGSTOP, while a request is in flight on a keep-alive connection that this worker accepted, then lets
it go on (SIGCONT). Under the old setting the supervisor killed it after 5 s and the request failed with a reset
connection.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

HELD_SECONDS = 8.0  # longer than uvicorn's default timeout (5 s) plus a ping period, far under Kleline's (120 s)

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc"), reason="finds the worker through /proc")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _socket_inode(server_port: int, client_port: int) -> str:
    """The inode of the server's side of the loopback TCP connection ``client_port`` -> ``server_port``."""
    with open("/proc/net/tcp") as table:
        for line in table.readlines()[1:]:
            fields = line.split()
            local, remote = fields[1].split(":"), fields[2].split(":")
            if int(local[1], 16) == server_port and int(remote[1], 16) == client_port:
                return fields[9]
    raise AssertionError(f"no server socket for the connection from port {client_port}")


def _owner(workers: list[int], inode: str) -> int:
    """The worker process holding the socket ``inode``."""
    for pid in workers:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") == f"socket:[{inode}]":
                    return pid
            except OSError:
                continue
    raise AssertionError(f"no worker holds socket {inode}")


def _workers(server: subprocess.Popen[bytes]) -> list[int]:
    """The supervisor's worker processes (its multiprocessing children, not the resource tracker)."""
    found = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/stat") as stat:
                parent = int(stat.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                command = cmdline.read()
        except OSError:
            continue
        if parent == server.pid and b"spawn_main" in command:
            found.append(int(entry))
    return sorted(found)


def test_a_worker_held_longer_than_the_old_health_check_timeout_is_not_killed_and_answers(tmp_path: Path) -> None:
    port = _free_port()
    environment = {**os.environ, "KLELINE_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}"}
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("kleline")), "serve", "--port", str(port), "--workers", "2"],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    held = None
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, "the server exited"
            assert time.monotonic() < deadline, "the server did not start"
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                connection.request("GET", "/health/live")
                connection.getresponse().read()
                if len(_workers(server)) == 2:
                    break
                connection.close()
            except OSError:
                time.sleep(0.2)
        workers = _workers(server)
        assert connection.sock is not None
        sock = connection.sock
        held = _owner(workers, _socket_inode(port, sock.getsockname()[1]))
        # The request's first line goes before the hold, so that the worker has started reading it (its keep-alive
        # timer, 5 s, is off from then on: the connection is not closed as idle when the worker goes on).
        sock.sendall(b"GET /health/live HTTP/1.1\r\n")
        time.sleep(0.5)
        os.kill(held, signal.SIGSTOP)
        began = time.monotonic()
        sock.sendall(b"Host: 127.0.0.1\r\n\r\n")  # the held worker owns this connection: the request waits
        time.sleep(HELD_SECONDS)
        try:
            os.kill(held, signal.SIGCONT)
        except ProcessLookupError:
            pytest.fail("the supervisor killed the held worker, and with it the request in flight")
        response = http.client.HTTPResponse(sock)
        response.begin()
        assert (response.status, response.read()) == (200, b'{"status":"ok"}')
        assert time.monotonic() - began >= HELD_SECONDS
        connection.close()
        assert _workers(server) == workers, "a worker was replaced"
    finally:
        if held is not None:
            try:
                os.kill(held, signal.SIGCONT)
            except ProcessLookupError:
                pass
        server.send_signal(signal.SIGTERM)
        server.wait(30)
