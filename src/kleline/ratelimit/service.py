"""How often one client may try: a fixed-window counter per (scope, client), kept in the database.

Signing in and opening a wallet need no key, so anyone can call them as often as they like: to guess passwords
across many addresses (the per-customer lockout stops only guesses at one), to find which addresses hold a wallet,
or to make the server hash passwords (argon2 is slow on purpose). A client may make ``limit`` attempts per
``window`` in each scope; the next ones are refused with ``RateLimited`` (429, ``Retry-After``) until the window
ends, before any password is hashed.

The counters live in the database, not in a process's memory, so that every worker of ``kleline serve --workers N``
(and every page and API route) counts against the same bound, and one conditional UPSERT per attempt keeps the count
exact under concurrency (``store.take_hit``). Windows are fixed (aligned on the epoch): a client may get up to twice
the limit across a window's end, which a bound meant to stop thousands of guesses can afford, for one statement per
attempt. The first hit of a window prunes the counters of ended windows, so the table holds about one window's
clients.

A client is its address as the ASGI server reports it (``kleline serve`` trusts a proxy's ``X-Forwarded-For`` only
from the addresses ``KLELINE_FORWARDED_ALLOW_IPS`` names). An IPv6 client is its /64: one subscriber usually holds a
whole /64, and counting its addresses one by one would give it 2^64 budgets.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from kleline.clock import Clock, epoch_us
from kleline.db.engine import Database
from kleline.errors import KlelineError
from kleline.ratelimit import store

__all__ = ["SIGN_IN", "SIGN_UP", "Rate", "RateLimited", "RateLimits", "client_key"]

SIGN_IN = "sign_in"
SIGN_UP = "sign_up"
_UNKNOWN_CLIENT = "unknown"
_MAX_CLIENT = 64


class RateLimited(KlelineError):
    """This client made too many attempts in the window: come back after ``retry_after`` seconds."""

    code = "rate_limited"
    status = 429

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class Rate:
    """``limit`` attempts per ``window`` and client."""

    limit: int
    window: timedelta

    def __post_init__(self) -> None:
        if self.limit < 1 or self.window < timedelta(seconds=1):
            raise ValueError("a rate allows at least one attempt per window of at least a second")


def client_key(host: str | None) -> str:
    """The key a client is counted under: an IPv4 address, an IPv6 /64 (an IPv4-mapped one as its IPv4 address),
    or, for what is not an address (a test client, a Unix socket), its text cut to 64 characters."""
    if not host:
        return _UNKNOWN_CLIENT
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])  # an IPv6 zone (fe80::1%eth0) names no other client
    except ValueError:
        return host[:_MAX_CLIENT]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


class RateLimits:
    """Counts attempts per scope and client against each scope's ``Rate``."""

    def __init__(self, db: Database, rates: Mapping[str, Rate], *, clock: Clock) -> None:
        self._db = db
        self._rates = dict(rates)
        self._clock = clock

    def take(self, scope: str, host: str | None) -> None:
        """Count an attempt of the client at ``host`` in ``scope``; ``RateLimited`` when it has made its limit."""
        rate = self._rates[scope]
        now = epoch_us(self._clock())
        window = rate.window // timedelta(microseconds=1)
        start = now - now % window
        with self._db.transaction() as tx:
            hits = store.take_hit(tx, scope, client_key(host), start, start + window, rate.limit)
        if hits is None:
            retry_after = max(1, math.ceil((start + window - now) / 1_000_000))
            raise RateLimited(
                f"too many attempts from this client: {rate.limit} per {_duration(rate.window)}; "
                f"try again in {retry_after} seconds",
                retry_after=retry_after,
            )
        if hits == 1:  # the first hit of a window: a good moment to forget the windows that ended
            with self._db.transaction() as tx:
                store.prune(tx, now)


def _duration(window: timedelta) -> str:
    seconds = int(window.total_seconds())
    for unit, size in (("hour", 3600), ("minute", 60)):
        if seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}s" if count != 1 else unit
    return f"{seconds} seconds"
