"""``kleline serve``: the rate limit per client is shared by every worker process, and a client cannot dodge it by
naming another address in ``X-Forwarded-For`` unless ``KLELINE_FORWARDED_ALLOW_IPS`` says a proxy sends it."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

LIMIT = 4


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def served(database_url: str, workers: int, **settings: str) -> Iterator[int]:
    port = _free_port()
    environment = {
        **os.environ,
        "KLELINE_DATABASE_URL": database_url,
        "KLELINE_SIGN_IN_RATE": str(LIMIT),
        "KLELINE_SIGN_IN_RATE_WINDOW_SECONDS": "3600",  # no window ends during the test
        **{f"KLELINE_{name.upper()}": value for name, value in settings.items()},
    }
    command = [str(sys.executable), "-m", "kleline", "serve", "--port", str(port), "--workers", str(workers)]
    server = subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, "the server exited"
            assert time.monotonic() < deadline, "the server did not start"
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                connection.request("GET", "/health/live")
                connection.getresponse().read()
                connection.close()
                break
            except OSError:
                time.sleep(0.2)
        yield port
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)


def sign_in(port: int, forwarded_for: str) -> int:
    """One attempt on a connection of its own (so that the workers share them out), claiming ``forwarded_for``."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    body = json.dumps({"email": "nobody@example.org", "password": "a guess of twelve"})
    headers = {"Content-Type": "application/json", "X-Forwarded-For": forwarded_for}
    connection.request("POST", "/v1/auth/token", body=body, headers=headers)
    status = connection.getresponse().status
    connection.close()
    return status


def test_two_workers_share_one_count_and_a_forged_forwarded_for_changes_nothing(database_url: str) -> None:
    with served(database_url, workers=2) as port:
        statuses = [sign_in(port, f"192.0.2.{n}") for n in range(3 * LIMIT)]
    assert statuses == [401] * LIMIT + [429] * (2 * LIMIT)


def test_behind_a_trusted_proxy_the_forwarded_address_is_the_client(database_url: str) -> None:
    with served(database_url, workers=1, forwarded_allow_ips="127.0.0.1") as port:
        assert [sign_in(port, f"192.0.2.{n}") for n in range(2 * LIMIT)] == [401] * (2 * LIMIT)
        assert [sign_in(port, "198.51.100.9") for _ in range(LIMIT + 1)] == [401] * LIMIT + [429]
