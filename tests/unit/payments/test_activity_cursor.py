"""The history's cursor: what ``encode`` writes, ``parse`` reads back, and nothing else passes for one."""

from __future__ import annotations

import pytest

from kleline.payments.activity import ActivityCursor


@pytest.mark.parametrize(
    "cursor",
    [
        ActivityCursor(),
        ActivityCursor(123, None),
        ActivityCursor(None, (1768469400000000, "pay_abc")),
        ActivityCursor(0, (1768469400000000, "re_x-1")),
        ActivityCursor(7, (0, "")),
    ],
)
def test_a_cursor_reads_back_as_it_was_written(cursor: ActivityCursor) -> None:
    assert ActivityCursor.parse(cursor.encode()) == cursor


def test_an_exhausted_source_is_written_as_zero() -> None:
    assert ActivityCursor(0, (0, "")).encode() == "0.0"
    assert ActivityCursor(None, None).encode() == "-.-"


@pytest.mark.parametrize(
    "token", ["", "nonsense", "1.2", "1.2~", "1.2~pay", "-1.-", "1.2~pay_a b", "1.2~PAY_x", "1" * 19 + ".-", "1.-.-"]
)
def test_anything_else_is_no_cursor(token: str) -> None:
    assert ActivityCursor.parse(token) is None
