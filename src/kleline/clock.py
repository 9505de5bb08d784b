"""The one place that reads the time, so that tests can move it (holds expire, tokens age), and that reads the
instants people type (``instant_bound``: a day or an RFC 3339 instant with its offset)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Final

from kleline.errors import ValidationError

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DAY: Final = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_INSTANT: Final = re.compile(
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?([Zz]|[+-][0-9]{2}:[0-9]{2})$"
)

__all__ = ["Clock", "epoch_us", "from_epoch_us", "instant_bound", "system_clock", "to_rfc3339"]

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """Now, in UTC, to the microsecond."""
    return datetime.now(UTC)


def to_rfc3339(moment: datetime) -> str:
    """An RFC 3339 UTC timestamp such as ``2026-11-27T22:56:27.123456Z``."""
    if moment.tzinfo is not UTC:
        if moment.tzinfo is None:
            raise ValueError("naive datetimes are refused: every Kleline time is UTC")
        moment = moment.astimezone(UTC)
    # Formatted by hand: strftime costs half as much again, and a payment's answer and events format nine of them.
    m = moment
    return f"{m.year:04d}-{m.month:02d}-{m.day:02d}T{m.hour:02d}:{m.minute:02d}:{m.second:02d}.{m.microsecond:06d}Z"


def epoch_us(moment: datetime) -> int:
    """A timezone-aware datetime as integer microseconds since the Unix epoch (how the ledger stores time)."""
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_epoch_us(value: int) -> datetime:
    """The inverse of ``epoch_us`` (exact to the microsecond; a page of payments converts a few hundred, and one
    addition costs half of ``fromtimestamp`` and ``replace``)."""
    return _EPOCH + timedelta(microseconds=value)


def instant_bound(text: str, param: str, *, end: bool) -> datetime | None:
    """The bound a day or an instant sets: the day's first instant (``end``: the next day's), or the instant
    itself (``end``: the microsecond after it); None past the last day a datetime can hold."""
    if _DAY.match(text):
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise ValidationError(f"{param}: {text!r} is not a day", param=param) from None
        if end and day == date.max:
            return None
        return datetime.combine(day + timedelta(days=1) if end else day, time(), tzinfo=UTC)
    if not _INSTANT.match(text):
        raise ValidationError(
            f"{param}: {text!r} is neither a day (2026-01-15) nor an instant with its offset (2026-01-15T09:30:00Z)",
            param=param,
        )
    try:
        moment = datetime.fromisoformat(text.upper().replace(" ", "T")).astimezone(UTC)
    except (ValueError, OverflowError):
        raise ValidationError(f"{param}: {text!r} is not an instant", param=param) from None
    if end:
        try:
            return moment + timedelta(microseconds=1)
        except OverflowError:
            return None
    return moment
