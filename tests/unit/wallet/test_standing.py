"""The room a purse's standing shows is exactly what the limits accept: a top-up of the room passes
``check_top_up``, one cent more is refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kleline.money import Money
from kleline.wallet.limits import LimitExceeded, PurseLimits, check_top_up
from kleline.wallet.standing import PurseStanding

LIMITS = PurseLimits(Money(15_000, "EUR"), Money(15_000, "EUR"))


def eur(minor: int) -> Money:
    return Money(minor, "EUR")


def standing(balance: int, under_way: int, this_month: int, limits: PurseLimits = LIMITS) -> PurseStanding:
    return PurseStanding(eur(balance), eur(0), eur(balance), limits, eur(this_month), eur(under_way))


def test_the_room_is_the_smaller_of_the_ceilings_room_and_the_months() -> None:
    assert standing(2_500, 0, 2_500).top_up_room == eur(12_500)
    assert standing(1_000, 2_000, 4_000).room_below_ceiling == eur(12_000)  # top-ups under way count as arrived
    assert standing(0, 0, 14_000).top_up_room == eur(1_000)
    assert standing(16_000, 0, 0).top_up_room == eur(0)  # above a ceiling lowered since: no room, not a negative one


@given(
    balance=st.integers(0, 20_000),
    under_way=st.integers(0, 5_000),
    this_month=st.integers(0, 20_000),
    ceiling=st.integers(1, 30_000),
    monthly=st.integers(1, 30_000),
)
def test_a_top_up_of_the_room_passes_the_limits_and_one_cent_more_does_not(
    balance: int, under_way: int, this_month: int, ceiling: int, monthly: int
) -> None:
    limits = PurseLimits(eur(ceiling), eur(monthly))
    room = standing(balance, under_way, this_month, limits).top_up_room
    counted = eur(balance + under_way)
    if room.minor > 0:
        check_top_up(limits, counted, eur(this_month), room)
    with pytest.raises(LimitExceeded):
        check_top_up(limits, counted, eur(this_month), room + eur(1))
