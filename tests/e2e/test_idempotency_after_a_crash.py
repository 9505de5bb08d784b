"""A server killed (SIGKILL) while a request holds an ``Idempotency-Key``: the retry runs within seconds, once.

The first ``kleline serve`` registers a card against a "bank" that accepts the connection and never answers, so the
request sits in the bank call holding its claim, renewed by the heartbeat: a duplicate sent to the live server long
after the lease would have run out still gets 409 ``idempotency_request_in_progress``. Then the server is killed:
nothing renews the claim any more. A second server, with a bank that answers, takes the retry over once the lease has
lapsed (seconds, not the five minutes it used to be), registers the card once, and replays that answer afterwards.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2 as httpx

from kleline.bootstrap import build
from kleline.config import load_settings

from ..bank_serve import bank_serve

LEASE_SECONDS = 3
PASSWORD = "correct horse battery staple"
CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123", "holder_name": "Ada Lovelace"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def kleline_serve(database_url: str, bank_url: str) -> Iterator[tuple[subprocess.Popen[bytes], httpx.Client]]:
    """``kleline serve`` on a free port, answering when the block starts; terminated after unless killed."""
    port = free_port()
    environment = {
        **os.environ,
        "KLELINE_DATABASE_URL": database_url,
        "KLELINE_BANK_URL": bank_url,
        "KLELINE_BANK_TIMEOUT_SECONDS": "60",
        "KLELINE_IDEMPOTENCY_LOCK_TIMEOUT_SECONDS": str(LEASE_SECONDS),
        "KLELINE_DB_POOL_TIMEOUT_SECONDS": "1",
    }
    command = [str(Path(sys.executable).with_name("kleline")), "serve", "--port", str(port)]
    server = subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=90)
    try:
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None, "the server exited"
            assert time.monotonic() < deadline, "the server did not start"
            try:
                if client.get("/health/live").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        yield server, client
    finally:
        client.close()
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
        server.wait(30)


def claims(kleline_url: str) -> int:
    system = build(load_settings(database_url=kleline_url))
    try:
        with system.db.transaction(write=False) as tx:
            return int(tx.fetchone("SELECT count(*) FROM idempotency_records WHERE status IS NULL")[0])
    finally:
        system.close()


def test_a_retry_after_the_server_was_killed_runs_within_seconds_and_once(database_url: str) -> None:
    system = build(load_settings(database_url=database_url))
    try:
        system.customers.sign_up("ada@example.org", PASSWORD, "Ada Lovelace")
        token = system.customers.sign_in("ada@example.org", PASSWORD).token
    finally:
        system.close()
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "add-my-visa"}
    with socket.socket() as silent_bank:  # accepts connections (the backlog does), never answers
        silent_bank.bind(("127.0.0.1", 0))
        silent_bank.listen(8)
        silent_url = f"iso8583://127.0.0.1:{silent_bank.getsockname()[1]}"
        with kleline_serve(database_url, silent_url) as (server, client):
            stuck = threading.Thread(target=lambda: _ignore_errors(client, headers), daemon=True)
            stuck.start()
            deadline = time.monotonic() + 30
            while claims(database_url) == 0:
                assert time.monotonic() < deadline, "the request never claimed its key"
                time.sleep(0.1)
            time.sleep(2 * LEASE_SECONDS)  # the lease would have lapsed twice had it not been renewed
            duplicate = client.post("/v1/wallet/cards", json=CARD, headers=headers)
            assert duplicate.status_code == 409, duplicate.text
            assert duplicate.json()["code"] == "idempotency_request_in_progress"
            assert int(duplicate.headers["Retry-After"]) >= 1
            server.kill()  # SIGKILL: no release, no rollback from Python; the heartbeat dies with it
            server.wait(30)
            killed_at = time.monotonic()
    with bank_serve() as bank, kleline_serve(database_url, bank.url) as (_, client):
        answers = []
        while True:
            answer = client.post("/v1/wallet/cards", json=CARD, headers=headers)
            answers.append(answer.status_code)
            if answer.status_code != 409:
                break
            assert time.monotonic() - killed_at < 60, answers
            time.sleep(0.5)
        waited = time.monotonic() - killed_at
        assert answer.status_code == 201, answer.text
        card = answer.json()
        replay = client.post("/v1/wallet/cards", json=CARD, headers=headers)
        assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
        assert replay.json() == card
        listed = client.get("/v1/wallet/cards", headers={"Authorization": headers["Authorization"]}).json()["data"]
        assert [c["id"] for c in listed] == [card["id"]]  # registered once
    # The retry ran as soon as the lease lapsed; with the old five-minute claim it could not have run in a minute.
    assert waited < 60, answers


def _ignore_errors(client: httpx.Client, headers: dict[str, str]) -> None:
    try:
        client.post("/v1/wallet/cards", json=CARD, headers=headers)
    except httpx.TransportError:
        pass  # the server was killed under it
