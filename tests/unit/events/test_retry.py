"""The retry rule: exponential backoff with full jitter, capped, for a limited horizon."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from kleline.events.model import RetryPolicy

T0 = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)


@given(failures=st.integers(min_value=1, max_value=200), seed=st.integers())
def test_each_delay_lies_between_zero_and_the_capped_exponential(failures: int, seed: int) -> None:
    policy = RetryPolicy(rng=random.Random(seed))
    ceiling = min(3600.0, 30.0 * 2 ** (failures - 1))
    assert timedelta(0) <= policy.delay(failures) <= timedelta(seconds=ceiling)


def test_delays_grow_on_average_and_are_spread_by_the_jitter() -> None:
    policy = RetryPolicy(rng=random.Random(7))
    first = [policy.delay(1).total_seconds() for _ in range(500)]
    fifth = [policy.delay(5).total_seconds() for _ in range(500)]
    assert max(first) <= 30 and max(fifth) <= 480
    assert sum(fifth) / 500 > 4 * sum(first) / 500
    assert len({round(d, 3) for d in first}) > 400  # jitter: not one fixed delay


def test_the_cap_holds_however_many_failures() -> None:
    policy = RetryPolicy(rng=random.Random(1))
    assert max(policy.delay(10_000).total_seconds() for _ in range(200)) <= 3600


def test_retries_stop_at_the_horizon_and_the_last_one_is_pulled_in_to_it() -> None:
    policy = RetryPolicy(rng=random.Random(3), cap=timedelta(hours=6))
    almost = T0 + timedelta(days=3) - timedelta(minutes=1)
    assert policy.next_attempt(20, almost, T0) == T0 + timedelta(days=3)
    assert policy.next_attempt(21, T0 + timedelta(days=3), T0) is None
    assert policy.next_attempt(21, T0 + timedelta(days=4), T0) is None


def test_a_first_failure_is_retried_within_the_base_delay() -> None:
    policy = RetryPolicy(rng=random.Random(5))
    after = policy.next_attempt(1, T0, T0)
    assert after is not None and T0 <= after <= T0 + timedelta(seconds=30)
