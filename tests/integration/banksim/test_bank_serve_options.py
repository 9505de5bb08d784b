"""``kleline bank serve``'s options: the ISO 8583 server's timeouts (``--idle-timeout``, ``--frame-timeout``) and
what the help says.

The process runs as ``test_bank_serve`` runs it; the options' validation goes through typer's ``CliRunner``.
"""

from __future__ import annotations

import socket
import time

import pytest
from typer.testing import CliRunner

from kleline.banks.tcp_server import DEFAULT_FRAME_TIMEOUT, DEFAULT_IDLE_TIMEOUT
from kleline.cli import app

from ...bank_serve import bank_serve


def seconds_until_closed(connection: socket.socket) -> float:
    """How long the server keeps ``connection`` open from now (it must close it within 30 seconds)."""
    connection.settimeout(30)
    started = time.monotonic()
    assert connection.recv(65536) == b""
    return time.monotonic() - started


def test_a_quiet_peer_and_an_unfinished_frame_are_cut_off_after_the_timeouts_given() -> None:
    with bank_serve("--idle-timeout", "5", "--frame-timeout", "0.3") as bank:
        with (
            socket.create_connection((bank.host, bank.port), timeout=5) as quiet,
            socket.create_connection((bank.host, bank.port), timeout=5) as halfway,
        ):
            halfway.sendall(b"\x00\x40\x01")  # a frame of 64 bytes announced, one sent: never finished
            # The frame timeout (0.3 s, not the default 10 s) closes the unfinished frame, long before the idle one.
            assert seconds_until_closed(halfway) < 4
            # The quiet peer lasts the idle timeout given (5 s from its connection, not the default 60 s).
            assert 0.5 < seconds_until_closed(quiet) < 25


@pytest.mark.parametrize("option", ["--idle-timeout", "--frame-timeout"])
@pytest.mark.parametrize("value", ["0", "-1", "soon"])
def test_a_timeout_that_is_not_a_positive_number_of_seconds_is_refused(option: str, value: str) -> None:
    refused = CliRunner().invoke(app, ["bank", "serve", "--port", "0", option, value], env={"COLUMNS": "200"})

    assert refused.exit_code == 2, refused.output
    assert f"Invalid value for '{option}'" in refused.output
    assert "Traceback" not in refused.output


def test_the_help_tells_the_timeouts_and_where_the_card_number_key_lives() -> None:
    shown = CliRunner().invoke(app, ["bank", "serve", "--help"], env={"COLUMNS": "200"})

    assert shown.exit_code == 0
    assert "--idle-timeout" in shown.output and "--frame-timeout" in shown.output
    # The defaults shown are the server's own.
    assert f"closes it (default: {DEFAULT_IDLE_TIMEOUT:g})" in shown.output
    assert f"closes it (default: {DEFAULT_FRAME_TIMEOUT:g})" in shown.output
    assert "DIR.key" in shown.output
    # Defaults written into the help survive rich's markup (a "[default: ...]" in square brackets vanished).
    assert "set-up (default: port + 1)" in shown.output
    assert "(default: KLELINE_SAFEGUARDING_IBAN)" in shown.output
