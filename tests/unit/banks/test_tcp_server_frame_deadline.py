"""Iso8583Server: the frame timeout bounds a whole frame, so a peer that dribbles one byte at a time cannot hold a
connection (and its thread) for ever by never pausing quite as long as the timeout."""

from __future__ import annotations

import socket
import time

from kleline.banks import Iso8583Server, SandboxIssuers
from kleline.banks.framing import frame
from kleline.banks.messages import EchoRequest, encode_message


def test_a_frame_sent_a_byte_at_a_time_is_cut_off_after_the_frame_timeout() -> None:
    data = frame(encode_message(EchoRequest(stan="000001", local_time="101010")))
    with Iso8583Server(SandboxIssuers().handle, idle_timeout=60, frame_timeout=0.5) as server:
        with socket.create_connection(server.server_address) as slow:
            began = time.monotonic()
            cut_off = None
            for byte in data[:-1]:  # never the last byte: the frame stays unfinished
                try:
                    slow.sendall(bytes([byte]))
                except OSError:
                    cut_off = time.monotonic() - began
                    break
                time.sleep(0.2)  # well under the frame timeout between any two bytes
            if cut_off is None:
                slow.settimeout(3)
                try:
                    closed = slow.recv(16) == b""
                except OSError:
                    closed = True
                cut_off = time.monotonic() - began if closed else None
    assert len(data) * 0.2 > 4  # the dribble lasts far longer than the frame timeout
    assert cut_off is not None and cut_off < 2.5
