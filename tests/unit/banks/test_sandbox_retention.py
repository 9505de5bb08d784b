"""The sandbox issuers of a long-running process forget what is older than their retention, and nothing recent."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from kleline.banks import (
    CardDetails,
    DatabaseSandboxStore,
    InProcessTransport,
    IsoBankNetwork,
    MemorySandboxStore,
    SandboxIssuers,
    UnknownAuthorization,
)
from kleline.money import Money

from ...conftest import FakeClock

VISA = "4242424242424242"
CARD = CardDetails(VISA, 12, 2030, "123")
HOUR = timedelta(hours=1)


def euros(minor: int) -> Money:
    return Money(minor, "EUR")


def _collections(issuers: SandboxIssuers) -> dict[str, int]:
    """The size of everything the issuers' store keeps, but their cardholders' accounts."""
    store = issuers.store
    assert isinstance(store, MemorySandboxStore | DatabaseSandboxStore)
    return store.sizes()


@pytest.fixture
def sandbox() -> Callable[..., SandboxIssuers]:
    """Sandbox issuers on a store kept in memory (the database store runs the same tests in tests/integration)."""
    return SandboxIssuers


def test_a_thousand_authorisations_over_days_leave_only_the_last_hour_remembered(
    clock: FakeClock, sandbox: Callable[..., SandboxIssuers]
) -> None:
    issuers = sandbox(clock=clock, retention=HOUR)
    network = IsoBankNetwork(InProcessTransport(issuers), clock=clock)
    for number in range(1000):  # one a minute, each one captured, refunded in part, or reversed
        authorization = network.authorize(CARD, euros(100), f"pay_{number}")
        assert authorization.authorization_id is not None
        if number % 3 == 0:
            network.capture(authorization.authorization_id, euros(100))
            network.refund(authorization.authorization_id, euros(40), f"re_{number}")
        elif number % 3 == 1:
            network.reverse(authorization.authorization_id)
        with pytest.raises(UnknownAuthorization):  # a reversal overtaking its authorisation: remembered as well
            network.reverse(f"EARLY{number:07d}")
        clock.advance(minutes=1)
    sizes = _collections(issuers)
    assert sizes and max(sizes.values()) <= 2 * 61, sizes
    assert 0 < issuers.remembered <= 2 * 61

    recent = network.authorize(CARD, euros(500), "pay_recent")
    assert recent.authorization_id is not None
    clock.advance(minutes=59)
    assert network.capture(recent.authorization_id, euros(300)).code == "00"
    assert network.refund(recent.authorization_id, euros(300), "re_recent").code == "00"
    assert network.refund(recent.authorization_id, euros(300), "re_recent").code == "00"  # a repeat, credited once


def test_a_recent_authorisation_is_still_reversed_and_a_forgotten_one_is_unknown(
    clock: FakeClock, sandbox: Callable[..., SandboxIssuers]
) -> None:
    issuers = sandbox(clock=clock, retention=HOUR)
    network = IsoBankNetwork(InProcessTransport(issuers), clock=clock)
    old = network.authorize(CARD, euros(700), "pay_old").authorization_id
    clock.advance(minutes=30)
    recent = network.authorize(CARD, euros(200), "pay_recent").authorization_id
    assert old is not None and recent is not None
    clock.advance(minutes=31)  # 61 minutes for the first, 31 for the second
    assert network.reverse(recent).code == "00"
    with pytest.raises(UnknownAuthorization):
        network.capture(old, euros(700))
    # An authorisation left open past the retention lapses, as a real hold does: the funds are available again.
    assert issuers.balance(VISA, "EUR").held == euros(0)


def test_activity_keeps_an_authorisation_remembered(clock: FakeClock, sandbox: Callable[..., SandboxIssuers]) -> None:
    issuers = sandbox(clock=clock, retention=HOUR)
    network = IsoBankNetwork(InProcessTransport(issuers), clock=clock)
    paid = network.authorize(CARD, euros(1_000), "pay_1").authorization_id
    assert paid is not None
    clock.advance(minutes=50)
    network.capture(paid, euros(1_000))
    for number in range(3):  # refunds 40 minutes apart: each one keeps the captured payment remembered
        clock.advance(minutes=40)
        assert network.refund(paid, euros(100), f"re_{number}").code == "00"
    assert issuers.balance(VISA, "EUR").held == euros(0)


def test_the_retention_must_be_positive() -> None:
    with pytest.raises(ValueError, match="retention"):
        SandboxIssuers(retention=timedelta(0))
