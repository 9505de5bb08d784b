"""Instants as the ledger stores them (integer microseconds since the epoch) and back, exact to the microsecond."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from kleline.clock import epoch_us, from_epoch_us

_FIRST = epoch_us(datetime(1, 1, 1, tzinfo=UTC))
_LAST = epoch_us(datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC))


@given(st.integers(min_value=_FIRST, max_value=_LAST))
def test_an_instant_read_back_is_the_same_utc_instant_to_the_microsecond(value: int) -> None:
    moment = from_epoch_us(value)
    assert moment.tzinfo is UTC and epoch_us(moment) == value
    assert moment == datetime.fromtimestamp(value // 1_000_000, UTC).replace(microsecond=value % 1_000_000)


def test_instants_before_the_epoch_count_down_from_it() -> None:
    assert from_epoch_us(-1) == datetime(1969, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)
    assert from_epoch_us(0) == datetime(1970, 1, 1, tzinfo=UTC)
