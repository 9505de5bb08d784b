"""Iso8583Server: a peer that goes quiet, between frames or inside one, loses its connection and its thread."""

from __future__ import annotations

import logging
import socket
import threading
import time

import pytest

from kleline.banks import Iso8583Server, SandboxIssuers
from kleline.banks.framing import FrameReader, frame
from kleline.banks.messages import EchoRequest, decode_response, encode_message


def echo(stan: str) -> bytes:
    return encode_message(EchoRequest(stan=stan, local_time="101010"))


def closed_within(sock: socket.socket, seconds: float) -> bool:
    """Whether the server closes ``sock`` (end of stream, no answer) within ``seconds``."""
    sock.settimeout(seconds)
    try:
        return sock.recv(16) == b""
    except TimeoutError:
        return False


def connection_threads() -> int:
    return sum(1 for thread in threading.enumerate() if thread.name.startswith("iso8583-connection"))


def test_a_client_that_connects_and_sends_nothing_is_cut_off_after_the_idle_timeout(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="kleline.banks.tcp_server")
    with Iso8583Server(SandboxIssuers().handle, idle_timeout=0.3) as server:
        with socket.create_connection(server.server_address) as silent:
            began = time.monotonic()
            assert closed_within(silent, 3)
            assert 0.2 < time.monotonic() - began < 2.5
    assert "idle" in caplog.text


def test_half_a_frame_is_cut_off_after_the_frame_timeout_even_with_a_long_idle_timeout() -> None:
    with Iso8583Server(SandboxIssuers().handle, idle_timeout=60, frame_timeout=0.3) as server:
        with socket.create_connection(server.server_address) as stalled:
            stalled.sendall(frame(echo("000001"))[:7])  # the length and a few bytes, then silence
            assert closed_within(stalled, 3)


def test_a_connection_that_keeps_talking_outlives_the_idle_timeout() -> None:
    with Iso8583Server(SandboxIssuers().handle, idle_timeout=0.5) as server:
        with socket.create_connection(server.server_address) as busy:
            reader = FrameReader()
            busy.settimeout(2)
            for number in range(4):  # 4 x 0.25 s: longer in all than the idle timeout, never idle that long
                time.sleep(0.25)
                busy.sendall(frame(echo(f"00000{number}")))
                answers: list[bytes] = []
                while not answers:
                    answers = reader.feed(busy.recv(4096))
                assert decode_response(answers[0]).stan == f"00000{number}"


def test_the_thread_of_a_silent_connection_ends_when_it_is_cut_off() -> None:
    with Iso8583Server(SandboxIssuers().handle, idle_timeout=0.2) as server:
        before = connection_threads()
        with socket.create_connection(server.server_address) as silent:
            deadline = time.monotonic() + 2
            while connection_threads() == before and time.monotonic() < deadline:
                time.sleep(0.01)
            assert connection_threads() == before + 1
            assert closed_within(silent, 3)
            while connection_threads() > before and time.monotonic() < deadline + 2:
                time.sleep(0.01)
            assert connection_threads() == before


@pytest.mark.parametrize("timeouts", [{"idle_timeout": 0}, {"frame_timeout": -1.0}])
def test_timeouts_must_be_positive(timeouts: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="positive"):
        Iso8583Server(SandboxIssuers().handle, **timeouts)
