"""TcpTransport: a pool of persistent connections, a deadline per request, and the two ways of failing told apart."""

from __future__ import annotations

import inspect
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from kleline.banks import (
    CardDetails,
    Iso8583Server,
    IsoBankNetwork,
    IssuerUnreachable,
    MalformedMessage,
    NoAnswer,
    SandboxIssuers,
    TcpTransport,
)
from kleline.banks.framing import FrameReader, frame
from kleline.banks.messages import EchoRequest, EchoResponse, decode_response, encode_message
from kleline.money import Money

VISA = "4242424242424242"


def echo(stan: str = "000001") -> bytes:
    return encode_message(EchoRequest(stan=stan, local_time="101010"))


def slow(issuers: SandboxIssuers, seconds: float) -> Callable[[bytes], bytes]:
    def handler(request: bytes) -> bytes:
        time.sleep(seconds)
        return issuers.handle(request)

    return handler


@contextmanager
def raw_server(answer: Callable[[socket.socket, bytes], None]) -> Iterator[tuple[str, int]]:
    """A bare listening socket held by a thread: reads one request, then ``answer`` writes whatever it likes."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        try:
            connection, _ = listener.accept()
        except OSError:
            return
        with connection:
            reader, requests = FrameReader(), []
            while not requests:
                data = connection.recv(4096)
                if not data:
                    return
                requests = reader.feed(data)
            answer(connection, requests[0])
            time.sleep(0.3)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[:2]
    finally:
        listener.close()
        thread.join(timeout=2)


def test_concurrent_requests_share_at_most_pool_size_connections_and_each_gets_its_own_answer() -> None:
    issuers = SandboxIssuers()
    with Iso8583Server(slow(issuers, 0.01)) as server:
        transport = TcpTransport(*server.server_address, pool_size=4, timeout=5)
        network = IsoBankNetwork(transport)
        card = CardDetails(VISA, 12, 2030, "123")
        approved: list[str] = []

        def client(index: int) -> None:
            for attempt in range(5):
                # IsoBankNetwork checks that each answer carries its request's trace number and reference.
                answer = network.authorize(card, Money(1, "EUR"), f"pay_{index}_{attempt}")
                assert answer.authorization_id is not None
                approved.append(answer.authorization_id)

        threads = [threading.Thread(target=client, args=(i,)) for i in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        transport.close()
    assert len(set(approved)) == 80
    assert transport.opened == 4
    assert issuers.balance(VISA, "EUR").held == Money(80, "EUR")


def test_an_answer_that_does_not_come_in_time_is_no_answer_and_its_connection_is_not_reused() -> None:
    issuers = SandboxIssuers()
    delay = [0.6]

    def handler(request: bytes) -> bytes:
        time.sleep(delay[0])
        return issuers.handle(request)

    with Iso8583Server(handler) as server:
        transport = TcpTransport(*server.server_address, pool_size=1, timeout=0.2)
        began = time.monotonic()
        with pytest.raises(NoAnswer):
            transport.exchange(echo("000001"))
        assert 0.2 <= time.monotonic() - began < 0.5
        delay[0] = 0.0
        # The late answer to 000001 must not be taken for the answer to 000002.
        assert decode_response(transport.exchange(echo("000002"))).stan == "000002"
        assert transport.opened == 2
        transport.close()


def test_a_refused_connection_is_issuer_unreachable() -> None:
    with Iso8583Server(SandboxIssuers().handle) as server:
        address = server.server_address
    transport = TcpTransport(*address, timeout=0.5)
    with pytest.raises(IssuerUnreachable) as refused:
        transport.exchange(echo())
    assert refused.value.code == "issuer_unavailable" and refused.value.status == 503


def test_a_connection_closed_before_the_answer_is_no_answer() -> None:
    def handler(request: bytes) -> bytes:
        raise ConnectionAbortedError("the link broke")

    with Iso8583Server(handler) as server, TcpTransport(*server.server_address, timeout=1) as transport:
        with pytest.raises(NoAnswer):
            transport.exchange(echo())


def test_an_idle_connection_the_network_closed_is_replaced_before_the_request_goes_out() -> None:
    issuers = SandboxIssuers()
    first = Iso8583Server(issuers.handle).start()
    host, port = first.server_address
    transport = TcpTransport(host, port, pool_size=1, timeout=1)
    assert decode_response(transport.exchange(echo("000001"))).stan == "000001"
    first.shutdown()  # the network restarts: our pooled connection is closed under us
    with Iso8583Server(issuers.handle, host, port):
        assert decode_response(transport.exchange(echo("000002"))).stan == "000002"
    assert transport.opened == 2
    transport.close()


def test_when_every_connection_stays_busy_past_the_timeout_the_request_never_leaves() -> None:
    seen: list[bytes] = []
    issuers = SandboxIssuers()

    def handler(request: bytes) -> bytes:
        seen.append(request)
        time.sleep(0.6)
        return issuers.handle(request)

    with Iso8583Server(handler) as server, TcpTransport(*server.server_address, pool_size=1, timeout=0.2) as transport:
        outcome: list[type[Exception]] = []

        def send(stan: str) -> None:
            try:
                transport.exchange(echo(stan))
            except (NoAnswer, IssuerUnreachable) as error:
                outcome.append(type(error))

        # The first holds the only connection for 0.2 s, the second (waiting first) takes it for 0.2 s more: the
        # third finds none free within its 0.2 s.
        threads = [threading.Thread(target=send, args=(f"00000{i}",)) for i in range(3)]
        for thread in threads:
            thread.start()
            time.sleep(0.02)
        for thread in threads:
            thread.join()
    assert sorted(kind.__name__ for kind in outcome) == ["IssuerUnreachable", "NoAnswer", "NoAnswer"]
    assert len(seen) == 2


def test_an_answer_dribbled_byte_by_byte_is_reassembled() -> None:
    def answer(connection: socket.socket, request: bytes) -> None:
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for byte in frame(SandboxIssuers().handle(request)):
            connection.sendall(bytes([byte]))
            time.sleep(0.001)

    with raw_server(answer) as address, TcpTransport(*address, timeout=2) as transport:
        reply = transport.exchange(echo("000007"))
    assert decode_response(reply) == EchoResponse(stan="000007", code="00")


def test_two_answers_to_one_request_are_refused() -> None:
    def answer(connection: socket.socket, request: bytes) -> None:
        reply = frame(SandboxIssuers().handle(request))
        connection.sendall(reply + reply)

    with raw_server(answer) as address, pytest.raises(MalformedMessage):
        TcpTransport(*address, timeout=2).exchange(echo())


def test_an_answer_framed_as_empty_is_refused() -> None:
    def answer(connection: socket.socket, request: bytes) -> None:
        connection.sendall(b"\x00\x00")

    with raw_server(answer) as address, pytest.raises(MalformedMessage):
        TcpTransport(*address, timeout=2).exchange(echo())


def test_a_closed_transport_sends_nothing() -> None:
    with Iso8583Server(SandboxIssuers().handle) as server:
        transport = TcpTransport(*server.server_address, timeout=1)
        transport.exchange(echo())
        transport.close()
        with pytest.raises(IssuerUnreachable):
            transport.exchange(echo())


@pytest.mark.parametrize(("pool_size", "timeout"), [(0, 1.0), (1, 0.0)])
def test_a_pool_needs_a_connection_and_a_positive_timeout(pool_size: int, timeout: float) -> None:
    with pytest.raises(ValueError):
        TcpTransport("127.0.0.1", 8583, pool_size=pool_size, timeout=timeout)


def test_a_connection_idle_past_max_idle_is_replaced_rather_than_raced_against_the_servers_idle_close() -> None:
    # The server closes a connection idle for its idle timeout; a request written at that moment would be lost (and
    # reversed). The pool retires its connections earlier, so it never writes on one the server is about to close.
    with Iso8583Server(SandboxIssuers().handle, idle_timeout=5.0) as server:
        transport = TcpTransport(*server.server_address, pool_size=1, timeout=1, max_idle=0.2)
        assert decode_response(transport.exchange(echo("000001"))).stan == "000001"
        assert decode_response(transport.exchange(echo("000002"))).stan == "000002"
        assert transport.opened == 1  # reused while fresh
        time.sleep(0.3)
        assert decode_response(transport.exchange(echo("000003"))).stan == "000003"
        assert transport.opened == 2  # retired once idle past max_idle
        transport.close()


def test_the_pools_default_idle_limit_is_well_under_the_servers() -> None:
    server_idle = inspect.signature(Iso8583Server).parameters["idle_timeout"].default
    assert TcpTransport("127.0.0.1", 8583).max_idle <= server_idle / 2


@pytest.mark.parametrize("max_idle", [0.0, -1.0])
def test_max_idle_must_be_positive(max_idle: float) -> None:
    with pytest.raises(ValueError):
        TcpTransport("127.0.0.1", 8583, max_idle=max_idle)
