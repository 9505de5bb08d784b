"""Kleline talking ISO 8583 over TCP to the sandbox issuers, served on a loopback port, whose answers can be lost."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kleline.banks import Iso8583Server
from kleline.bootstrap import Kleline, build, open_system_accounts
from kleline.config import load_settings
from kleline.ledger import NormalSide

from ...conftest import FakeClock
from ...unit.banks.harness import LossyIssuers, serving

# Lost answers here are connections dropped at once, not silence, so the timeout costs the suite nothing; it only has
# to outlast a loaded test machine's slowest honest answer.
TIMEOUT = 2.0


@pytest.fixture
def lossy() -> LossyIssuers:
    """The sandbox issuers, with switches to lose answers or requests of chosen message types."""
    return LossyIssuers()


@pytest.fixture
def network(lossy: LossyIssuers) -> Iterator[Iso8583Server]:
    """The card network on a free loopback port."""
    with serving(lossy) as server:
        yield server


@pytest.fixture
def kleline(database_url: str, clock: FakeClock, network: Iso8583Server) -> Iterator[Kleline]:
    """Kleline built with KLELINE_BANK_URL=iso8583://127.0.0.1:PORT, its own accounts open."""
    host, port = network.server_address
    settings = load_settings(
        database_url=database_url, bank_url=f"iso8583://{host}:{port}", bank_timeout_seconds=TIMEOUT
    )
    system = build(settings, clock=clock)
    open_system_accounts(system)
    system.ledger.open_account("card:visa:receivable", "EUR", NormalSide.DEBIT)
    try:
        yield system
    finally:
        system.close()
