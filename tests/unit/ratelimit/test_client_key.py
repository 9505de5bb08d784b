"""Which client an attempt is counted against."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kleline.ratelimit import Rate, client_key


@pytest.mark.parametrize(
    ("host", "key"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:DB8:1:2::1", "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("fe80::1%eth0", "fe80::/64"),
        ("testclient", "testclient"),
        ("x" * 300, "x" * 64),
        (None, "unknown"),
        ("", "unknown"),
    ],
)
def test_a_client_is_its_ipv4_address_or_its_ipv6_64(host: str | None, key: str) -> None:
    assert client_key(host) == key


@pytest.mark.parametrize(("limit", "window"), [(0, timedelta(minutes=1)), (5, timedelta(0))])
def test_a_rate_lets_at_least_one_attempt_through_per_window(limit: int, window: timedelta) -> None:
    with pytest.raises(ValueError, match="at least one attempt"):
        Rate(limit, window)
