"""Purse limits by verification level (e-money rules for unverified holders), as configuration.

An unverified customer may hold at most 150 EUR and top up at most 150 EUR per calendar month by default; a
verified customer gets higher limits. A breach is refused before any bank is asked, with the room that is left.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from kleline.errors import KlelineError
from kleline.money import Money

__all__ = ["LimitExceeded", "LimitsPolicy", "PurseLimits", "check_top_up", "month_start"]


class LimitExceeded(KlelineError):
    """A top-up would take the purse above its ceiling, or the month's top-ups above their limit."""

    code = "limit_exceeded"
    status = 422


@dataclass(frozen=True, slots=True)
class PurseLimits:
    """The ceilings of one verification level."""

    max_balance: Money
    monthly_top_up: Money


@dataclass(frozen=True, slots=True)
class LimitsPolicy:
    """Limits for each verification level."""

    unverified: PurseLimits
    verified: PurseLimits

    def for_level(self, kyc_level: str) -> PurseLimits:
        """The limits of ``kyc_level``."""
        return self.verified if kyc_level == "verified" else self.unverified


def month_start(now: datetime) -> datetime:
    """The first instant of ``now``'s calendar month, in UTC (the window of the monthly top-up limit)."""
    return now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def check_top_up(limits: PurseLimits, balance: Money, topped_up_this_month: Money, amount: Money) -> None:
    """Refuse a top-up of ``amount`` that breaks either limit, saying how much room is left."""
    if balance + amount > limits.max_balance:
        room = max(limits.max_balance.minor - balance.minor, 0)
        raise LimitExceeded(
            f"this top-up would take the purse above its {limits.max_balance} ceiling; "
            f"at most {Money(room, amount.currency)} can be added now",
            param="amount",
        )
    if topped_up_this_month + amount > limits.monthly_top_up:
        room = max(limits.monthly_top_up.minor - topped_up_this_month.minor, 0)
        raise LimitExceeded(
            f"top-ups are limited to {limits.monthly_top_up} per calendar month; "
            f"{Money(room, amount.currency)} is left this month",
            param="amount",
        )
