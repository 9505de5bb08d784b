"""Kleline-Signature: sign a webhook's body, and verify it on the merchant's side.

    Kleline-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>

The timestamp is inside the signed text, so that a captured request cannot be replayed later than ``tolerance``
seconds; the body is the exact bytes received (verify before parsing the JSON). A header may carry several ``v1``
entries (one per secret while a secret is being rotated): one matching entry is enough. Unknown entries (a future
``v2``) are ignored.

This module uses the standard library only, so that a merchant can copy it into their own application::

    from kleline.events.signature import SignatureError, verify

    try:
        verify(WEBHOOK_SECRET, request.headers["Kleline-Signature"], raw_body)
    except SignatureError:
        return 400
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Sequence

__all__ = [
    "HEADER",
    "MalformedSignature",
    "SignatureError",
    "SignatureMismatch",
    "StaleSignature",
    "sign",
    "verify",
]

HEADER = "Kleline-Signature"
"""The name of the HTTP header that carries the signature."""

_SCHEME = "v1"


class SignatureError(ValueError):
    """The webhook cannot be trusted: do not act on it."""


class MalformedSignature(SignatureError):
    """The header is missing or is not ``t=<unix>,v1=<hex>[,v1=<hex>...]``."""


class StaleSignature(SignatureError):
    """The timestamp is further from now than the tolerance: a replay, or a clock far off."""


class SignatureMismatch(SignatureError):
    """No ``v1`` entry matches: the body was altered, or it was signed with another secret."""


def _mac(secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The ``Kleline-Signature`` header value for ``body`` sent at ``timestamp`` (Unix seconds)."""
    if not secret:
        raise ValueError("an empty secret signs nothing")
    return f"t={int(timestamp)},{_SCHEME}={_mac(secret, int(timestamp), body)}"


def _parse(header: str) -> tuple[int, list[str]]:
    timestamp: int | None = None
    signatures: list[str] = []
    for item in header.split(","):
        key, equals, value = item.strip().partition("=")
        if not equals:
            raise MalformedSignature(f"{HEADER}: {item.strip()[:20]!r} is not key=value")
        if key == "t":
            if timestamp is not None or not value.isascii() or not value.isdigit():
                raise MalformedSignature(f"{HEADER}: t must appear once, as Unix seconds")
            timestamp = int(value)
        elif key == _SCHEME:
            signatures.append(value)
    if timestamp is None:
        raise MalformedSignature(f"{HEADER}: no timestamp (t=...)")
    if not signatures:
        raise MalformedSignature(f"{HEADER}: no {_SCHEME} signature")
    return timestamp, signatures


def verify(
    secret: str | Sequence[str],
    header: str | None,
    body: bytes,
    *,
    tolerance: int = 300,
    now: float | None = None,
) -> int:
    """Check ``header`` against ``body``; return the signed timestamp, or raise a ``SignatureError``.

    ``secret`` may be a list while you rotate your own secret: any of them may match. ``now`` defaults to the
    system time (Unix seconds); ``tolerance`` is how far from it the timestamp may be, either way.
    """
    secrets = [secret] if isinstance(secret, str) else list(secret)
    if not secrets or not all(secrets):
        raise ValueError("give the endpoint's secret (whsec_...)")
    if not header or not isinstance(header, str):
        raise MalformedSignature(f"no {HEADER} header")
    timestamp, signatures = _parse(header)
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise StaleSignature(f"{HEADER}: timestamp {timestamp} is more than {tolerance} s from now")
    expected = [_mac(s, timestamp, body).encode("ascii") for s in secrets]
    matched = False
    for candidate in signatures:
        given = candidate.encode("utf-8", "replace")
        for mac in expected:
            # Compare every pair, without stopping early, so that timing says nothing about which one matched.
            matched |= hmac.compare_digest(given, mac)
    if not matched:
        raise SignatureMismatch(f"{HEADER}: no signature matches this body with this secret")
    return timestamp
