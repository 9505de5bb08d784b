from datetime import UTC, datetime

import pytest

from kleline.money import Money
from kleline.wallet.limits import LimitExceeded, LimitsPolicy, PurseLimits, check_top_up, month_start

UNVERIFIED = PurseLimits(Money(15_000, "EUR"), Money(15_000, "EUR"))


def eur(minor: int) -> Money:
    return Money(minor, "EUR")


def test_a_top_up_up_to_both_limits_is_allowed() -> None:
    check_top_up(UNVERIFIED, eur(10_000), eur(10_000), eur(5_000))


def test_a_top_up_above_the_purse_ceiling_is_refused_with_the_room_left() -> None:
    with pytest.raises(LimitExceeded, match="at most 50.00 EUR can be added now") as caught:
        check_top_up(UNVERIFIED, eur(10_000), eur(0), eur(5_001))
    assert caught.value.param == "amount"


def test_a_top_up_above_the_monthly_limit_is_refused_with_what_is_left_this_month() -> None:
    with pytest.raises(LimitExceeded, match="20.00 EUR is left this month"):
        check_top_up(UNVERIFIED, eur(0), eur(13_000), eur(2_001))


def test_the_policy_picks_limits_by_verification_level() -> None:
    verified = PurseLimits(eur(500_000), eur(500_000))
    policy = LimitsPolicy(unverified=UNVERIFIED, verified=verified)
    assert policy.for_level("unverified") is UNVERIFIED
    assert policy.for_level("verified") is verified


def test_the_monthly_window_starts_on_the_first_at_midnight_utc() -> None:
    assert month_start(datetime(2026, 3, 31, 23, 59, tzinfo=UTC)) == datetime(2026, 3, 1, tzinfo=UTC)
