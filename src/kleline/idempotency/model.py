"""The rules of an Idempotency-Key, free of storage and HTTP: which keys are valid, whose scope a key lives in, what
makes two requests "the same", and which answers are worth keeping.

    KlelineError
     ├── ValidationError ── InvalidIdempotencyKey     the header is empty, too long or not printable ASCII
     └── Conflict
          ├── IdempotencyKeyReused                    the key was first used for another request
          └── RequestInProgress                       the first request with this key has not answered yet
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Final

from kleline.errors import Conflict, ValidationError

__all__ = [
    "ANONYMOUS",
    "HEADER",
    "KEY_PATTERN",
    "MAX_KEY_LENGTH",
    "IdempotencyKeyReused",
    "InvalidIdempotencyKey",
    "RequestInProgress",
    "StoredResponse",
    "check_key",
    "is_kept",
    "principal",
    "request_fingerprint",
]

HEADER: Final = "Idempotency-Key"
MAX_KEY_LENGTH: Final = 255
# The same rule as ``check_key``, for the OpenAPI document: printable ASCII, space to tilde.
KEY_PATTERN: Final = "^[ -~]+$"
ANONYMOUS: Final = b"anonymous"

# Answers that say "you may not do this (yet)" rather than "this is what your request did": nothing ran, and the
# same request may well succeed once the caller fixes its key or waits. Keeping them would pin a failure to the key.
# 401 also means the principal was never established, so a stranger's wrong key must not be able to fill a scope.
_TRANSIENT: Final = frozenset({401, 403, 408, 429})


class InvalidIdempotencyKey(ValidationError):
    """The ``Idempotency-Key`` header is empty, longer than 255 characters, or not printable ASCII."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail, param=HEADER)


class IdempotencyKeyReused(Conflict):
    """The key was first sent with another method, path or body: a key names one request, never two."""

    code = "idempotency_key_reused"


class RequestInProgress(Conflict):
    """The first request with this key is still running: retry after ``retry_after`` seconds to get its answer."""

    code = "idempotency_request_in_progress"

    def __init__(self, detail: str, *, retry_after: int = 1) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """The first answer to a key, as it is replayed: status, the headers that matter, and the body."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


def check_key(value: str) -> str:
    """``value`` if it is a valid key: 1 to 255 printable ASCII characters (a UUID is the usual choice)."""
    if not value:
        raise InvalidIdempotencyKey(f"{HEADER} is empty: send 1 to {MAX_KEY_LENGTH} printable ASCII characters")
    if len(value) > MAX_KEY_LENGTH:
        raise InvalidIdempotencyKey(f"{HEADER} is {len(value)} characters long; at most {MAX_KEY_LENGTH} are allowed")
    if not all(" " <= character <= "~" for character in value):
        raise InvalidIdempotencyKey(f"{HEADER} must be printable ASCII characters only")
    return value


def principal(authorization: str | None) -> bytes:
    """Whose key space a request lives in: its bearer token, any other Authorization value, or anonymous.

    Two merchants may pick the same key string and never meet. The value is secret material (it is the bearer
    itself): the service only ever feeds it to a keyed hash, never stores it.
    """
    if authorization is None or not authorization.strip():
        return ANONYMOUS
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return b"bearer:" + token.strip().encode()
    return b"authorization:" + authorization.strip().encode()


def request_fingerprint(method: str, path: str, query: str, body: bytes) -> bytes:
    """SHA-256 over what makes a request the same request: method, path and query, and the body.

    A JSON body is compared by meaning, not by bytes: it is parsed and dumped again with sorted keys and no
    whitespace, so that a client that re-serialises its retry in another key order is not refused. Whether a body is
    JSON is decided by parsing it, not by its Content-Type, which clients send carelessly. Any other body (an XML
    statement, say) is compared byte for byte.
    """
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), query.encode()):
        digest.update(len(part).to_bytes(4, "big") + part)
    digest.update(_canonical_body(body))
    return digest.digest()


def is_kept(status: int) -> bool:
    """True when an answer with ``status`` is stored and replayed: every success and every 4xx except the transient
    ones (401, 403, 408, 429). A 5xx is not kept: the retry runs again (see ``kleline.idempotency.service``)."""
    return status < 500 and status not in _TRANSIENT


def _canonical_body(body: bytes) -> bytes:
    try:
        parsed = json.loads(body)
        return b"json:" + json.dumps(parsed, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    except (ValueError, RecursionError):  # not JSON (UnicodeError is a ValueError too): compare the bytes
        return b"raw:" + body
