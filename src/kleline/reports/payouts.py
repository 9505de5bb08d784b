"""What a payout paid out: the movements of the merchant's balance that it covers.

A run pays a merchant's whole available balance (``kleline.settlement``), so a payout covers what was booked on the
balance after the merchant's previous payout left it and before this one: the payments captured, less the refunds,
the commission and any earlier payout the merchant's bank returned. What the balance held before (money held for a
card refund still pending, a balance under the minimum at an earlier run) makes the difference between the payout
and the sum of those movements, ``carried``; a merchant's first payout covers everything since it joined.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from kleline.reports.model import Movement

__all__ = ["PayoutContents", "parse_cursor", "write_cursor"]


@dataclass(frozen=True, slots=True)
class PayoutContents:
    """A page of the movements a payout covers (``movements``, oldest first; ``next_cursor`` when more follow),
    with every movement's count and net sum; ``carried``: the payout's amount less that sum; ``since``: when the
    previous payout left the balance (None for the first)."""

    movements: tuple[Movement, ...]
    next_cursor: str | None
    count: int
    net: int
    carried: int
    since: datetime | None


def write_cursor(posted_at: int, posting_id: int) -> str:
    """Where the next page starts: after this posting."""
    return f"{posted_at}.{posting_id}"


def parse_cursor(cursor: str | None) -> tuple[int, int] | None:
    """A cursor ``write_cursor`` wrote; anything else (or nothing) starts from the first movement."""
    if not cursor or len(cursor) > 40:
        return None
    at, _, posting = cursor.partition(".")
    return (int(at), int(posting)) if at.isdigit() and posting.isdigit() else None
