"""The commission rule of DESIGN.md section 2, checked by example and by property."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kleline.payments.model import commission, refund_split


def test_commission_is_rounded_half_up_once() -> None:
    assert commission(1250, 0, 350) == 44  # 43.75 -> 44
    assert commission(1000, 0, 350) == 35
    assert commission(10, 0, 350) == 0  # 0.35 -> 0
    assert commission(15, 0, 350) == 1  # 0.525 -> 1
    assert commission(100, 0, 350) == 4  # 3.5 -> 4 (half up, not to even)


def test_commission_is_on_what_was_captured_net_of_refunds() -> None:
    assert commission(1250, 500, 350) == 26  # 750 * 3.5 % = 26.25
    assert commission(1250, 1250, 400) == 0


def test_commission_refuses_a_refund_above_the_capture() -> None:
    with pytest.raises(ValueError):
        commission(100, 101, 350)


def test_a_refund_returns_the_fee_before_minus_the_fee_after() -> None:
    split = refund_split(1250, 0, 500, 350)
    assert split.fee_returned == 44 - 26
    assert split.from_merchant == 500 - 18


def test_a_one_cent_refund_may_be_all_commission() -> None:
    # 13 cents at 4 % carry a 1-cent fee (0.52); 12 cents carry none (0.48): refunding one cent returns the fee.
    split = refund_split(13, 0, 1, 400)
    assert (split.fee_returned, split.from_merchant) == (1, 0)


def test_refund_split_refuses_more_than_is_left() -> None:
    with pytest.raises(ValueError):
        refund_split(100, 60, 41, 350)


@given(
    captured=st.integers(min_value=1, max_value=10**9),
    bps=st.integers(min_value=300, max_value=400),
    cuts=st.lists(st.integers(min_value=1, max_value=10**9), max_size=12),
)
def test_partial_refunds_return_exactly_the_commission_taken_and_never_more(
    captured: int, bps: int, cuts: list[int]
) -> None:
    taken = commission(captured, 0, bps)
    refunded = returned = 0
    for cut in cuts:
        left = captured - refunded
        if left == 0:
            break
        amount = min(cut, left)
        split = refund_split(captured, refunded, amount, bps)
        assert 0 <= split.fee_returned <= amount
        refunded += amount
        returned += split.fee_returned
        assert returned <= taken
        assert taken - returned == commission(captured, refunded, bps)
    if refunded < captured:
        returned += refund_split(captured, refunded, captured - refunded, bps).fee_returned
    assert returned == taken


@given(
    captured=st.integers(min_value=1, max_value=10**9),
    bps=st.integers(min_value=300, max_value=400),
    intro_bps=st.integers(min_value=0, max_value=2000),
    cuts=st.lists(st.integers(min_value=1, max_value=10**9), max_size=12),
)
def test_partial_refunds_return_exactly_the_introduction_fee_taken_and_the_merchant_never_gives_a_negative_share(
    captured: int, bps: int, intro_bps: int, cuts: list[int]
) -> None:
    taken = commission(captured, 0, intro_bps)
    refunded = returned = 0
    for cut in [*cuts, captured]:  # the last one refunds whatever is left
        left = captured - refunded
        if left == 0:
            break
        amount = min(cut, left)
        split = refund_split(captured, refunded, amount, bps, intro_bps)
        assert split.fee_returned == refund_split(captured, refunded, amount, bps).fee_returned  # the commission alone
        assert split.from_merchant >= 0 and split.intro_fee_returned >= 0
        refunded += amount
        returned += split.intro_fee_returned
        assert taken - returned == commission(captured, refunded, intro_bps)
    assert returned == taken
