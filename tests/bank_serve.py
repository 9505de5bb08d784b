"""``kleline bank serve`` as a real process for the tests: started on free ports, stopped (or killed) after.

The process says where it listens on its first lines; a restart may ask for the same ports again (``--port`` and
``--files-port``), as Kleline's configured ``KLELINE_BANK_URL`` does not change when the bank comes back.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx2 as httpx

from kleline.banks import CardDetails, IsoBankNetwork
from kleline.banks.tcp import TcpTransport
from kleline.sepa import OwnAccount

__all__ = ["KLELINE", "START_SECONDS", "VISA", "Bank", "bank_serve"]

KLELINE = OwnAccount("FR7630003000000005000000167", "SOGEFRPP", "Kleline SAS", "FR72ZZZ123456")
VISA = CardDetails("4242424242424242", 12, 2030, "123")
START_SECONDS = 60.0


@dataclass
class Bank:
    process: subprocess.Popen[str]
    host: str
    port: int
    files_url: str
    http: httpx.Client
    transports: list[TcpTransport] = field(default_factory=list)

    @property
    def files_port(self) -> int:
        """The port of the bank's HTTP side (files, statements, test set-up)."""
        return int(self.files_url.rsplit(":", 1)[1])

    @property
    def url(self) -> str:
        """What ``KLELINE_BANK_URL`` names to reach this bank's card network."""
        return f"iso8583://{self.host}:{self.port}"

    def network(self) -> IsoBankNetwork:
        """Kleline's card connector, pooled, to this bank."""
        transport = TcpTransport(self.host, self.port, pool_size=2, timeout=10.0)
        self.transports.append(transport)
        return IsoBankNetwork(transport)


@contextmanager
def bank_serve(*options: str) -> Iterator[Bank]:
    """``kleline bank serve OPTIONS`` (on free ports unless ``--port`` is among them) until the block ends (SIGTERM
    unless the test killed it)."""
    port = [] if "--port" in options else ["--port", "0"]
    command = [str(Path(sys.executable).with_name("kleline")), "bank", "serve", *port, *options]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=os.environ)
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(line) for line in process.stdout or ()], daemon=True)
    reader.start()
    found: dict[str, str] = {}
    deadline = time.monotonic() + START_SECONDS
    try:
        while len(found) < 2:
            assert time.monotonic() < deadline, "kleline bank serve did not say where it listens"
            try:
                line = lines.get(timeout=0.5)
            except queue.Empty:
                assert process.poll() is None, "kleline bank serve exited"
                continue
            kind, _, address = line.strip().partition(" listening on ")
            if address:
                found[kind] = address
    except BaseException:
        process.kill()
        process.wait(30)
        raise
    host, port = found["iso8583"].removeprefix("iso8583://").rsplit(":", 1)
    bank = Bank(process, host, int(port), found["http"], httpx.Client(base_url=found["http"], timeout=10))
    try:
        yield bank
    finally:
        bank.http.close()
        for transport in bank.transports:
            transport.close()
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(30)
        reader.join(10)
        if process.stdout is not None:
            process.stdout.close()
