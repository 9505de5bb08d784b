"""The customers' recent sign-ins, as their security page lists them: enough to recognise "that was not me".

What is kept, and why no more: when (to the second), how (``password`` or ``passkey``; through the ``web`` pages or
the ``api``), the browser's and the system's *family* read from the user agent ("Firefox", "Android"), never the
whole user agent (its versions and build strings single a device out), and the client's *network*, the address
truncated to its /24 (IPv4) or /48 (IPv6): it tells a person's home from a stranger's, not which machine. No
geolocation, no device fingerprint. Only the latest ``KEPT`` sign-ins of each customer are kept; older ones are
deleted as new ones come.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal

from kleline.clock import Clock, epoch_us, from_epoch_us
from kleline.db.engine import Database
from kleline.ids import new_id

__all__ = ["KEPT", "Channel", "Method", "SignIn", "SignIns", "browser_family", "network_of", "system_family"]

KEPT: Final = 20
Method = Literal["password", "passkey"]
Channel = Literal["web", "api"]

# Order matters: Edge and Opera say "Chrome" too, Chrome says "Safari" too.
_BROWSERS: Final = (
    ("Edge", re.compile(r"\bEdg(e|A|iOS)?/")),
    ("Opera", re.compile(r"\bOPR/|\bOpera\b")),
    ("Samsung Internet", re.compile(r"\bSamsungBrowser/")),
    ("Firefox", re.compile(r"\b(Firefox|FxiOS)/")),
    ("Chrome", re.compile(r"(\b|Headless)(Chrome|Chromium|CriOS)/")),
    ("Safari", re.compile(r"\bVersion/[\d.]+.*\bSafari/")),
    ("curl", re.compile(r"^curl/")),
    ("Python", re.compile(r"^(python-httpx|python-requests|Python-urllib)/")),
)
_SYSTEMS: Final = (
    ("Android", re.compile(r"\bAndroid\b")),
    ("iOS", re.compile(r"\b(iPhone|iPad|iPod)\b")),
    ("Windows", re.compile(r"\bWindows\b")),
    ("macOS", re.compile(r"\bMac OS X\b|\bMacintosh\b")),
    ("ChromeOS", re.compile(r"\bCrOS\b")),
    ("Linux", re.compile(r"\bLinux\b|\bX11\b")),
)


def browser_family(user_agent: str) -> str:
    """The browser's family from a user agent ("Firefox"), or "" when none is recognised."""
    return next((name for name, pattern in _BROWSERS if pattern.search(user_agent or "")), "")


def system_family(user_agent: str) -> str:
    """The operating system's family from a user agent ("Android"), or ""."""
    return next((name for name, pattern in _SYSTEMS if pattern.search(user_agent or "")), "")


def network_of(address: str | None) -> str:
    """The network of a client address: its /24 (IPv4) or /48 (IPv6), or "" when it is not an address."""
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return ""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


@dataclass(frozen=True, slots=True)
class SignIn:
    """One sign-in, as kept: see the module's docstring for what each field holds and why."""

    id: str
    customer_id: str
    at: datetime
    method: str
    channel: str
    browser: str
    system: str
    network: str


class SignIns:
    """Record sign-ins and list a customer's latest."""

    def __init__(self, db: Database, *, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    def record(
        self, customer_id: str, method: Method, channel: Channel, user_agent: str | None, address: str | None
    ) -> SignIn:
        """Keep a sign-in (coarsened as the module says), and forget this customer's beyond the latest ``KEPT``."""
        ua = (user_agent or "")[:512]
        sign_in = SignIn(
            new_id("si"),
            customer_id,
            self._clock(),
            method,
            channel,
            browser_family(ua),
            system_family(ua),
            network_of(address),
        )
        with self._db.transaction() as tx:
            tx.execute(
                "INSERT INTO sign_ins (id, customer_id, at, method, channel, browser, system, network) "
                "VALUES (:id, :customer, :at, :method, :channel, :browser, :system, :network)",
                {
                    "id": sign_in.id,
                    "customer": customer_id,
                    "at": epoch_us(sign_in.at),
                    "method": method,
                    "channel": channel,
                    "browser": sign_in.browser,
                    "system": sign_in.system,
                    "network": sign_in.network,
                },
            )
            tx.execute(
                "DELETE FROM sign_ins WHERE customer_id = :customer AND id NOT IN "
                "(SELECT id FROM sign_ins WHERE customer_id = :customer ORDER BY at DESC, id DESC LIMIT :kept)",
                {"customer": customer_id, "kept": KEPT},
            )
        return sign_in

    def latest(self, customer_id: str, limit: int = 10) -> list[SignIn]:
        """The customer's latest sign-ins, newest first."""
        with self._db.transaction(write=False) as tx:
            rows = tx.fetchall(
                "SELECT id, customer_id, at, method, channel, browser, system, network FROM sign_ins "
                "WHERE customer_id = :customer ORDER BY at DESC, id DESC LIMIT :limit",
                {"customer": customer_id, "limit": min(max(limit, 1), KEPT)},
            )
        return [SignIn(r[0], r[1], from_epoch_us(int(r[2])), r[3], r[4], r[5], r[6], r[7]) for r in rows]
