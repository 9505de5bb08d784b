"""A sandbox of issuers behind the ISO 8583 network, on a fixed clock (15 June 2026) so that expiry is decidable."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kleline.banks import InProcessTransport, IsoBankNetwork, SandboxIssuers

TODAY = datetime(2026, 6, 15, 12, 30, tzinfo=UTC)


def fixed_clock() -> datetime:
    """Always 15 June 2026, 12:30 UTC."""
    return TODAY


@pytest.fixture
def issuers() -> SandboxIssuers:
    return SandboxIssuers(clock=fixed_clock)


@pytest.fixture
def network(issuers: SandboxIssuers) -> IsoBankNetwork:
    return IsoBankNetwork(InProcessTransport(issuers), clock=fixed_clock)
