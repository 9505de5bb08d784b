"""A lean HTTP/1.1 load generator for the API benchmark: keep-alive connections over raw sockets, one per thread,
in a process of its own.

Why not an HTTP client library: on a small machine the load generator shares the cores with the server and the
database, and a full client spends more CPU per request than a trivial endpoint does (``httpx2.Client``: about
450 µs a request, against 350 µs for the server to answer ``/health/live``). Here a request is one ``sendall``
of pre-built bytes and a response is read by its ``Content-Length``: about 40 µs, system calls included, so
that what is measured is the server. The process reports its own CPU time, so that the output says what the
client took.

Workloads (chosen by ``Plan.kind``):
- ``live``: ``GET /health/live``, the trivial JSON endpoint;
- ``read``: ``GET /v1/payments/{id}`` with the merchant's key, an authenticated read of one row: what any API
  call costs before its own work;
- ``purse``: a purse payment as a shop and its customer make it: ``POST /v1/payments`` with the merchant's key,
  then ``POST /v1/payments/{id}/confirm`` ``{"method": "purse"}`` with a customer's token, each with an
  ``Idempotency-Key``. It counts as completed when the confirmation answers ``succeeded``;
- ``page``: ``GET`` of a page (``Plan.path``) with a signed-in customer's session cookie (each connection its own
  customer's, in turn), as a browser asks for it, or with ``Plan.bearer`` as its key (an operator's report); it
  counts when the page answers 200 with ``Plan.marker`` in it.
"""

from __future__ import annotations

import json
import multiprocessing
import random
import resource
import secrets
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Connection", "Plan", "RoundResult", "run_round"]

WARM_UP_OPERATIONS = 3
"""Operations each connection makes before the clock starts (connection, caches, the first-request costs)."""


CONNECT_SPACING = 0.02
"""Seconds between the load threads' first connections."""


class Connection:
    """One keep-alive HTTP/1.1 connection; ``request`` answers (status, body)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._socket: socket.socket | None = None
        self._buffer = b""

    def _connect(self) -> socket.socket:
        if self._socket is None:
            sock = socket.create_connection((self.host, self.port), timeout=60)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._socket, self._buffer = sock, b""
        return self._socket

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    def request(self, method: str, path: str, headers: bytes = b"", body: bytes | None = None) -> tuple[int, bytes]:
        """Send one request (``headers``: ready ``Name: value\\r\\n`` lines) and read its whole answer."""
        sock = self._connect()
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n".encode() + headers
        if body is not None:
            head += b"Content-Type: application/json\r\nContent-Length: %d\r\n" % len(body)
        try:
            sock.sendall(head + b"\r\n" + (body or b""))
            return self._read(sock)
        except BaseException:
            self.close()  # the stream's state is unknown now: the next request opens a fresh connection
            raise

    def _read(self, sock: socket.socket) -> tuple[int, bytes]:
        while (end := self._buffer.find(b"\r\n\r\n")) < 0:
            self._receive(sock)
        head, self._buffer = self._buffer[:end], self._buffer[end + 4 :]
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length, chunked, closing = 0, False, False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
            elif name == b"connection" and value.strip().lower() == b"close":
                closing = True
        body = self._chunked(sock) if chunked else self._exactly(sock, length)
        if closing:
            self.close()
        return status, body

    def _exactly(self, sock: socket.socket, length: int) -> bytes:
        while len(self._buffer) < length:
            self._receive(sock)
        body, self._buffer = self._buffer[:length], self._buffer[length:]
        return body

    def _chunked(self, sock: socket.socket) -> bytes:
        parts = []
        while True:
            while (end := self._buffer.find(b"\r\n")) < 0:
                self._receive(sock)
            size = int(self._buffer[:end].split(b";")[0], 16)
            self._buffer = self._buffer[end + 2 :]
            parts.append(self._exactly(sock, size))
            self._exactly(sock, 2)  # the CRLF after the chunk
            if size == 0:
                return b"".join(parts)

    def _receive(self, sock: socket.socket) -> None:
        data = sock.recv(65536)
        if not data:
            raise ConnectionError("the server closed the connection")
        self._buffer += data


@dataclass(frozen=True)
class Plan:
    """What one load process does: ``connections`` threads, each on its own connection, for ``seconds``."""

    kind: str  # a key of WORKLOADS: "live", "read", "purse" or "page"
    host: str
    port: int
    connections: int
    seconds: float
    merchant_key: str = ""
    customer_tokens: tuple[str, ...] = ()
    payment_id: str = ""  # the payment ``read`` reads
    amounts: tuple[int, int] = (100, 500)
    path: str = ""  # the page ``page`` asks for
    cookies: tuple[str, ...] = ()  # ``page``: one ``Cookie`` header value per customer
    bearer: str = ""  # ``page``: a key sent as ``Authorization: Bearer`` (with or without cookies)
    marker: bytes = b"</html>"  # ``page``: what a complete answer holds


@dataclass
class RoundResult:
    """What a round measured: operations completed in the window, their latencies, and everything sent."""

    completed: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)  # seconds, one per operation completed in the window
    succeeded_total: int = 0  # every succeeded payment, warm-up and the window's last in-flight ones included
    amount_total: int = 0  # what those payments were for, in cents
    client_cpu: float = 0.0  # CPU seconds the load process used from the go to its last answer
    window: float = 0.0  # the window's length, seconds
    error_samples: list[str] = field(default_factory=list)

    def sample(self, error: str) -> None:
        """Keep the first few errors' descriptions for the report."""
        if len(self.error_samples) < 5:
            self.error_samples.append(error)

    def merge(self, other: RoundResult) -> None:
        self.completed += other.completed
        self.errors += other.errors
        self.latencies += other.latencies
        self.succeeded_total += other.succeeded_total
        self.amount_total += other.amount_total
        self.error_samples += other.error_samples[: max(0, 5 - len(self.error_samples))]


def _live(plan: Plan, connection: Connection, tally: RoundResult, _index: int) -> Callable[[], bool]:
    def step() -> bool:
        status, body = connection.request("GET", "/health/live")
        if status != 200 or b'"ok"' not in body:
            tally.sample(f"GET /health/live: {status} {body[:200]!r}")
            return False
        return True

    return step


def _read(plan: Plan, connection: Connection, tally: RoundResult, _index: int) -> Callable[[], bool]:
    merchant = f"Authorization: Bearer {plan.merchant_key}\r\n".encode()
    path = f"/v1/payments/{plan.payment_id}"
    expected = f'"id":"{plan.payment_id}"'.encode()

    def step() -> bool:
        status, body = connection.request("GET", path, merchant)
        if status != 200 or expected not in body:
            tally.sample(f"GET {path}: {status} {body[:200]!r}")
            return False
        return True

    return step


def _purse(plan: Plan, connection: Connection, tally: RoundResult, index: int) -> Callable[[], bool]:
    # Each thread pays with its own customers in turn, so that no customer pays twice at once (people don't).
    tokens = plan.customer_tokens[index :: plan.connections]
    if not tokens:
        raise ValueError(f"{plan.connections} connections need at least as many customers")
    merchant = f"Authorization: Bearer {plan.merchant_key}\r\n".encode()
    customers = [f"Authorization: Bearer {token}\r\n".encode() for token in tokens]
    prefix = f"bench-{secrets.token_hex(4)}-{index}-"
    draw = random.Random(index)
    turn = 0

    def step() -> bool:
        nonlocal turn
        turn += 1
        amount = draw.randint(*plan.amounts)
        key = f"Idempotency-Key: {prefix}{turn}-create\r\n".encode()
        body = b'{"amount": %d, "currency": "EUR", "reference": "order-%d"}' % (amount, turn)
        status, answer = connection.request("POST", "/v1/payments", merchant + key, body)
        if status != 201:
            tally.sample(f"POST /v1/payments: {status} {answer[:200]!r}")
            return False
        payment_id = json.loads(answer)["id"]
        key = f"Idempotency-Key: {prefix}{turn}-confirm\r\n".encode()
        customer = customers[turn % len(customers)]
        path = f"/v1/payments/{payment_id}/confirm"
        status, answer = connection.request("POST", path, customer + key, b'{"method": "purse"}')
        if status != 200 or json.loads(answer).get("status") != "succeeded":
            tally.sample(f"POST {path}: {status} {answer[:200]!r}")
            return False
        tally.succeeded_total += 1
        tally.amount_total += amount
        return True

    return step


def _page(plan: Plan, connection: Connection, tally: RoundResult, index: int) -> Callable[[], bool]:
    if not plan.cookies and not plan.bearer:
        raise ValueError("a page workload needs the customers' session cookies or a key")
    # The headers a browser sends for a page: its session and language cookies, what it accepts.
    cookie = f"Cookie: {plan.cookies[index % len(plan.cookies)]}\r\n" if plan.cookies else ""
    key = f"Authorization: Bearer {plan.bearer}\r\n" if plan.bearer else ""
    headers = (f"{cookie}{key}Accept: text/html,application/xhtml+xml\r\nAccept-Language: en-GB,en;q=0.9\r\n").encode()

    def step() -> bool:
        status, body = connection.request("GET", plan.path, headers)
        if status != 200 or plan.marker not in body:
            tally.sample(f"GET {plan.path}: {status} {body[:200]!r}")
            return False
        return True

    return step


WORKLOADS: dict[str, Callable[[Plan, Connection, RoundResult, int], Callable[[], bool]]] = {
    "live": _live,
    "read": _read,
    "purse": _purse,
    "page": _page,
}


@dataclass
class _Start:
    """The window's start, shared by the load process's threads."""

    event: threading.Event = field(default_factory=threading.Event)
    at: float = 0.0


def _thread(plan: Plan, index: int, ready: threading.Barrier, start: _Start, out: list[RoundResult]) -> None:
    tally = RoundResult()
    connection = Connection(plan.host, plan.port)
    step = WORKLOADS[plan.kind](plan, connection, tally, index)
    # Connections opened one after another rather than all at once: the server's workers share one listening
    # socket, and a burst of connections tends to be accepted by whichever worker wakes first.
    time.sleep(index * CONNECT_SPACING)
    try:
        for _ in range(WARM_UP_OPERATIONS):
            _attempt(step, tally)
        tally.errors = 0  # warm-up errors are not the window's (the samples stay, for the report)
    finally:
        ready.wait()
    start.event.wait()
    deadline = start.at + plan.seconds
    latencies = tally.latencies
    while True:
        began = time.perf_counter()
        if began >= deadline:
            break
        ok = _attempt(step, tally)
        ended = time.perf_counter()
        if ok and ended <= deadline:
            tally.completed += 1
            latencies.append(ended - began)
        elif not ok:
            tally.errors += 1
    connection.close()
    out[index] = tally


def _attempt(step: Callable[[], bool], tally: RoundResult) -> bool:
    try:
        return step()
    except (OSError, ValueError, KeyError, IndexError) as error:
        tally.sample(f"{type(error).__name__}: {error}")
        return False


def _process(plan: Plan, started: Any, go: Any, results: Any) -> None:
    """The load process: connect and warm up every thread, say so, wait for the parent's go, run, report."""
    ready = threading.Barrier(plan.connections + 1)
    start = _Start()
    out: list[RoundResult] = [RoundResult() for _ in range(plan.connections)]
    threads = [
        threading.Thread(target=_thread, args=(plan, i, ready, start, out), daemon=True)
        for i in range(plan.connections)
    ]
    for thread in threads:
        thread.start()
    ready.wait()
    started.set()
    go.wait()
    cpu_before = _cpu()
    start.at = time.perf_counter()
    start.event.set()
    for thread in threads:
        thread.join()
    total = RoundResult(client_cpu=_cpu() - cpu_before, window=plan.seconds)
    for tally in out:
        total.merge(tally)
    results.put(total)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_round(plan: Plan, before_go: Callable[[], None] = lambda: None) -> RoundResult:
    """Start a load process, let it connect and warm up, then measure ``plan.seconds`` of it."""
    context = multiprocessing.get_context("spawn")
    started, go, results = context.Event(), context.Event(), context.Queue()
    process = context.Process(target=_process, args=(plan, started, go, results), daemon=True)
    process.start()
    if not started.wait(timeout=120):
        process.kill()
        raise RuntimeError("the load generator did not get ready in two minutes")
    before_go()
    go.set()
    result: RoundResult = results.get(timeout=plan.seconds + 180)
    process.join(timeout=30)
    return result
