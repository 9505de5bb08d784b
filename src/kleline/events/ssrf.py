"""Server-side request forgery guard: which webhook URLs Kleline may call, and at which address.

A merchant chooses the URL, so without a guard Kleline would POST wherever it is told: to its own admin ports on
loopback, to the private network behind it, or to a cloud's metadata service (169.254.169.254). An endpoint URL
must be http(s) with a host and no credentials, and *every* address its host resolves to must be public. The check
runs at registration and again before each delivery, because a name's answer can change (DNS rebinding); the
delivery then connects to the very address it checked, and never follows a redirect.

With ``allow_loopback`` (``KLELINE_WEBHOOKS_ALLOW_LOOPBACK``: tests and the demo) loopback and private addresses
are allowed; link-local, multicast, reserved and unspecified addresses never are. The settings refuse that
allowance when ``KLELINE_ENV=production`` (``kleline.config``), so that it cannot reach a live system.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from kleline.events.model import InvalidWebhookUrl

__all__ = ["IPAddress", "Resolver", "Target", "check_address", "parse_url", "resolve_target", "system_resolver"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[IPAddress]]
"""Host name and port to the addresses they resolve to (``socket.getaddrinfo`` in production)."""

MAX_URL_LENGTH = 2048
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_THIS_NETWORK = ipaddress.IPv4Network("0.0.0.0/8")  # Linux connects 0.0.0.0 to itself


@dataclass(frozen=True, slots=True)
class Target:
    """A checked URL: where to connect (``address``), and the host, port and path to ask for there."""

    scheme: str
    host: str
    port: int
    path: str
    address: IPAddress | None = None


def system_resolver(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to, through the system's resolver."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as error:
        raise InvalidWebhookUrl(f"the host {host!r} does not resolve ({error})") from None
    # getaddrinfo's address is a (host, port[, flow, scope]) tuple; an IPv6 host may carry a %scope suffix.
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


def parse_url(url: str) -> Target:
    """Check the URL's form (http or https, a host, no credentials) without resolving it."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH:
        raise InvalidWebhookUrl(f"give an http or https URL of at most {MAX_URL_LENGTH} characters")
    if any(ord(char) <= 0x20 or ord(char) == 0x7F for char in url):
        raise InvalidWebhookUrl("the URL contains spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise InvalidWebhookUrl(f"the URL is malformed: {error}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise InvalidWebhookUrl("the URL must start with https:// or http://")
    if parts.username is not None or parts.password is not None:
        raise InvalidWebhookUrl("the URL must not carry credentials (user:password@)")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise InvalidWebhookUrl("the URL has no host")
    if parts.fragment:
        raise InvalidWebhookUrl("the URL must not have a #fragment")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(scheme, host, port or (443 if scheme == "https" else 80), path)


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one stands for (mapped, 6to4, NAT64), which is where packets really go."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def check_address(address: IPAddress, *, allow_loopback: bool) -> None:
    """Refuse an address Kleline must not call (``InvalidWebhookUrl`` naming its kind)."""
    inner = _embedded_ipv4(address)
    if inner is not None:
        check_address(inner, allow_loopback=allow_loopback)
        return
    never = [
        (address.is_unspecified or address in _THIS_NETWORK, "an unspecified"),
        (address.is_link_local, "a link-local"),
        (address.is_multicast, "a multicast"),
    ]
    for refused, kind in never:
        if refused:
            raise InvalidWebhookUrl(f"the URL resolves to {kind} address ({address}), which Kleline never calls")
    if address.is_loopback:  # before "reserved": ::1 lies in the reserved ::/8
        if allow_loopback:
            return
        raise InvalidWebhookUrl(f"the URL resolves to a loopback address ({address})")
    if address.is_reserved:
        raise InvalidWebhookUrl(f"the URL resolves to a reserved address ({address}), which Kleline never calls")
    if not address.is_global and not allow_loopback:
        raise InvalidWebhookUrl(f"the URL resolves to a private or non-public address ({address})")


def resolve_target(url: str, *, allow_loopback: bool, resolver: Resolver = system_resolver) -> Target:
    """Check ``url`` and its host's every address; the target to connect to (the first address).

    A host whose name resolves to one public and one private address is refused: the caller cannot choose which
    of the two a connection would reach.
    """
    target = parse_url(url)
    addresses = resolver(target.host, target.port)
    if not addresses:
        raise InvalidWebhookUrl(f"the host {target.host!r} resolves to no address")
    for address in addresses:
        check_address(address, allow_loopback=allow_loopback)
    return Target(target.scheme, target.host, target.port, target.path, addresses[0])
