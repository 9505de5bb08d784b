"""Kleline talking ISO 8583 over TCP to sandbox issuers whose answers can be lost, for the top-up stories."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from kleline.banks import Iso8583Server
from kleline.bootstrap import Kleline, build, open_system_accounts
from kleline.config import load_settings

from ...conftest import FakeClock
from ...unit.banks.harness import LossyIssuers, serving

# Lost answers are connections dropped at once, not silence: the timeout only has to outlast a slow honest answer.
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
def make_kleline(database_url: str, clock: FakeClock, network: Iso8583Server) -> Iterator[Callable[..., Kleline]]:
    """Build Kleline on the migrated database and the lossy network, with settings overridden as given."""
    built: list[Kleline] = []
    host, port = network.server_address

    def make(**settings: object) -> Kleline:
        system = build(
            load_settings(
                database_url=database_url,
                bank_url=f"iso8583://{host}:{port}",
                bank_timeout_seconds=TIMEOUT,
                **settings,
            ),
            clock=clock,
        )
        open_system_accounts(system)
        built.append(system)
        return system

    yield make
    for system in built:
        system.close()


@pytest.fixture
def kleline(make_kleline: Callable[..., Kleline]) -> Kleline:
    """Kleline with its default settings."""
    return make_kleline()
