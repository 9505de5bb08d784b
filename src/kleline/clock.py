"""The one place that reads the time, so that tests can move it (holds expire, tokens age)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

__all__ = ["Clock", "epoch_us", "from_epoch_us", "system_clock", "to_rfc3339"]

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """Now, in UTC, to the microsecond."""
    return datetime.now(UTC)


def to_rfc3339(moment: datetime) -> str:
    """An RFC 3339 UTC timestamp such as ``2026-11-27T22:56:27.123456Z``."""
    if moment.tzinfo is None:
        raise ValueError("naive datetimes are refused: every Kleline time is UTC")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def epoch_us(moment: datetime) -> int:
    """A timezone-aware datetime as integer microseconds since the Unix epoch (how the ledger stores time)."""
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_epoch_us(value: int) -> datetime:
    """The inverse of ``epoch_us``."""
    return datetime.fromtimestamp(value // 1_000_000, UTC).replace(microsecond=value % 1_000_000)
