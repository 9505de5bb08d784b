"""Every request body is bounded by its route before it is read: an API call's JSON, a page's form small, a bank
statement larger (``KLELINE_MAX_*_BYTES``). A declared length past the bound is answered 413 ``payload_too_large``
without a byte read; a chunked body (no length) is counted as it streams, on a real server, and answered 413 once
past the bound, long before the client could finish sending hundreds of megabytes. Nothing is written, no
idempotency key is claimed."""

from __future__ import annotations

import select
import socket
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from kleline.api.app import create_app
from kleline.bootstrap import Kleline, build
from kleline.config import load_settings

from ..conftest import FakeClock
from ..operator_keys import operator_key
from .http import bearer, problem
from .live_server import loopback_listener, serving

KIB = 1024
MIB = 1024 * KIB
HUGE = 300 * MIB
CHUNK = 64 * KIB


@pytest.fixture
def kleline(database_url: str, clock: FakeClock) -> Iterator[Kleline]:
    """Kleline with small bounds, so that a test goes past them quickly."""
    settings = load_settings(
        database_url=database_url, max_body_bytes=8 * KIB, max_statement_bytes=256 * KIB, max_form_bytes=4 * KIB
    )
    system = build(settings, clock=clock)
    try:
        yield system
    finally:
        system.close()


def _count(kleline: Kleline, table: str) -> int:
    with kleline.db.transaction(write=False) as tx:
        return int(tx.fetchone(f"SELECT COUNT(*) FROM {table}")[0])


def _never_read() -> Iterator[bytes]:
    raise AssertionError("the body was read")
    yield b""  # a generator, read only if the server asks for the body


def test_the_default_bounds_are_small_for_json_and_forms_and_a_few_mebibytes_for_statements() -> None:
    settings = load_settings()
    assert (settings.max_body_bytes, settings.max_form_bytes) == (64 * KIB, 16 * KIB)
    assert 1 * MIB < settings.max_statement_bytes <= 64 * MIB


@pytest.mark.parametrize(
    ("path", "limit", "content_type"),
    [
        ("/v1/customers", 8 * KIB, "application/json"),
        ("/v1/payments", 8 * KIB, "application/json"),
        ("/v1/customers", 8 * KIB, "text/plain"),
        ("/v1/bank-statements", 256 * KIB, "application/xml"),
        ("/sign-up", 4 * KIB, "application/x-www-form-urlencoded"),
        ("/checkout/pay_x/confirm", 4 * KIB, "application/x-www-form-urlencoded"),
    ],
)
def test_a_declared_length_past_the_route_s_bound_is_a_413_before_a_byte_is_read(
    client: TestClient, kleline: Kleline, path: str, limit: int, content_type: str
) -> None:
    for length in (limit + 1, HUGE):
        headers = {"Content-Length": str(length), "Content-Type": content_type, "Idempotency-Key": "k-1"}
        response = client.post(path, content=_never_read(), headers=headers)
        assert "bytes at most" in problem(response, 413, "payload_too_large")["detail"]
    assert (_count(kleline, "customers"), _count(kleline, "idempotency_records")) == (0, 0)


def test_a_body_within_the_bound_goes_through(client: TestClient) -> None:
    body = {"email": "ada@example.org", "password": "correct horse battery staple", "name": "Ada"}
    assert client.post("/v1/customers", json=body).status_code == 201
    padded = client.post("/v1/customers", json={**body, "name": "A" * (7 * KIB)})
    assert padded.status_code == 400  # read and validated (too long a name), not refused at the door


def test_a_body_without_a_length_that_goes_past_the_bound_of_a_route_reading_it_itself_is_a_413(
    client: TestClient, kleline: Kleline
) -> None:
    # The statement route reads its body itself, through the door's counting receive (no Content-Length here:
    # the TestClient sends the body in one piece, the door counts it as it goes).
    operator = bearer(operator_key(kleline.db))
    chunks = (b"<" * CHUNK for _ in range(5))
    headers = {**operator, "Content-Type": "application/xml", "Transfer-Encoding": "chunked"}
    response = client.post("/v1/bank-statements", content=chunks, headers=headers)
    problem(response, 413, "payload_too_large")


def _stream(url: str, request_head: bytes, first: bytes, filler: bytes) -> tuple[int, bytes]:
    """Send a chunked body to a real server until it answers (or ``HUGE`` bytes went): bytes sent, its answer."""
    host, port = url.removeprefix("http://").split(":")
    sent = 0
    with socket.create_connection((host, int(port)), timeout=30) as connection:
        connection.sendall(request_head)
        chunk = first
        try:
            while sent < HUGE:
                readable, _, _ = select.select([connection], [], [], 0)
                if readable:
                    break
                connection.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
                chunk = filler
            else:
                connection.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed while we were still sending
        answer = b""
        while b"\r\n\r\n" not in answer or len(answer.partition(b"\r\n\r\n")[2]) < _length(answer):
            data = connection.recv(65536)
            if not data:
                break
            answer += data
    return sent, answer


def _length(answer: bytes) -> int:
    for line in answer.partition(b"\r\n\r\n")[0].split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


@pytest.mark.parametrize(
    ("path", "content_type", "first", "auth"),
    [
        ("/v1/customers", "application/json", b'{"email": "a@example.org", "name": "', False),
        ("/v1/bank-statements", "application/xml", b'<?xml version="1.0"?><Document><!--', True),
        ("/sign-up", "application/x-www-form-urlencoded", b"name=", False),
    ],
)
def test_a_chunked_body_streamed_to_a_real_server_is_cut_off_with_a_413_once_past_the_bound(
    kleline: Kleline, path: str, content_type: str, first: bytes, auth: bool
) -> None:
    listener, url = loopback_listener()
    authorization = f"Authorization: Bearer {operator_key(kleline.db)}\r\n" if auth else ""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: kleline\r\nContent-Type: {content_type}\r\nTransfer-Encoding: chunked\r\n"
        f"Idempotency-Key: stream-1\r\n{authorization}\r\n"
    ).encode()
    with serving(create_app(kleline), listener):
        sent, answer = _stream(url, head, first, b"a" * CHUNK)
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert b'"code":"payload_too_large"' in answer, answer
    assert sent < 32 * MIB  # the bound, plus what the sockets' buffers took in before the answer was read
    assert (_count(kleline, "customers"), _count(kleline, "idempotency_records")) == (0, 0)


def test_the_bounds_follow_the_settings(database_url: str, clock: FakeClock) -> None:
    system = build(load_settings(database_url=database_url, max_body_bytes=2 * KIB), clock=clock)
    try:
        with TestClient(create_app(system)) as client:
            headers = {"Content-Type": "application/json"}
            problem(
                client.post("/v1/customers", content=b" " * (2 * KIB + 1), headers=headers), 413, "payload_too_large"
            )
            assert client.post("/v1/customers", content=b" " * (2 * KIB), headers=headers).status_code == 400
    finally:
        system.close()


def test_every_operation_with_a_body_documents_the_413(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    assert "payload_too_large" in document["components"]["responses"]["PayloadTooLarge"]["description"]
    with_body = [op for item in document["paths"].values() for op in item.values() if "requestBody" in op]
    assert len(with_body) > 15
    assert all(op["responses"]["413"] == {"$ref": "#/components/responses/PayloadTooLarge"} for op in with_body)
