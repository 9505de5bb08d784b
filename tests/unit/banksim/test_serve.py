"""``BankServer`` announces its addresses once they accept connections, not merely once they are bound."""

from __future__ import annotations

import socket

from kleline.banksim import BankSimulator
from kleline.banksim.serve import BankServer


def test_both_announced_ports_accept_connections_before_serving_starts(simulator: BankSimulator) -> None:
    # A client (or a restarted test) may connect between the announcement and the moment the servers' threads run:
    # the kernel must queue that connection rather than refuse it.
    server = BankServer(simulator, host="127.0.0.1", port=0)
    try:
        for host, port in (server.addresses.iso8583, server.addresses.http):
            with socket.create_connection((host, port), timeout=5):
                pass
    finally:
        server.stop()
