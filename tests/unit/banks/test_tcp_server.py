"""Iso8583Server: framed requests in, framed answers out, one thread per connection, broken peers cut off."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from kleline.banks import Iso8583Server, SandboxIssuers
from kleline.banks.framing import FrameReader, frame
from kleline.banks.messages import EchoRequest, EchoResponse, decode_response, encode_message


def echo(stan: str) -> bytes:
    return encode_message(EchoRequest(stan=stan, local_time="101010"))


def answers(sock: socket.socket, count: int) -> list[bytes]:
    reader, received = FrameReader(), []
    sock.settimeout(2)
    while len(received) < count:
        data = sock.recv(4096)
        if not data:
            break
        received += reader.feed(data)
    return received


@pytest.fixture
def server() -> Iterator[Iso8583Server]:
    running = Iso8583Server(SandboxIssuers().handle).start()
    yield running
    running.shutdown()


def test_port_zero_listens_on_a_free_port_and_a_request_gets_its_answer(server: Iso8583Server) -> None:
    host, port = server.server_address
    assert host == "127.0.0.1" and port > 0
    with socket.create_connection(server.server_address) as sock:
        sock.sendall(frame(echo("000001")))
        (answer,) = answers(sock, 1)
    assert decode_response(answer) == EchoResponse(stan="000001", code="00")


def test_frames_split_anywhere_or_sent_together_are_answered_in_order(server: Iso8583Server) -> None:
    together = frame(echo("000001")) + frame(echo("000002"))
    dribbled = frame(echo("000003"))
    with socket.create_connection(server.server_address) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.sendall(together)
        for byte in dribbled:
            sock.sendall(bytes([byte]))
            time.sleep(0.001)
        received = answers(sock, 3)
    assert [decode_response(a).stan for a in received] == ["000001", "000002", "000003"]


def test_requests_on_different_connections_are_in_flight_at_the_same_time() -> None:
    # Three requests wait for each other inside the handler: served one after the other, none would finish.
    meeting = threading.Barrier(3, timeout=2)
    issuers = SandboxIssuers()

    def handler(request: bytes) -> bytes:
        meeting.wait()
        return issuers.handle(request)

    results: list[bytes] = []

    def client(server: Iso8583Server, stan: str) -> None:
        with socket.create_connection(server.server_address) as sock:
            sock.sendall(frame(echo(stan)))
            results.extend(answers(sock, 1))

    with Iso8583Server(handler) as server:
        threads = [threading.Thread(target=client, args=(server, f"00000{i}")) for i in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=5)
    assert sorted(decode_response(a).stan for a in results) == ["000000", "000001", "000002"]


def test_a_malformed_message_closes_its_connection_without_logging_its_bytes(
    server: Iso8583Server, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="kleline.banks.tcp_server")
    with (
        socket.create_connection(server.server_address) as broken,
        socket.create_connection(server.server_address) as healthy,
    ):
        broken.sendall(frame(b"0100 4242424242424242 not a message of our spec"))
        assert answers(broken, 1) == []  # closed, no answer
        healthy.sendall(frame(echo("000009")))
        assert decode_response(answers(healthy, 1)[0]).stan == "000009"
    assert "closing ISO 8583 connection" in caplog.text
    assert "4242424242424242" not in caplog.text


def test_a_frame_announcing_an_empty_message_closes_the_connection(server: Iso8583Server) -> None:
    with socket.create_connection(server.server_address) as sock:
        sock.sendall(b"\x00\x00")
        assert answers(sock, 1) == []


def test_a_handler_that_fails_loses_its_connection_and_the_server_goes_on() -> None:
    issuers = SandboxIssuers()
    calls = []

    def handler(request: bytes) -> bytes:
        calls.append(request)
        if len(calls) == 1:
            raise RuntimeError("a bug in the handler")
        return issuers.handle(request)

    with Iso8583Server(handler) as server:
        with socket.create_connection(server.server_address) as first:
            first.sendall(frame(echo("000001")))
            assert answers(first, 1) == []
        with socket.create_connection(server.server_address) as second:
            second.sendall(frame(echo("000002")))
            assert len(answers(second, 1)) == 1


def test_shutdown_closes_open_connections_and_releases_the_port() -> None:
    server = Iso8583Server(SandboxIssuers().handle).start()
    address = server.server_address
    with socket.create_connection(address) as sock:
        time.sleep(0.05)  # the connection is accepted and its thread waits for a request
        began = time.monotonic()
        server.shutdown()
        sock.settimeout(2)
        assert sock.recv(16) == b""
        assert time.monotonic() - began < 1.5
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(address, timeout=1)
    server.shutdown()  # a second shutdown is harmless


def test_a_server_never_started_shuts_down_at_once() -> None:
    server = Iso8583Server(SandboxIssuers().handle)
    began = time.monotonic()
    server.shutdown()
    assert time.monotonic() - began < 0.5
    server.serve_forever()  # after shutdown, serving returns at once instead of listening on a closed socket
